"""The example app's lifetime: a Tk root, the window, and the Trio guest run behind it.

Owns: `ChatApp`, which creates the window, starts `serve_session` as a Trio guest on
the Tk loop, binds the session to the window when the client is open, turns the close
button into "cancel the run, show that it is closing", destroys the window once the
run has finished (sockets closed, tasks exited), and reports a Trio error instead of
swallowing it: `run` re-raises it after the loop ends. `ChatApp.open` returns at once,
so a test can drive the window by pumping Tk itself.

Must not know: what the widgets show (`_window`, `_view`) or what Send does (`_session`).
"""

from __future__ import annotations

import tkinter

from gatewayops.embed import GuestRun, start_tk_guest, tk_mainloop
from gatewayops.gui._session import AppOptions, ChatSession, Shutdown, serve_session
from gatewayops.gui._window import ChatWindow

__all__ = ["ChatApp"]


class ChatApp:
    """The chat composer example: one window, one Trio guest run.

    Use `open` to create it, then `run` (Tk's loop until the window closes), or pump
    Tk yourself (tests).

    Attributes:
        root: the Tk root.
        window: the widgets.
        guest: the Trio guest run (`finished` once the window may go).
        session: the session, once the client is open (None before, and after close).
        shutdown: what the client (and embedded gateway) still held when the session
            closed; None until then. All zero after a clean close.
    """

    def __init__(self, root: tkinter.Tk, options: AppOptions) -> None:
        self.root = root
        self.options = options
        self.window = ChatWindow(root)
        self.session: ChatSession | None = None
        self.shutdown: Shutdown | None = None
        self.guest: GuestRun[None] = start_tk_guest(
            root, serve_session, options, self._on_ready, self._on_shutdown
        )
        root.protocol("WM_DELETE_WINDOW", self.close)

    @classmethod
    def open(cls, options: AppOptions | None = None) -> ChatApp:
        """Create the window and start the guest run; returns without running Tk's loop.

        Raises:
            tkinter.TclError: no display to open the window on.
        """
        return cls(tkinter.Tk(className="gatewayops"), options or AppOptions())

    def close(self) -> None:
        """What the close button does: cancel the run; the window goes when it finished."""
        if not self.guest.finished:
            self.window.say("Closing: cancelling the client and the gateway…")
        self.guest.cancel()

    def run(self) -> None:
        """Run Tk's loop until the window closed and the Trio run finished.

        Raises:
            BaseException: whatever ended the Trio run with an error.
        """
        tk_mainloop(self.root, self.guest)

    def _on_ready(self, session: ChatSession) -> None:
        self.session = session
        self.window.bind(session)

    def _on_shutdown(self, shutdown: Shutdown) -> None:
        self.shutdown = shutdown
        self.session = None
        self.window.unbind("Closed: the client and the gateway have stopped.")
