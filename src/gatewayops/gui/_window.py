"""The Tk chat window (topic list, transcript, connection indicator, composer) and its lifetime.

Owns: `ChatWindow`, the widgets and their callbacks, and `ChatApp`, which ties the
window to a Trio guest run of `serve_session` on the Tk loop (`gatewayops.embed`).

Callbacks run on the Tk thread, which in Trio guest mode is Trio's thread, so they call
the session's synchronous actions directly (`send`, `stop`, the faults) -- never
through `trio.from_thread`, which would deadlock. A store listener (also on this
thread) marks the view dirty; one ``after_idle`` render per burst of actions then
applies the view model from `_view`; the transcript pane is edited, not redrawn: what
a chunk streamed is inserted at the end of its line. While the run waits for the user,
the question panel (`_question_panel`) stands above the composer, its time left
counted down once a second.

Lifetime: the close button cancels the run and says so; the window is destroyed once the
run has finished (client closed, sockets closed, tasks exited); a Trio error is not
swallowed: `ChatApp.run` re-raises it after the loop ends. `ChatApp.open` returns at
once, so a test can drive the window by pumping Tk itself.

Must not know: how the session reaches the gateway (`_session`), or Trio itself.
"""

from __future__ import annotations

import tkinter
from collections.abc import Callable
from tkinter import ttk

from gatewayops.embed import GuestRun, start_tk_guest, tk_mainloop
from gatewayops.exceptions import LocalUsageError
from gatewayops.gui._question_panel import QuestionPanel
from gatewayops.gui._question_view import question_view
from gatewayops.gui._session import AppOptions, ChatSession, Shutdown, serve_session
from gatewayops.gui._view import (
    TranscriptLine,
    composer_view,
    indicator,
    stop_news,
    topic_label,
    trailing_run,
    transcript_edit,
    transcript_lines,
    with_pane_breaks,
)
from gatewayops.store import Action, GatewayState

__all__ = ["ChatApp", "ChatWindow"]

_TAGS = {
    "user": {"foreground": "#1a237e", "font": ("TkDefaultFont", 10, "bold")},
    "assistant": {"foreground": "#212121"},
    "reasoning": {"foreground": "#757575", "font": ("TkDefaultFont", 9, "italic")},
    "tool": {"foreground": "#6a1b9a"},
    "error": {"foreground": "#c62828"},
    "outcome": {"foreground": "#455a64", "font": ("TkDefaultFont", 9)},
    "note": {"foreground": "#455a64", "font": ("TkDefaultFont", 9, "italic")},
}
_INITIAL_SIZE = "780x520"
_TRANSCRIPT_MIN_LINES = 3
"""The transcript's height when the window is at its minimum size."""
_ENTRY_MIN_CHARS = 16
_TICK_MS = 1000
"""How often the question panel's time left is redrawn."""


