"""The one way a received text frame becomes an action.

Owns: `frame_received`: decode a server frame and wrap it as `MessageReceived`, or, when
not even its type can be read, as `BadMessageReceived` naming the problem. The socket
pump, the HAR importer and the tests all go through it, so a frame means the same thing
live, imported and replayed. Must not know: sockets, files, or what the reducer does.
"""

from __future__ import annotations

from gatewayops._frozen import builder
from gatewayops.exceptions import RemoteProtocolError
from gatewayops.protocol import DEFAULT_MAX_FRAME_CHARS, ServerMessage, decode
from gatewayops.protocol._v2_messages import MuxServerMessage
from gatewayops.store._actions import BadMessageReceived, MessageReceived
from gatewayops.store._config import Protocol

__all__ = ["frame_received"]

_received = builder(MessageReceived)
"""``MessageReceived(link_id, generation, message)``, built positionally: one per frame
(see gatewayops._frozen)."""


def frame_received(
    link_id: str,
    generation: int,
    frame: str | bytes,
    *,
    max_frame_chars: int = DEFAULT_MAX_FRAME_CHARS,
    protocol: Protocol = Protocol.V1,
) -> MessageReceived | BadMessageReceived:
    """The action for `frame`, received on socket `generation` of link `link_id` (a v2
    hub's frame with `protocol` v2)."""
    message: ServerMessage | MuxServerMessage
    try:
        if protocol is Protocol.V2:
            from gatewayops.protocol import decode_mux  # v2's codec loads on first use

            message = decode_mux(frame, max_frame_chars=max_frame_chars)
        else:
            message = decode(frame, max_frame_chars=max_frame_chars)
    except RemoteProtocolError as error:
        return BadMessageReceived(link_id=link_id, generation=generation, error=str(error))
    return _received(link_id, generation, message)
