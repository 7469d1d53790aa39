"""A ready-made run that sends its transcript as `message_patch` revisions (PROTOCOL.md
7.8, protocol v2 and the native runtime).

Owns: `patched_run`: the user's prompt put in the server's list (revision 1), one
streamed answer, the answer put after the prompt (revision 2), and an
`agent_runtime_end` in patch mode at that revision. With
`Gateway.faults.skip_patches(operation_id)` armed, a patch is counted but not sent, and
the client must fetch the list (`Gateway.fetch_messages`) to show the whole run. Must
not know: sockets, tokens, faults, or how the list is fetched.
"""

from __future__ import annotations

from gatewayops.gateway._patches import PatchMessage
from gatewayops.gateway._scripts import Emit, Finish, Script, ScriptStep, _next_id, _paced, _stream
from gatewayops.protocol import EventType

__all__ = ["patched_run"]


def patched_run(
    text: str = "This answer came with message patches.",
    *,
    prompt: str = "Show me message patches.",
    chunks: int = 3,
    delay: float = 0.0,
) -> Script:
    """A prompt and a streamed answer, each put in the server's list by a patch, then a
    patch-mode end at revision 2.

    Args:
        text: the answer; split into `chunks` text chunks.
        prompt: the user's message the answer replies to.
        chunks: how many text chunks.
        delay: seconds of Trio time after each event.
    """
    user_id, answer_id = _next_id("user"), _next_id("msg")
    user = {"id": user_id, "role": "user", "content": prompt}
    answer = {"id": answer_id, "role": "assistant", "content": text, "parentId": user_id}
    body: list[ScriptStep] = [
        Emit(type=EventType.AGENT_RUNTIME_INIT, data={}, step=0),
        PatchMessage(message=user, step=0),
    ]
    body += _stream(0, answer_id, text, chunks, None, False)
    body += [PatchMessage(message=answer, after_id=user_id, step=0), Finish(patch_mode=True)]
    return Script(name="patched_run", steps=tuple(_paced(body, delay)))
