"""A factoid answered with its bridge (rag/answer/rules/bridge.py) is asked again with the bridge named."""

from __future__ import annotations

import time
from collections.abc import Iterator

from rag.answer.citations.stream import CitationStream
from rag.answer.generation import book_generation, cited, drain, model_deltas
from rag.answer.prompting import answer_messages
from rag.answer.rules.bridge import bridged_question, described_answer
from rag.answer.shapes import QuestionShape, short_answer
from rag.answer.state import State
from rag.answer.steps.base import Step
from rag.text.words import content_words, tokens
from rag.types import Delta, Event, Passage, Replace

Asked = tuple[str, list[Passage], list[Passage], CitationStream, float | None]


def _opens_with(text: str, start: str) -> bool:
    """Whether `text` begins with `start`'s words ("Mount Kenya, a landmark" begins with "Mount Kenya")."""
    a, b = tokens(text), tokens(start)
    return bool(b) and a[:len(b)] == b


class BridgeReask(Step):
    """"What does the mountain after which Kenya is named have on its peaks?" answered "Mount Kenya": the
    question is asked again about Mount Kenya, and the new answer replaces the first."""

    name = "bridge_reask"
    stage = "review"

    def applies(self, shape: QuestionShape) -> bool:
        return shape.shape == "factoid" and self.policy.bridge_reask and self.second_hop

    def run(self, state: State) -> Iterator[Event]:
        if not state.answerable:
            return
        again = self.past_bridge(state, short_answer("factoid", state.text))
        if again is None:
            return
        # the answer was the thing the question describes: the new one replaces it
        state.asked, state.passages, state.context, citer, state.p_yes = again
        state.citer, state.text, state.citations = citer, citer.text, citer.citations()
        state.sentences = citer.sentences
        yield Replace(text=state.text) if state.streamed else Delta(text=state.text)
        state.streamed = True

    def past_bridge(self, state: State, answer: str) -> Asked | None:
        """(the question asked, passages, context, the new cited answer, its check), or None to keep the
        answer. The rewritten question must pass the check like any question ("Who coached Gary Kubiak?",
        from a misread "Who coached the team that won?", finds no passage that states it), and the new answer
        counts only when it is supported and is not the old one again ("Mount Kenya, a landmark")."""
        policy, query = self.policy, state.query
        found = described_answer(query, answer, state.context, policy.bridge_min_overlap)
        if found is None:
            return None
        asked, factoid = bridged_question(query, found), QuestionShape("factoid")
        hop, context, p_yes = state.attempt.retry_timed(state.passages, f"{query} {found.answer}", asked, factoid)
        if p_yes is not None and p_yes < self.chain.check_min("factoid"):
            return None
        citer = CitationStream(context, asked, "factoid", policy, policy.max_sentences_by_shape.get("factoid"))
        more: dict[str, int] = {}
        t = time.perf_counter()
        deltas = model_deltas(self.chain.llm, self.chain.settings, answer_messages(self.chain.prompts, asked,
                              context, "factoid"), state.max_tokens, state.temperature, more)
        refused = drain(cited(deltas, citer, policy.holdback_chars))
        book_generation(state.timings, t, more)
        state.add_usage(more)
        new = short_answer("factoid", citer.text)
        if (refused or not citer.citations() or not any(x.supported for x in citer.sentences)
                or content_words(new) <= content_words(answer) or _opens_with(new, answer)):
            return None
        return asked, hop, context, citer, p_yes