class ChatWindow:
    """The widgets of the example app, on `root`; inert until `bind` gives a session.

    Attributes:
        topic_list: the topics (a running one is marked).
        transcript: the selected topic's turns and what their runs streamed.
        indicator: the connection status of the selected topic's latest operation.
        entry: the message to send (disabled with ``--url``: nothing is sent there).
        send_button: "Send" while the topic's input is not loading, else "Stop";
            disabled while a stop waits for the gateway to confirm it (enabled again if
            the stop failed), and with ``--url`` while there is nothing to follow.
        expire_button: expire the running operation's token (embedded gateway).
        forget_button: make the gateway forget the running operation.
        drop_button: drop the running operation's sockets.
        question: the question panel, shown above the composer while the run waits for
            the user.
        message: one line of feedback (errors, how a stop went, what a fault did).
    """

    def __init__(self, root: tkinter.Tk, *, title: str = "gatewayops — chat composer") -> None:
        self.root = root
        self._session: ChatSession | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._render_pending = False
        self._shown_lines: tuple[TranscriptLine, ...] = ()
        root.title(title)
        ttk.Style(root).theme_use("clam")

        side = ttk.Frame(root, padding=6)
        side.pack(side="left", fill="y")
        ttk.Label(side, text="Topics").pack(anchor="w")
        self.topic_list = tkinter.Listbox(side, width=16, exportselection=False, activestyle="none")
        self.topic_list.pack(fill="y", expand=True)
        self.topic_list.bind("<<ListboxSelect>>", lambda _event: self.render())

        main = ttk.Frame(root, padding=6)
        main.pack(side="left", fill="both", expand=True)
        self.indicator = tkinter.Label(main, text="● Starting…", anchor="w", foreground="#757575")
        self.indicator.pack(side="top", fill="x")
        # Packed from the bottom up before the transcript, which takes what is left: a
        # smaller window squeezes the transcript, never the composer under it.
        self.message = ttk.Label(main, text="Starting the gateway and the client…", anchor="w")
        self.message.pack(side="bottom", fill="x", pady=(6, 0))
        faults = ttk.Frame(main)
        faults.pack(side="bottom", fill="x", pady=(6, 0))
        ttk.Label(faults, text="Faults:").pack(side="left")
        self.expire_button = self._fault_button(faults, "Expire token", self.on_expire_token)
        self.forget_button = self._fault_button(faults, "Forget operation", self.on_forget)
        self.drop_button = self._fault_button(faults, "Drop network", self.on_drop_network)
        composer = ttk.Frame(main)
        composer.pack(side="bottom", fill="x")
        self.entry = ttk.Entry(composer, width=_ENTRY_MIN_CHARS)
        self.entry.pack(side="left", fill="x", expand=True)
        self.entry.bind("<Return>", lambda _event: self.on_send_or_stop())
        self.send_button = ttk.Button(
            composer, text="Send", width=8, command=self.on_send_or_stop, state="disabled"
        )
        self.send_button.pack(side="left", padx=(6, 0))
        self.question = QuestionPanel(main, composer, self.on_answer, self.on_decline)

        pane = ttk.Frame(main)
        pane.pack(side="top", fill="both", expand=True, pady=4)
        self.transcript = tkinter.Text(
            pane, wrap="word", state="disabled", height=_TRANSCRIPT_MIN_LINES, width=1
        )
        scroll = ttk.Scrollbar(pane, command=self.transcript.yview)
        self.transcript.configure(yscrollcommand=scroll.set)
        scroll.pack(side="right", fill="y")
        self.transcript.pack(side="left", fill="both", expand=True)
        for tag, options in _TAGS.items():
            self.transcript.tag_configure(tag, **options)  # type: ignore[arg-type]

        # The smallest window is what the widgets ask for with the transcript at its
        # fewest lines: every control stays whole and visible however far it shrinks.
        root.update_idletasks()
        root.minsize(root.winfo_reqwidth(), root.winfo_reqheight())
        root.geometry(_INITIAL_SIZE)

    def _fault_button(
        self, parent: ttk.Frame, text: str, command: Callable[[], None]
    ) -> ttk.Button:
        button = ttk.Button(parent, text=text, command=command, state="disabled")
        button.pack(side="left", padx=(6, 0))
        return button

    # ------------------------------------------------------------------ session

    def bind(self, session: ChatSession) -> None:
        """Show `session`: fill the topic list, follow its store, enable the composer."""
        self._session = session
        for index, topic in enumerate(session.topics):
            self.topic_list.insert(index, topic_label(session.client.state, topic))
        self.topic_list.selection_set(0)
        self._unsubscribe = session.client.subscribe(self._on_dispatch)
        if session.embedded:
            self.say("Ready: type a message and press Send to start a run.")
        else:  # nothing typed is sent anywhere: Send follows the given operation
            self.entry.configure(state="disabled")
            self.say(f"Ready: press Send to follow {session.options.operation}.")
        self.render()

    def unbind(self, reason: str) -> None:
        """Stop following the store (the client is closing) and disable the controls."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._session = None
        for button in (self.send_button, self.expire_button, self.forget_button, self.drop_button):
            button.configure(state="disabled")
        self.say(reason)

    @property
    def selected_topic(self) -> str | None:
        """The topic selected in the list (None before `bind`)."""
        if self._session is None:
            return None
        topics = self._session.topics
        chosen = (i for i in range(len(topics)) if self.topic_list.selection_includes(i))
        return topics[next(chosen, 0)]

    def say(self, text: str) -> None:
        """Show one line of feedback under the composer."""
        self.message.configure(text=text)

    # ------------------------------------------------------------------ callbacks

    def on_send_or_stop(self) -> None:
        """The composer button: Send starts a run, Stop stops the running one."""
        session, topic = self._session, self.selected_topic
        if session is None or topic is None:
            return
        composer = composer_view(session.client.state, topic)
        if composer.stopping:  # the button is disabled; Return does nothing either
            return
        try:
            if composer.loading:
                session.stop(topic)
                if session.embedded:
                    self.say(f"Stopping the run on {topic}: waiting for the gateway…")
                else:
                    self.say(f"Stopped following the run on {topic}.")
            elif session.embedded:
                operation_id = session.send(topic, self.entry.get().strip() or "Hello!")
                self.entry.delete(0, "end")
                self.say(f"Sent on {topic}: following {operation_id}.")
            elif session.can_send():
                self.say(f"Following {session.follow(topic)} on {topic}.")
        except LocalUsageError as error:
            self.say(f"Refused: {error}")
        self.render()

    def on_answer(self) -> None:
        """The question panel's Answer: send what the user chose or typed."""
        view = self.question.shown
        if view is not None:
            answer = self.question.answer
            self._reply(lambda s, t: s.answer(t, view.tool_call_id, answer()), "Answer sent.")

    def on_decline(self) -> None:
        """The question panel's Decline: the agent hears user_cancelled."""
        view = self.question.shown
        if view is not None:
            self._reply(lambda s, t: s.decline(t, view.tool_call_id), "Declined.")

    def _reply(self, act: Callable[[ChatSession, str], None], done: str) -> None:
        session, topic = self._session, self.selected_topic
        if session is None or topic is None:
            return
        try:
            act(session, topic)
            self.say(done)
        except LocalUsageError as error:
            self.say(f"Refused: {error}")
        except ValueError as error:  # nothing chosen for a question, or a refused request
            self.say(f"Cannot answer yet: {error}")
        self.render()

    def on_expire_token(self) -> None:
        """Fault: the gateway expires the running operation's tokens."""
        self._fault(lambda s, t: f"Expired the token (sockets told: {s.expire_token(t)}).")

    def on_forget(self) -> None:
        """Fault: the gateway forgets the running operation (its sockets go quiet)."""
        self._fault(lambda s, t: "Forgot the operation." if s.forget(t) else "Nothing to forget.")

    def on_drop_network(self) -> None:
        """Fault: the gateway drops the running operation's sockets (no close frame)."""
        self._fault(lambda s, t: f"Dropped the network (sockets dropped: {s.drop_network(t)}).")

    def _fault(self, act: Callable[[ChatSession, str], str]) -> None:
        session, topic = self._session, self.selected_topic
        if session is not None and topic is not None:
            self.say(act(session, topic))

    # ------------------------------------------------------------------ rendering

    def _on_dispatch(self, old: GatewayState, new: GatewayState, action: Action) -> None:
        news = stop_news(old, new, action)
        if news is not None:
            self.say(news)
        if not self._render_pending:
            self._render_pending = True
            self.root.after_idle(self.render)

    def render(self) -> None:
        """Apply the view of the selected topic to the widgets."""
        self._render_pending = False
        session, topic = self._session, self.selected_topic
        if session is None or topic is None:
            return
        state = session.client.state
        composer = composer_view(state, topic)
        usable = not composer.stopping and (composer.loading or session.can_send())
        self.send_button.configure(
            text=composer.button_text, state="normal" if usable else "disabled"
        )
        fault_state = "normal" if composer.loading and session.embedded else "disabled"
        for button in (self.expire_button, self.forget_button, self.drop_button):
            button.configure(state=fault_state)
        shown = indicator(state, session.latest_operation(topic))
        self.indicator.configure(text=f"● {shown.text}", foreground=shown.colour)
        for index, name in enumerate(session.topics):
            label = topic_label(state, name)
            if self.topic_list.get(index) != label:
                self.topic_list.delete(index)
                self.topic_list.insert(index, label)
                if name == topic:
                    self.topic_list.selection_set(index)
        self.show_transcript(transcript_lines(state, session.turns(topic)))
        if self.question.update(question_view(state, topic)):
            self.root.after(_TICK_MS, self._tick)

    def _tick(self) -> None:
        """Redraw the time left once a second while a question is shown."""
        if self._session is not None and self.question.shown is not None:
            self.render()
            self.root.after(_TICK_MS, self._tick)

    def show_transcript(self, lines: tuple[TranscriptLine, ...]) -> None:
        """Show `lines` in the transcript pane, changing only what differs from what it
        shows (`transcript_edit`): a streamed chunk is inserted at the end of its line,
        so its cost does not grow with the text before it, and a long line is held
        broken (`with_pane_breaks`), as Tk lays out a changed line whole. Each line
        starts at a mark of its own (`_line_mark`), which says where to insert."""
        shown = self._shown_lines
        edit = transcript_edit(shown, lines)
        if edit.grown is None and edit.rewrite_from == len(shown) == len(lines):
            return
        text = self.transcript
        text.configure(state="normal")
        if edit.grown is not None:
            after = edit.grown + 1
            end = f"{_line_mark(after)} - 1c" if after < len(shown) else "end - 2c"
            run = trailing_run(shown[edit.grown].text)
            text.insert(end, with_pane_breaks(edit.suffix, run), lines[edit.grown].tag)
        if edit.rewrite_from < len(shown):
            text.delete(_line_mark(edit.rewrite_from), "end - 1c")
        for index in range(edit.rewrite_from, len(lines)):
            mark = _line_mark(index)
            text.mark_set(mark, "end - 1c")
            text.mark_gravity(mark, "left")  # stays before the line written at it
            text.insert("end - 1c", with_pane_breaks(lines[index].text) + "\n", lines[index].tag)
        for index in range(len(lines), len(shown)):
            text.mark_unset(_line_mark(index))
        text.configure(state="disabled")
        text.see("end")
        self._shown_lines = lines


def _line_mark(index: int) -> str:
    """The Text-widget mark at the start of transcript line `index`."""
    return f"transcript_line_{index}"  # no "-" or "+": Tk would read an offset


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
