"""The model writing an answer: its deltas through the citation checker, a decline told from an answer by the
reply's opening words, and the generation's time booked apart from its wait for the model."""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator

from rag.answer.attempt import charge, ms
from rag.answer.citations.stream import CitationStream, is_refusal
from rag.backends.llm import LLM, Message
from rag.config import Settings
from rag.types import Delta, Timings

_SENTENCE_END = re.compile(r"[.!?\n]")


def model_deltas(llm: LLM, settings: Settings, messages: list[Message], max_tokens: int | None,
                 temperature: float | None, usage: dict[str, int]) -> Iterator[str]:
    """The model's reply, with the request's overrides of the model section's limits."""
    return llm.stream_chat(messages, max_tokens or settings.llm.max_tokens,
                           settings.llm.temperature if temperature is None else temperature, usage)


def book_generation(timings: Timings, started: float, usage: dict[str, int]) -> None:
    """The generation's time less its wait for a busy model (which the back end reports in `usage`)."""
    charge(timings, "generate_ms", started, float(usage.pop("queue_ms", 0.0)))


def drain(texts: Generator[str, None, bool]) -> bool:
    """Run `texts` to its end, for its return value (an answer not streamed)."""
    while True:
        try:
            next(texts)
        except StopIteration as end:
            return end.value


def cited(deltas: Iterator[str], citer: CitationStream, holdback: int) -> Generator[str, None, bool]:
    """The cited answer's non-empty deltas; nothing if the model declines. Returns whether it declined,
    decided once, from the reply's opening words (its first `holdback` characters or first sentence)."""
    head = ""
    refused: bool | None = None
    for delta in deltas:
        if refused is None:
            # hold the first words back until it is clear whether the model is declining to answer
            head += delta
            if len(head) < holdback and not _SENTENCE_END.search(head):
                continue
            refused = is_refusal(head)
            delta = head
        if not refused and (out := citer.feed(delta)):
            yield out
        if citer.full:  # the shape's sentences are written: stop the model rather than drop its words
            close = getattr(deltas, "close", None)
            if close is not None:
                close()
            break
    if refused is None:  # the whole reply was shorter than the hold-back
        refused = is_refusal(head)
        if not refused and (out := citer.feed(head)):
            yield out
    if not refused and (tail := citer.finish()):
        yield tail
    return refused


def streamed(texts: Generator[str, None, bool], timings: Timings, t0: float) -> Generator[Delta, None, bool]:
    """`texts` as `Delta` events, the first one's time recorded; returns what `texts` returns."""
    while True:
        try:
            text = next(texts)
        except StopIteration as end:
            return end.value
        if timings.first_token_ms is None:
            timings.first_token_ms = ms(t0)
        yield Delta(text=text)

