"""Ask: answer a question in a collection, with a conversation's history, and save the turn in it.

One rule for conversations, whoever asks: a turn is saved only in the conversation named, and the answer is
made from that conversation's collection unless the caller names one; that conversation's stored turns are the
history unless the caller brings its own; an unknown conversation is refused before anything runs; and one
deleted while its answer was being written stays deleted (the turn is dropped). A turn that cannot be saved (a
full disk) costs the saving, not the answer: the `Final` event carries a warning instead. So does an answer that
cannot be recorded in the audit trail (rag/services/audit.py), where every answer is recorded with who asked.

What one request may cost is bounded here, for every front end: the history is cut to a token budget
(`answer.history_tokens`), a question that with it cannot fit the model's context is refused, and a question of
only invisible characters is refused as empty before any model work."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from rag.answer.chain import QuestionError
from rag.components import Components
from rag.retrieval.retrievers import Filters
from rag.services.audit import recording
from rag.state.errors import ConversationNotFound, StateError
from rag.text.tokens import count_tokens, last_tokens
from rag.types import SINGLE_USER, Caller, Event, Final

if TYPE_CHECKING:
    from rag.state.conversations import Conversations

Message = dict[str, str]

# Characters that show nothing: format characters (Unicode category Cf: zero-width space and joiners, bidi
# controls, the BOM, tags), variation selectors and the Hangul fillers. str.split() does not take them for
# white space, so a question of only these would pass as text and cost a full model run.
INVISIBLE_RANGES = ((0x00AD, 0x00AD), (0x034F, 0x034F), (0x0600, 0x0605), (0x061C, 0x061C), (0x06DD, 0x06DD),
                    (0x070F, 0x070F), (0x0890, 0x0891), (0x08E2, 0x08E2), (0x115F, 0x1160), (0x17B4, 0x17B5),
                    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
                    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD),
                    (0x110CD, 0x110CD), (0x13430, 0x1343F), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
                    (0xE0000, 0xE0FFF))
_INVISIBLE = re.compile("[" + "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in INVISIBLE_RANGES) + "]")


class ContextTooLong(QuestionError):
    """The question, with the history kept, the answer's tokens and the prompt's reserve, is over the model's
    context: answering would fail (or be cut) after holding the model."""


def visible(text: str) -> str:
    """`text` without its invisible characters and white space: empty when nothing in it shows."""
    return "".join(_INVISIBLE.sub("", text or "").split())


def fit_history(history: list[Message], budget: int) -> tuple[list[Message], int]:
    """The newest messages whose contents fit `budget` tokens, the oldest kept one cut to its end; and the
    tokens kept. A message is cut to a few characters per token first, so no request tokenizes megabytes."""
    kept: list[Message] = []
    used = 0
    for message in reversed(history):
        room = budget - used
        if room <= 0:
            break
        content = message.get("content", "")[-8 * room:]
        tokens = count_tokens(content)
        if tokens > room:
            content, tokens = last_tokens(content, room), room
        kept.append({**message, "content": content})
        used += tokens
    return kept[::-1], used


def ask(comps: Components, question: str, *, collection: str | None = None, conversation: str | None = None,
        history: list[Message] | None = None, top_k: int | None = None, filters: Filters | None = None,
        max_tokens: int | None = None, temperature: float | None = None,
        caller: Caller = SINGLE_USER) -> Iterator[Event]:
    """The answer's events (`AnswerChain.stream`), the answer recorded in the audit trail as `caller`'s and the
    turn saved as the `Final` one passes. What makes the request unusable raises now, before the first event, so
    that a server can still answer 4xx: an unknown collection (`CollectionError`), then an unknown conversation
    (`ConversationNotFound`, also when the caller brings a history), then the question (`QuestionError`: empty,
    also of only invisible characters; too long; `ContextTooLong`). Nothing else runs until the first event is
    read. `caller` must be able to read the collection (else the same 404 as an unknown one) and own the
    conversation."""
    from rag.services.access import require_collection

    named = require_collection(comps, caller, collection) if collection or not conversation else None
    held = comps.conversations.get(conversation, owner=caller.id) if conversation else {}
    if held:
        history = history or [{"role": m["role"], "content": m["content"]} for m in held["messages"]]
    # a follow-up answers where its conversation is (while the caller may still read it)
    parts = named or require_collection(comps, caller, held["collection"])
    settings = parts.settings
    if len(question or "") <= settings.answer.max_question_chars and not visible(question):
        raise QuestionError("the question is empty")
    history, used = fit_history(history or [], settings.answer.history_tokens)
    need = (count_tokens(question or "") + used + settings.answer.reserved_tokens
            + (max_tokens or settings.llm.max_tokens))
    if len(question or "") <= settings.answer.max_question_chars and need > settings.llm.n_ctx:
        raise ContextTooLong(f"the question and its history need about {need} tokens with the answer and the "
                             f"prompt; the model's context holds {settings.llm.n_ctx}")
    events = parts.chain.stream(question, history=history, top_k=top_k, filters=filters, max_tokens=max_tokens,
                                temperature=temperature)
    if comps.warmup.warming:  # the models are being loaded for every question: wait for that, do not redo it
        events = _after(comps.warmup.wait, events)
    events = recording(events, comps, caller, parts.name, settings, history,
                       {"top_k": top_k, "max_tokens": max_tokens, "temperature": temperature})
    return _saving(events, comps.conversations, conversation, caller.id) if conversation else events


def _after(wait: Callable[[], object], events: Iterator[Event]) -> Iterator[Event]:
    """`events`, read once `wait` returns: nothing of the answer runs before its first event is read."""
    wait()
    yield from events


def _saving(events: Iterator[Event], store: Conversations, conversation: str, owner: str | None,
            ) -> Iterator[Event]:
    """`events`, the final answer's turn added to `conversation` before the `Final` event goes on; a turn that
    cannot be written leaves a warning on the `Final` event, and the answer goes on."""
    for event in events:
        if isinstance(event, Final):
            try:
                store.add_turn(conversation, event.answer.question, event.answer, owner=owner,
                               answer_id=event.answer.id)
            except ConversationNotFound:  # deleted while this answer was being written
                pass
            except (StateError, OSError) as exc:
                event = event.model_copy(update={"warnings": [
                    *event.warnings, f"this turn was not saved in conversation {conversation}: {exc}"]})
        yield event
