"""The example GUI: a Tk chat composer over gatewayops, in Trio guest mode.

`gatewayops gui` opens it. The window lists topics, shows the selected topic's
transcript (streamed text and tool calls) and connection status, and has a composer
whose button reads "Send" while `is_input_loading` is false and "Stop" while it is
true. By default it starts the reference gateway on 127.0.0.1 in the same Trio run,
Send starts a scripted run, and fault buttons expire the token, make the gateway
forget the operation, or drop the network. See docs/embedding.md.

`virtual_display`, `screenshot` and `png_size` run it on a machine with no screen
(Xvfb), as the tests and the dispatch benchmark do.
"""

from gatewayops.gui._display import DisplayUnavailable, png_size, screenshot, virtual_display
from gatewayops.gui._session import (
    DEFAULT_TOPICS,
    AppOptions,
    ChatSession,
    Shutdown,
    answer_script,
    answer_text,
)
from gatewayops.gui._view import (
    ComposerView,
    Indicator,
    TranscriptLine,
    Turn,
    composer_view,
    indicator,
    stop_news,
    topic_label,
    transcript_lines,
)
from gatewayops.gui._window import ChatApp, ChatWindow

__all__ = [
    "DEFAULT_TOPICS",
    "AppOptions",
    "ChatApp",
    "ChatSession",
    "ChatWindow",
    "ComposerView",
    "DisplayUnavailable",
    "Indicator",
    "Shutdown",
    "TranscriptLine",
    "Turn",
    "answer_script",
    "answer_text",
    "composer_view",
    "indicator",
    "png_size",
    "screenshot",
    "stop_news",
    "topic_label",
    "transcript_lines",
    "virtual_display",
]
