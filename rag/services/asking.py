"""Ask: answer a question in a collection, with a conversation's history, and save the turn in it.

One rule for conversations, whoever asks: a turn is saved only in the conversation named; that conversation's
stored turns are the history unless the caller brings its own; an unknown conversation is refused before
anything runs; and one deleted while its answer was being written stays deleted (the turn is dropped)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rag.components import Components
from rag.retrieval.retrievers import Filters
from rag.state.conversations import ConversationNotFound, Conversations
from rag.types import Event, Final

Message = dict[str, str]


def ask(comps: Components, question: str, *, collection: str | None = None, conversation: str | None = None,
        history: list[Message] | None = None, top_k: int | None = None, filters: Filters | None = None,
        max_tokens: int | None = None, temperature: float | None = None) -> Iterator[Event]:
    """The answer's events (`AnswerChain.stream`), the turn saved as the `Final` one passes. What makes the
    request unusable raises now, before the first event, so that a server can still answer 4xx: an unknown
    collection (`CollectionError`), then an unknown conversation (`ConversationNotFound`, also when the caller
    brings a history), then the question (`QuestionError`). Nothing else runs until the first event is read."""
    parts = comps.collection(collection)
    if conversation:
        stored = comps.conversations.history(conversation)
        history = history or stored
    events = parts.chain.stream(question, history=history, top_k=top_k, filters=filters, max_tokens=max_tokens,
                                temperature=temperature)
    if comps.warmup.warming:  # the models are being loaded for every question: wait for that, do not redo it
        events = _after(comps.warmup.wait, events)
    return _saving(events, comps.conversations, conversation) if conversation else events


def _after(wait: Callable[[], object], events: Iterator[Event]) -> Iterator[Event]:
    """`events`, read once `wait` returns: nothing of the answer runs before its first event is read."""
    wait()
    yield from events


def _saving(events: Iterator[Event], store: Conversations, conversation: str) -> Iterator[Event]:
    """`events`, the final answer's turn added to `conversation` before the `Final` event goes on."""
    for event in events:
        if isinstance(event, Final):
            with contextlib.suppress(ConversationNotFound):  # deleted while this answer was being written
                store.add_turn(conversation, event.answer.question, event.answer)
        yield event
