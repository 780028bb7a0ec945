"""Thumbs up or down under each answer of the chat page, with an optional comment and the correct answer. A
thumb is stored at once; the comment and correction, sent after, replace it with the fuller feedback. Outside
the page's layout, so that it runs in tests."""

from __future__ import annotations

from typing import Any

import gradio as gr

from rag.components import Components
from rag.services import feedback
from rag.state.answers import AnswerNotFound
from rag.state.errors import StateError
from rag.types import SINGLE_USER, Caller
from rag.web.ui.render import answer_id

Shown = tuple[Any, str, str, str]  # the feedback row, the answer id, the rating, the status line


def rate(comps: Components, content: Any, liked: bool | str, caller: Caller = SINGLE_USER) -> Shown:
    """A thumb on the answer whose rendered `content` was rated: stored, and the row for a comment and a
    correction opened under the chat."""
    aid = answer_id(content)
    if aid is None or not isinstance(liked, bool):
        return gr.update(visible=False), "", "", ""
    rating = "up" if liked else "down"
    try:
        feedback.give(comps, aid, caller, rating)
    except AnswerNotFound:
        return gr.update(visible=False), "", "", "This answer has no record to rate (asked before feedback existed)."
    except StateError as exc:
        return gr.update(visible=False), "", "", f"⚠️ The feedback was not saved: {exc}"
    ask = "What was wrong, and what is the correct answer?" if rating == "down" else "Anything to add?"
    return gr.update(visible=True), aid, rating, f"Thanks: {'👍' if liked else '👎'} saved. {ask}"


def send(comps: Components, aid: str, rating: str, comment: str, correction: str,
         caller: Caller = SINGLE_USER) -> tuple[Any, str, str, str]:
    """The comment and correction added to the thumb: (row, comment box, correction box, status)."""
    if not aid or rating not in feedback.RATINGS:
        return gr.update(visible=False), "", "", ""
    try:
        feedback.give(comps, aid, caller, rating, comment, correction)
    except (AnswerNotFound, StateError) as exc:
        return gr.update(visible=True), comment, correction, f"⚠️ The feedback was not saved: {exc}"
    kept = " with your correction: it becomes a test case" if correction.strip() else ""
    return gr.update(visible=False), "", "", f"Feedback saved{kept}. Thank you."
