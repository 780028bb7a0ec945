"""The audit trail: every answer recorded as it is made (who asked, when, the question and the query, the
passages retrieved and read, the model and the settings, the answer, its citations and any refusal reason),
shown, replayed from its recorded passages, and erased with its user.

A record that cannot be written costs the record, not the answer: the `Final` event then carries a warning and
the failure is logged."""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from rag.state.errors import StateError
from rag.types import Answer, Caller, Event, Final, Passage, final_answer

if TYPE_CHECKING:
    from rag.components import Components
    from rag.config import Settings
    from rag.retrieval.retrievers import Filters

log = logging.getLogger("rag.audit")
SECRETS = {"llm": {"openai_api_key"}}  # never recorded: a record is shown to whoever may read it


def answer_settings(settings: Settings) -> dict[str, Any]:
    """What decides an answer, as JSON: the retrieval, answer and llm sections, without secrets."""
    return {section: getattr(settings, section).model_dump(mode="json", exclude=SECRETS.get(section, set()))
            for section in ("retrieval", "answer", "llm")}


def digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def collection_version(context: list[Passage]) -> str:
    """The version of the collection the answer read: a digest of the sorted ids of the chunks in its context."""
    return hashlib.sha256("\n".join(sorted({p.chunk.id for p in context})).encode()).hexdigest()


def record_of(answer: Answer, caller: Caller, collection: str, settings: Settings, history: list[dict[str, str]],
              request: dict[str, Any]) -> dict[str, Any]:
    """The `answers` row of one answer (JSON columns as Python values). `request` holds what the request
    changed for this answer alone (top_k, max_tokens, temperature), kept with the settings for a replay."""
    used = answer_settings(settings) | {"request": request}
    return {"id": answer.id, "user_id": caller.id, "user_name": caller.name, "created": time.time(),
            "collection": collection, "question": answer.question, "query": answer.query, "history": history,
            "collection_version": collection_version(answer.context),
            "retrieved": [p.model_dump(mode="json") for p in answer.retrieved],
            "context": [p.model_dump(mode="json") for p in answer.context],
            "model": answer.model, "settings_digest": digest(answer_settings(settings)), "settings": used,
            "answer": answer.answer, "citations": [c.model_dump(mode="json") for c in answer.citations],
            "refusal_reason": answer.refusal_reason, "public": answer.public()}


def _open_quietly(comps: Components) -> None:
    # a failure here is met again by the record, which reports it with the answer
    with contextlib.suppress(Exception):
        comps.database.migrate()


def recording(events: Iterator[Event], comps: Components, caller: Caller, collection: str, settings: Settings,
              history: list[dict[str, str]], request: dict[str, Any]) -> Iterator[Event]:
    """`events`, the final answer recorded before the `Final` event goes on; a record that cannot be written
    leaves a warning on the `Final` event (and an error in the log), and the answer goes on.

    The database is opened (imported, connected, migrated: about 0.3 s in a new process) on a thread started
    with the first event, while the model reads the passages in llama.cpp without the GIL: a cold `rag ask`
    then does not wait for it (issue #34's budget). A failure there is met again, and reported, below."""
    opening: threading.Thread | None = None
    for event in events:
        if opening is None:
            opening = threading.Thread(target=_open_quietly, args=(comps,), name="rag-audit-open", daemon=True)
            opening.start()
        if isinstance(event, Final):
            opening.join()
            try:
                comps.answers.record(record_of(event.answer, caller, collection, settings, history, request),
                                     comps.settings.state.audit_retention_days)
            except (StateError, OSError) as exc:
                log.error("answer %s was not recorded in the audit trail: %s", event.answer.id, exc)
                event = event.model_copy(update={"warnings": [
                    *event.warnings, f"this answer was not recorded in the audit trail: {exc}"]})
        yield event


def erase_user_records(comps: Components, user_id: str | None) -> int:
    """A user's deletion request: every answer record of the user, with its feedback, and every feedback the user
    gave, deleted; how many answer records went. The accounts' user deletion calls it."""
    return comps.answers.erase_user(user_id)


# ---- replay


class FixedPassages:
    """A retriever that finds the recorded passages, whatever it is asked: a replay reads what the answer read."""

    def __init__(self, passages: list[Passage]) -> None:
        self.passages = passages

    def retrieve(self, query: str, top_k: int, filters: Filters | None = None) -> list[Passage]:
        return list(self.passages)


def replay(comps: Components, record: dict[str, Any]) -> Answer:
    """The recorded answer made again from its recorded passages (retrieved ones; the context is assembled from
    them as before), settings and history, at temperature 0, with the models loaded now."""
    from rag.answer.chain import AnswerChain

    settings = record["settings"]
    overrides = {f"{section}.{key}": value for section in ("retrieval", "answer", "llm")
                 for key, value in settings[section].items()
                 if key not in SECRETS.get(section, set()) and hasattr(getattr(comps.settings, section), key)}
    overrides["llm.temperature"] = 0.0
    parts = comps.with_settings(overrides)
    base = parts.chain
    fixed = AnswerChain(parts.settings, FixedPassages([Passage.model_validate(p) for p in record["retrieved"]]),
                        base.llm, base.prompts, base.scorer, base.coverage, base.paragraph)
    request = settings.get("request", {})
    return final_answer(fixed.stream(record["question"], history=record["history"], top_k=request.get("top_k"),
                                     max_tokens=request.get("max_tokens"), temperature=0.0))


def comparable(answer: str, citations: list[dict[str, Any]], refusal_reason: str | None) -> list[str]:
    """The lines a replay is compared on: the answer's text, its refusal reason and its citations."""
    lines = [*answer.splitlines(), f"refusal_reason: {refusal_reason}"]
    lines += [f"[{c['marker']}] {c['doc_id']} @{c['start']}-{c['end']}: {c['quote']}" for c in citations]
    return lines


def replay_diff(record: dict[str, Any], again: Answer) -> list[str]:
    """A unified diff of the recorded answer and its replay; empty when they are the same."""
    old = comparable(record["answer"], record["citations"], record["refusal_reason"])
    new = comparable(again.answer, [c.model_dump() for c in again.citations], again.refusal_reason)
    return list(difflib.unified_diff(old, new, f"recorded {record['id']}", "replayed", lineterm=""))


def show(record: dict[str, Any]) -> str:
    """The record as text, for `rag audit show`."""
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(record["created"]))
    lines = [f"answer {record['id']}", f"asked by: {record['user_name']} (id {record['user_id']})", f"when: {when}",
             f"collection: {record['collection']} (version {record['collection_version'][:16]})",
             f"question: {record['question']}", f"query: {record['query']}",
             f"history: {len(record['history'])} messages",
             f"model: {record['model']}", f"settings digest: {record['settings_digest']}",
             f"retrieved: {', '.join(p['chunk']['id'] for p in record['retrieved']) or '-'}",
             f"context: {', '.join(p['chunk']['id'] for p in record['context']) or '-'}",
             f"refusal reason: {record['refusal_reason'] or '-'}", "answer:", f"  {record['answer']}"]
    lines += [f"  [{c['marker']}] {c['source']} @{c['start']}-{c['end']}: \"{c['quote']}\""
              for c in record["citations"]]
    return "\n".join(lines)
