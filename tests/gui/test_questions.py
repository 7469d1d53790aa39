"""The chat app's question panel on a real (virtual) screen: the agent asks, the panel
shows the request (radio buttons, check buttons, free text, the time left), and Answer
or Decline reach the embedded gateway's agent (issue 14)."""

from __future__ import annotations

import re
from pathlib import Path
from tkinter import ttk

from gatewayops.gui import ChatApp, png_size, screenshot
from gatewayops.protocol import CancelReason
from gatewayops.store import Intervention, InterventionStatus

from .conftest import OpenApp
from .helpers import pump_until


def _asked(app: ChatApp) -> str:
    """Press Send and wait until the question panel shows; the operation id."""
    app.window.send_button.invoke()
    pump_until(app.root, lambda: app.window.question.shown is not None, what="the question")
    assert app.session is not None
    operation_id = app.session.latest_operation("topic-1")
    assert operation_id is not None
    return operation_id


def _settled(app: ChatApp, operation_id: str) -> Intervention:
    """Wait until the run ended; its one settled intervention."""
    session = app.session
    assert session is not None
    pump_until(
        app.root,
        lambda: session.client.state.operations[operation_id].is_finished,
        what="the run to end",
    )
    (item,) = session.client.state.operations[operation_id].human.settled.values()
    return item


def test_a_question_form_shows_radio_and_check_buttons_free_text_and_time_left(
    open_app: OpenApp, artifacts: Path
) -> None:
    """A two-question form: one-choice options as radio buttons, the multi-select as
    check buttons, a free-text field each, Answer, Decline and "Time left: N s"; the
    composer still offers Stop beside it. Screenshot: artifacts/gui/tk-question.png."""
    app = open_app(ask="question", chunk_delay=0.01)
    _asked(app)
    panel = app.window.question
    kinds = [[type(button) for button in choice.buttons] for choice in panel.choices]
    assert kinds == [[ttk.Radiobutton] * 3, [ttk.Checkbutton] * 3]
    assert all(choice.text is not None for choice in panel.choices)
    assert re.fullmatch(r"Time left: \d+ s", str(panel.time_left.cget("text")))
    assert str(panel.answer_button.cget("state")) == "normal"
    pump_until(app.root, lambda: bool(panel.frame.winfo_ismapped()), what="the panel mapped")
    assert str(app.window.send_button.cget("text")) == "Stop"
    app.root.update_idletasks()
    shot = screenshot(app.root.winfo_id(), artifacts / "tk-question.png")
    assert png_size(shot) == (app.root.winfo_width(), app.root.winfo_height())


def test_answer_sends_the_choices_and_the_agent_quotes_them(open_app: OpenApp) -> None:
    """Choosing the second region and two checks, then Answer: the intervention is
    resolved with their ids, the agent's reply quotes them, the panel goes."""
    app = open_app(ask="question", chunk_delay=0.01)
    operation_id = _asked(app)
    region, checks = app.window.question.choices
    region.buttons[1].invoke()
    checks.buttons[0].invoke()
    checks.buttons[2].invoke()
    app.window.question.answer_button.invoke()
    item = _settled(app, operation_id)
    assert item.status is InterventionStatus.RESOLVED
    selected = [answer["selected"] for answer in item.result["answers"]]
    assert selected == [["us"], ["unit", "e2e"]]
    pump_until(
        app.root,
        lambda: '"selected": ["us"]' in app.window.transcript.get("1.0", "end"),
        what="the reply quoting the answer",
    )
    assert app.window.question.shown is None
    assert not app.window.question.frame.winfo_ismapped()


def test_answer_with_a_question_unanswered_says_which_and_sends_nothing(
    open_app: OpenApp,
) -> None:
    """Answer with nothing chosen names the question and leaves the request pending."""
    app = open_app(ask="question", chunk_delay=0.01)
    operation_id = _asked(app)
    app.window.question.answer_button.invoke()
    assert "Cannot answer yet: choose an option (or type an answer) for “Region”" in str(
        app.window.message.cget("text")
    )
    assert app.session is not None
    (item,) = app.session.client.state.operations[operation_id].human.open.values()
    assert item.status is InterventionStatus.PENDING


def test_decline_cancels_the_request_as_user_cancelled(open_app: OpenApp) -> None:
    """Decline: the agent hears user_cancelled and the run goes on to its end."""
    app = open_app(ask="plan", chunk_delay=0.01)
    operation_id = _asked(app)
    app.window.question.decline_button.invoke()
    item = _settled(app, operation_id)
    assert item.cancel_reason is CancelReason.USER_CANCELLED


def test_a_permission_has_radio_buttons_and_no_free_text(open_app: OpenApp) -> None:
    """A permission (answered by an option id only) offers no free-text field."""
    app = open_app(ask="permission", chunk_delay=0.01)
    _asked(app)
    (choice,) = app.window.question.choices
    assert [type(button) for button in choice.buttons] == [ttk.Radiobutton] * 2
    assert choice.text is None


def test_typed_text_answers_a_text_input(open_app: OpenApp) -> None:
    """Typing in the free-text field answers with that text."""
    app = open_app(ask="text_input", chunk_delay=0.01)
    operation_id = _asked(app)
    (choice,) = app.window.question.choices
    assert choice.text is not None
    choice.text.insert(0, "Release 42")
    app.window.question.answer_button.invoke()
    item = _settled(app, operation_id)
    assert item.result == {
        "answers": [{"question": "What should the release be called?", "text": "Release 42"}]
    }
