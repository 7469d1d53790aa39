"""The one way a received text frame becomes an action.

Owns: `frame_received`: decode a server frame and wrap it as `MessageReceived`, or, when
not even its type can be read, as `BadMessageReceived` naming the problem. The socket
pump, the HAR importer and the tests all go through it, so a frame means the same thing
live, imported and replayed. Must not know: sockets, files, or what the reducer does.
"""

from __future__ import annotations

from gatewayops.exceptions import RemoteProtocolError
from gatewayops.protocol import DEFAULT_MAX_FRAME_CHARS, decode
from gatewayops.store._actions import BadMessageReceived, MessageReceived

__all__ = ["frame_received"]


def frame_received(
    link_id: str,
    generation: int,
    frame: str | bytes,
    *,
    max_frame_chars: int = DEFAULT_MAX_FRAME_CHARS,
) -> MessageReceived | BadMessageReceived:
    """The action for `frame`, received on socket `generation` of link `link_id`."""
    try:
        message = decode(frame, max_frame_chars=max_frame_chars)
    except RemoteProtocolError as error:
        return BadMessageReceived(link_id=link_id, generation=generation, error=str(error))
    return MessageReceived(link_id=link_id, generation=generation, message=message)
