"""Before an answer is refused as unsupported, it is asked once more the plain way: the first passages
retrieval ranks, whole, and one short prompt (prompts/escalate.txt, the simple baseline's), through the same
citation checker. Issue #30: the shape's small sentence context and format cost answers the plain way gets
(a titled question read as a factoid, the answer ranked past the context budget); a refusal should not be
the first thing a small context says."""

from __future__ import annotations

import time
from collections.abc import Iterator

from rag.answer.attempt import ms
from rag.answer.citations.stream import CitationStream
from rag.answer.generation import book_generation, cited, drain, model_deltas
from rag.answer.prompting import render_passages
from rag.answer.shapes import QuestionShape, opens_with_verdict
from rag.answer.state import State
from rag.answer.steps.base import Step
from rag.backends.llm import Message
from rag.types import Delta, Event, Passage, Replace


class Escalate(Step):
    """An answer about to be refused for a reason in `escalate_on` is written again from the first
    `escalate_passages` retrieved chunks, whole; the new answer stands when the model answers and a sentence
    of it is supported by the passages it cites."""

    name = "escalate"
    stage = "review"

    def applies(self, shape: QuestionShape) -> bool:
        return bool(self.policy.escalate_on)

    def run(self, state: State) -> Iterator[Event]:
        if state.answerable or state.reason is not None or state.decided is not None:
            return  # answered, refused by a precise rule, or a verdict the text decided
        if ("model" if state.refused else "unsupported") not in self.policy.escalate_on:
            return
        t = time.perf_counter()
        wide = self.chain.retriever.retrieve(state.query, self.policy.escalate_passages, state.attempt.filters)
        state.timings.retrieve_ms = round(state.timings.retrieve_ms + ms(t), 1)
        if not wide:
            return
        usage: dict[str, int] = {}
        t = time.perf_counter()
        reply = "".join(model_deltas(self.chain.llm, self.chain.settings, self.messages(state.query, wide),
                                     state.max_tokens, state.temperature, usage))
        book_generation(state.timings, t, usage)
        state.add_usage(usage)
        # the plain prompt asks for no format: a verdict is grounded as a verdict whatever the question's shape
        # was read as ("Title. Are they predictive of ...?" read as a factoid, answered "Yes, ...")
        shape = "yesno" if state.shape.shape == "factoid" and opens_with_verdict(reply) else state.shape.shape
        citer = CitationStream(wide, state.query, shape, self.policy, self.policy.max_sentences_by_shape.get(shape))
        if drain(cited(iter([reply]), citer, self.policy.holdback_chars)):
            return  # the model declined: the first refusal stands, with its reason
        if not citer.answered:
            return
        state.context, state.citer, state.text = wide, citer, citer.text
        state.citations, state.sentences = citer.citations(), citer.sentences
        state.refused, state.answerable, state.escalated = False, True, True
        yield Replace(text=state.text) if state.streamed else Delta(text=state.text)
        state.streamed = True

    def messages(self, question: str, passages: list[Passage]) -> list[Message]:
        prompts = self.chain.prompts
        return [{"role": "system", "content": prompts.escalate},
                {"role": "user", "content": f"Passages:\n{render_passages(prompts, passages)}\n\n"
                                            f"Question: {question}"}]
