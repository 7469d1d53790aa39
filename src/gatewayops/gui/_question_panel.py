"""The question panel: the agent's request for the user, as widgets, above the composer.

Owns: `QuestionPanel`, a frame shown above the composer while a request waits (`update`
packs it, or hides it when the view is None, and counts the time left from when the
request was first shown), laid out from a `QuestionView` -- per question its header
and text, its options as radio buttons (one choice) or check buttons (multi-select),
a free-text field where the request allows typing -- then Answer, Decline and the time
left; `answer` reads what the user chose (free text, when typed, wins over the
options) as the agent's answer, with an error naming the question still unanswered.
The panel is rebuilt only when another request is shown, so a choice survives every
re-render.

Must not know: the store, the client, Trio (the window gives the view, redraws it,
and carries out Answer and Decline).
"""

from __future__ import annotations

import time
import tkinter
from collections.abc import Callable
from tkinter import ttk
from typing import Any

from gatewayops._question_text import Reply, answer_result, free_text_allowed
from gatewayops.gui._question_view import QuestionView, time_left_text

__all__ = ["QuestionPanel"]

_WRAP_PIXELS = 520


class _Choice:
    """The widgets of one question: its option variables and its free-text field."""

    def __init__(self, master: tkinter.Misc, multi: bool, count: int) -> None:
        self.multi = multi
        self.picked = tkinter.IntVar(master, value=-1)  # one choice: the option's index
        self.checked = [tkinter.IntVar(master, value=0) for _ in range(count)]  # multi-select
        self.buttons: list[ttk.Radiobutton | ttk.Checkbutton] = []
        self.text: ttk.Entry | None = None

    def reply(self) -> Reply | None:
        """What the user gave: typed text, else the chosen options; None if nothing."""
        typed = self.text.get().strip() if self.text is not None else ""
        if typed:
            return typed
        if self.multi:
            chosen = tuple(i for i, var in enumerate(self.checked) if var.get())
        else:
            chosen = (self.picked.get(),) if self.picked.get() >= 0 else ()
        return chosen or None


class QuestionPanel:
    """The panel, on `parent`; call `show` with each render's view.

    Attributes:
        frame: the panel (packed by the window while a request waits).
        heading: what the request is, or why it cannot be reviewed.
        answer_button: sends the answer (disabled while one is on its way, or refused).
        decline_button: declines the request.
        time_left: how long the agent still waits.
        choices: per question, its widgets (radio or check buttons, free text).
    """

    def __init__(
        self,
        parent: tkinter.Misc,
        composer: tkinter.Misc,
        on_answer: Callable[[], None],
        on_decline: Callable[[], None],
    ) -> None:
        self._composer = composer
        self._since = 0.0
        self.frame = ttk.LabelFrame(parent, text="The agent asks", padding=6)
        self.heading = ttk.Label(self.frame, wraplength=_WRAP_PIXELS, justify="left")
        self.heading.pack(side="top", anchor="w")
        self._body = ttk.Frame(self.frame)
        self._body.pack(side="top", fill="x")
        row = ttk.Frame(self.frame)
        row.pack(side="top", fill="x", pady=(6, 0))
        self.answer_button = ttk.Button(row, text="Answer", command=on_answer)
        self.answer_button.pack(side="left")
        self.decline_button = ttk.Button(row, text="Decline", command=on_decline)
        self.decline_button.pack(side="left", padx=(6, 0))
        self.time_left = ttk.Label(row, text="")
        self.time_left.pack(side="right")
        self.choices: list[_Choice] = []
        self.shown: QuestionView | None = None

    def update(self, view: QuestionView | None) -> bool:
        """Show `view` above the composer, or hide the panel when it is None; whether
        the panel just appeared."""
        if view is None:
            if self.shown is not None:
                self.frame.pack_forget()
                self.shown = None
            return False
        appeared = self.shown is None
        if appeared:
            self.frame.pack(side="bottom", fill="x", pady=(6, 0), after=self._composer)
        if self.shown is None or self.shown.tool_call_id != view.tool_call_id:
            self._since = time.monotonic()
        self.show(view, time.monotonic() - self._since)
        return appeared

    def show(self, view: QuestionView, elapsed: float) -> None:
        """Show `view` (rebuilding the questions if it is another request), `elapsed`
        seconds after it was first shown."""
        if self.shown is None or self.shown.tool_call_id != view.tool_call_id:
            self._build(view)
        self.shown = view
        heading = view.heading if view.problem is None else f"{view.heading} {view.problem}"
        self.heading.configure(text=heading)
        answerable = view.request is not None and not view.sending
        self.answer_button.configure(state="normal" if answerable else "disabled")
        self.decline_button.configure(state="disabled" if view.sending else "normal")
        self.time_left.configure(text=time_left_text(view.wait_ms, elapsed))

    def _build(self, view: QuestionView) -> None:
        for child in self._body.winfo_children():
            child.destroy()
        self.choices = []
        if view.request is None:
            return
        typing = free_text_allowed(view.request)
        for question in view.request.questions:
            header = f"{question.header}: " if question.header else ""
            ttk.Label(
                self._body, text=f"{header}{question.question}", wraplength=_WRAP_PIXELS
            ).pack(side="top", anchor="w", pady=(4, 0))
            choice = _Choice(self._body, question.multi_select, len(question.options))
            for index, option in enumerate(question.options):
                label = (
                    f"{option.label} — {option.description}" if option.description else option.label
                )
                if question.multi_select:
                    button: ttk.Radiobutton | ttk.Checkbutton = ttk.Checkbutton(
                        self._body, text=label, variable=choice.checked[index]
                    )
                else:
                    button = ttk.Radiobutton(
                        self._body, text=label, variable=choice.picked, value=index
                    )
                button.pack(side="top", anchor="w", padx=(12, 0))
                choice.buttons.append(button)
            if typing:
                line = ttk.Frame(self._body)
                line.pack(side="top", fill="x", padx=(12, 0))
                ttk.Label(line, text="or type:").pack(side="left")
                choice.text = ttk.Entry(line)
                choice.text.pack(side="left", fill="x", expand=True, padx=(6, 0))
            self.choices.append(choice)

    def answer(self) -> Any:
        """The answer the user's choices make (`answer_result`, one reply per question).

        Raises:
            ValueError: a question has no option chosen and no text typed (named), or
                the request failed review (it can only be declined).
        """
        request = None if self.shown is None else self.shown.request
        if request is None:
            raise ValueError("this request cannot be reviewed here: it can only be declined")
        replies: list[Reply] = []
        for question, choice in zip(request.questions, self.choices, strict=True):
            reply = choice.reply()
            if reply is None:
                name = question.header or question.question
                raise ValueError(f"choose an option (or type an answer) for “{name}”")
            replies.append(reply)
        return answer_result(request, replies)
