"""Feedback on answers, and feedback turned into tests: a thumbs down with the correct answer, or a thumbs up,
becomes a gold item that `rag eval` reads, so that `rag eval FILE --compare OLD.json` fails when a change breaks
a case a user confirmed (rag/eval/compare.py)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from rag.state.answers import AnswerNotFound
from rag.types import Caller

if TYPE_CHECKING:
    from rag.components import Components

RATINGS = {"up": 1, "down": -1}
_MARKER = re.compile(r"\s*\[\d+\]")


def give(comps: Components, answer_id: str, caller: Caller, rating: str, comment: str = "",
         correction: str = "") -> dict[str, Any]:
    """Store `caller`'s thumbs up or down on an answer the caller asked (an administrator: any answer), with an
    optional comment and correct answer; a second one from the same user replaces the first. The answer
    it is about comes back with it: question, answer, citations, model and settings digest."""
    record = comps.answers.get(answer_id, caller.id, any_user=caller.is_admin and caller.id is not None)
    stored = comps.answers.give_feedback(answer_id, caller.id, RATINGS[rating], comment.strip(), correction.strip())
    return stored | {"rating": rating, "question": record["question"], "answer": record["answer"],
                     "citations": record["citations"], "model": record["model"],
                     "settings_digest": record["settings_digest"]}


def gold_items(comps: Components, collection: str | None = None) -> list[dict[str, Any]]:
    """The feedback as gold items (rag/eval/gold.py's JSON), one per answer, the latest feedback winning: a
    thumbs down with a correction is a case to fix (`confirmed: "correction"`, the correction its answer); a
    thumbs up a case to keep (`confirmed: "keep"`, the answer's short answer or text; a confirmed refusal is an
    unanswerable item). A thumbs down without a correction says nothing to test against and is left out. A
    follow-up is asked as its standalone query, since a gold item has no history. Only answers from
    `collection`, when given."""
    latest: dict[str, dict[str, Any]] = {}
    for row in comps.answers.feedback():
        if collection is None or row["collection"] == collection:
            latest[row["id"]] = row
    items = []
    for row in latest.values():
        question = row["query"] if row["history"] and row["query"] else row["question"]
        common: dict[str, Any] = {"id": f"feedback-{row['id']}", "question": question}
        if row["rating"] < 0 and row["correction"]:
            items.append(common | {"answers": [row["correction"]], "confirmed": "correction"})
        elif row["rating"] > 0 and row["refusal_reason"]:
            items.append(common | {"answers": [], "unanswerable": True, "confirmed": "keep"})
        elif row["rating"] > 0:
            short = row["public"].get("short_answer") or _MARKER.sub("", row["answer"]).strip()
            items.append(common | {"answers": [short], "confirmed": "keep"})
    return items


__all__ = ["AnswerNotFound", "give", "gold_items"]
