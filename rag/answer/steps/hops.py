"""Steps that search again before answering, while the check is timed: a bridge question's second hop and a
missing name's own retrieval (rag/answer/rules/hops.py)."""

from __future__ import annotations

from collections.abc import Iterator

from rag.answer.rules.hops import bridge_query
from rag.answer.rules.key_terms import missing_from
from rag.answer.shapes import QuestionShape
from rag.answer.state import State
from rag.answer.steps.base import Step
from rag.types import Event


class BridgeHop(Step):
    """A bridge question: the first passages name what the answer is about, a second query finds it. Tried
    below check_min; kept when its check is higher."""

    name = "bridge_hop"
    reads_check = True
    stage = "check"

    def applies(self, shape: QuestionShape) -> bool:
        return self.second_hop

    def run(self, state: State) -> Iterator[Event]:
        if state.p_yes is None or state.p_yes >= self.policy.check_min:
            return
        if (bq := bridge_query(state.query, state.passages)) is None:
            return
        hop, context, p_yes = state.attempt.retry(state.passages, bq, state.query, state.shape)
        if p_yes is not None and p_yes > state.p_yes:
            state.passages, state.context, state.p_yes = hop, context, p_yes
            yield state.sources()


class MissingNameHop(Step):
    """The question names something the passages never mention: search for it (the other half of a
    comparison or bridge question); an adversarial question's made-up name is found nowhere."""

    name = "missing_name_hop"
    reads_check = True
    stage = "check"

    def applies(self, shape: QuestionShape) -> bool:
        return self.second_hop and shape.shape in self.policy.missing_name_hop_shapes

    def run(self, state: State) -> Iterator[Event]:
        missing = state.missing
        if not (missing and state.p_yes is not None and state.p_yes < self.policy.missing_terms_check_max):
            return
        hop = state.attempt.hop(state.passages, f"{' '.join(missing)} {state.query}")
        still = missing_from(state.query, hop)
        if len(still) < len(missing):
            state.passages, state.missing = hop, still
            state.context = state.attempt.context(hop, state.query, state.shape)
            yield state.sources()
            state.p_yes = state.attempt.check(state.query, state.context, state.shape)
