"""The recorder: a store middleware that writes every dispatch to a replay log.

Owns: `Recorder` (called by the `Store` as ``recorder(old_state, action, step)``: one
record for the action, then one per effect, in order) and `open_recorder`, which opens
the file. Durability: each dispatch is written with one ``write`` call and, by
default, flushed to the operating system at once (``flush_every=1``), so a process
killed with SIGKILL loses at most the dispatch being written, and that only as one
truncated last line, which the reader reports as a warning; ``fsync=True`` also asks
the disk to keep each flush (for a machine that may lose power). A larger
`flush_every` trades that for fewer system calls. The header is written, and flushed,
as soon as the store's settings are known: at once when `config` is given. Recording
is diagnostic: a failure to encode or write is logged once and stops the recording,
never the client. Must not know: Trio (the `Store` takes middleware directly, so
recording works without the runtime), or how replay works.
"""

from __future__ import annotations

import datetime
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from gatewayops._secrets import get_logger
from gatewayops.replay._format import Header, header_line, record_line
from gatewayops.store import Action, GatewayState, Step, StoreConfig, concerned

__all__ = ["Recorder", "open_recorder"]

logger = get_logger("gatewayops.replay")

_WRITE_FAILURES = (OSError, TypeError, ValueError, RecursionError)
"""What writing can raise: the disk, a value JSON cannot hold, a value nested too deeply."""


class Recorder:
    """Writes each dispatch (the action, then its effects) as lines of a replay log.

    Use it as store middleware: ``Store(middleware=[recorder])``, or
    ``open_client(..., recorder=recorder)``. Usually made by `open_recorder`.

    Attributes:
        records: records written so far.
        error: the exception that stopped the recording, if one did.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        operation_id: str | None = None,
        config: StoreConfig | None = None,
        flush_every: int = 1,
        fsync: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Record to `stream` (a text file open for writing).

        Args:
            stream: where the lines go; the recorder flushes it, the caller closes it.
            operation_id: record only this operation's actions and effects.
            config: the store's settings for the header, which is then written at once;
                by default they are taken from the first state the recorder sees.
            flush_every: flush the stream once this many records are unflushed; 1 (the
                default) flushes after every dispatch.
            fsync: after each flush, also `os.fsync` the stream's file (which must have
                a ``fileno``), so the records survive a power loss.
            clock: seconds, for the records' ``t`` (monotonic by default).
        """
        if flush_every < 1:
            raise ValueError(f"flush_every: expected a positive int, got {flush_every!r}")
        self._stream = stream
        self._operation_id = operation_id
        self._config = config
        self._flush_every = flush_every
        self._fsync = fsync
        self._clock = clock
        self._start = clock()
        self._started_at = datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
        self._header_written = False
        self._unflushed = 0
        self.records = 0
        self.error: Exception | None = None
        if config is not None:
            try:
                self._write_header(config)
            except _WRITE_FAILURES as error:
                self._stop(error, "the header")

    def _write_header(self, config: StoreConfig) -> None:
        header = Header(config=config, started_at=self._started_at, operation=self._operation_id)
        self._stream.write(header_line(header))
        self._header_written = True
        self._flush()

    def _flush(self) -> None:
        self._stream.flush()
        self._unflushed = 0
        if self._fsync:
            os.fsync(self._stream.fileno())

    def _stop(self, error: Exception, what: str) -> None:
        self.error = error
        logger.exception("recording stopped: %s could not be written", what)

    def __call__(self, old_state: GatewayState, action: Action, step: Step) -> None:
        """Record `action` and the effects of `step` (the `Middleware` signature)."""
        if self.error is not None:
            return
        if self._operation_id is not None and (
            concerned(step.state, action)[1] != self._operation_id
        ):
            return
        try:
            if not self._header_written:
                self._write_header(old_state.config)
            t = self._clock() - self._start
            seq = self.records
            lines = [record_line(seq + 1, t, action)]
            lines.extend(
                record_line(seq + index, t, effect)
                for index, effect in enumerate(step.effects, start=2)
            )
            self._stream.write("".join(lines) if len(lines) > 1 else lines[0])
            self.records = seq + len(lines)
            self._unflushed += len(lines)
            if self._unflushed >= self._flush_every:
                self._flush()
        except _WRITE_FAILURES as error:
            self._stop(error, type(action).__name__)

    def flush(self) -> None:
        """Write out buffered lines now (and the header, if nothing was recorded yet)."""
        if self.error is not None:
            return
        try:
            if not self._header_written:
                self._write_header(StoreConfig() if self._config is None else self._config)
            self._flush()
        except _WRITE_FAILURES as error:
            self._stop(error, "the log")


@contextmanager
def open_recorder(
    path: str | os.PathLike[str],
    *,
    operation_id: str | None = None,
    config: StoreConfig | None = None,
    flush_every: int = 1,
    fsync: bool = False,
) -> Iterator[Recorder]:
    """Record to a new log file at `path` for the duration of a ``with`` block.

    With `config`, the header is on disk before the block starts, so even a process
    killed before its first dispatch leaves a valid (empty) log. A log in which nothing
    was recorded still gets its header on leaving the block (with `config`, or the
    default `StoreConfig`, since no state was seen).

    Args:
        path: the log file to create (an existing file is replaced).
        operation_id: record only this operation (e.g. one log per operation).
        config: the store's settings for the header (default: from the first state seen).
        flush_every: flush after this many records (default 1: every dispatch reaches
            the file as it happens; always on leaving the block).
        fsync: also fsync after every flush (see `Recorder`).

    Yields:
        The `Recorder`, to pass as store middleware.

    Raises:
        OSError: the file cannot be created.
    """
    with open(path, "w", encoding="utf-8", newline="\n") as stream:
        recorder = Recorder(
            stream,
            operation_id=operation_id,
            config=config,
            flush_every=flush_every,
            fsync=fsync,
        )
        try:
            yield recorder
        finally:
            recorder.flush()
