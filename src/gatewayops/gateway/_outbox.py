"""A gateway socket's outbox: the frames it has decided to send but not yet written.

Owns: `Outbox`, a first-in first-out queue of text frames bounded both in how many frames
and in how many characters it holds, which ends with one `CloseFrame`; and `CloseFrame`.
Producers never block: `put` queues a frame or reports that the bound (which the caller
may scale, a v2 socket by its subscriptions) would be passed, and the one consumer (the
socket's writer task) waits in `get`. Closing may discard the queued frames at once,
which is how a client that stopped reading gives its memory back before its connection
is gone.

Must not know: WebSockets, the protocol, or what a frame says.
"""

from __future__ import annotations

from collections import deque

import attrs
import trio

__all__ = ["CloseFrame", "Outbox"]


@attrs.frozen(kw_only=True)
class CloseFrame:
    """The WebSocket close the outbox ends with.

    Attributes:
        code: the close code (1008 for every close the gateway starts).
        reason: a short reason, shown to the client.
    """

    code: int
    reason: str


class Outbox:
    """Frames waiting for the writer, at most `max_frames` of them and `max_chars` in all.

    Args:
        max_frames: the most frames it holds.
        max_chars: the most characters (summed over its frames) it holds.
    """

    def __init__(self, *, max_frames: int, max_chars: int) -> None:
        self._max_frames = max_frames
        self._max_chars = max_chars
        self._frames: deque[str] = deque()
        self._chars = 0
        self._close: CloseFrame | None = None
        self._waiting_writer = trio.lowlevel.ParkingLot()

    @property
    def frames(self) -> int:
        """How many frames are queued."""
        return len(self._frames)

    @property
    def chars(self) -> int:
        """How many characters the queued frames hold."""
        return self._chars

    @property
    def closing(self) -> bool:
        """Whether `close` was called."""
        return self._close is not None

    def put(self, frame: str, *, scale: int = 1) -> bool:
        """Queue `frame` for the writer, unless that would pass a bound.

        Args:
            frame: the text frame.
            scale: how many times the bounds it may fill (a v2 socket's outbox holds the
                bounds once per subscription it carries).

        Returns:
            Whether it was queued (``False``: the outbox is full and `frame` was dropped).

        Raises:
            trio.ClosedResourceError: `close` was called already.
        """
        if self._close is not None:
            raise trio.ClosedResourceError("the outbox is closing")
        full_frames, full_chars = self._max_frames * scale, self._max_chars * scale
        if len(self._frames) >= full_frames or self._chars + len(frame) > full_chars:
            return False
        self._frames.append(frame)
        self._chars += len(frame)
        self._waiting_writer.unpark_all()
        return True

    def close(self, code: int, reason: str, *, discard: bool = False) -> None:
        """End the outbox with a close; later calls are ignored.

        Args:
            code: the WebSocket close code.
            reason: the close reason.
            discard: drop the queued frames now, so the close comes next (otherwise it
                comes after them).
        """
        if self._close is not None:
            return
        self._close = CloseFrame(code=code, reason=reason)
        if discard:
            self._frames.clear()
            self._chars = 0
        self._waiting_writer.unpark_all()

    async def get(self) -> str | CloseFrame:
        """The next frame to write, or the close once every kept frame was taken."""
        if self._frames or self._close is not None:
            await trio.lowlevel.checkpoint()
        while not self._frames and self._close is None:
            await self._waiting_writer.park()
        if self._frames:
            frame = self._frames.popleft()
            self._chars -= len(frame)
            return frame
        assert self._close is not None
        return self._close

    def __repr__(self) -> str:
        return f"Outbox(frames={len(self._frames)}, chars={self._chars}, closing={self.closing})"
