"""Steps that may reject a written answer: a name of the question its passages never state, and the model's
own reading of it against the passages."""

from __future__ import annotations

from collections.abc import Iterable

from rag.answer.attempt import ModelClock, charge
from rag.answer.prompting import verify_messages
from rag.answer.rules.bridge import describes
from rag.answer.rules.key_terms import unstated_terms
from rag.answer.shapes import QuestionShape, strip_markers
from rag.answer.state import State
from rag.answer.steps.base import NOTHING, Step
from rag.types import Event


class UnstatedTerms(Step):
    """The answer's own passages never say a name or number of the question ("Which cathedral is in Jesmond?"
    answered from "the Coptic Cathedral located in Fenham"): it answers another question. A bridge re-ask
    needs a description, so a re-asked answer never gets here with the old question."""

    name = "unstated_terms"
    stage = "review"

    def applies(self, shape: QuestionShape) -> bool:
        return shape.shape in self.policy.unstated_terms_shapes

    def run(self, state: State) -> Iterable[Event]:
        if not state.answerable or describes(state.query) or state.citer is None:
            return NOTHING
        cited = [state.citer.passages[c.marker - 1] for c in state.citations]
        around = self.chain.paragraph if self.policy.unstated_paragraph else None
        paragraphs = (lambda: [around(p.chunk) for p in cited]) if around is not None else None
        retrieved = state.passages if self.policy.unstated_bridges else ()
        if unstated := unstated_terms(state.query, cited, state.context, paragraphs, retrieved):
            state.unstated = unstated
            state.answerable, state.reason, state.rejected = False, "unstated_terms", state.text
        return NOTHING


class Verification(Step):
    """After the answer, the model reads it back against the passages (the answer prompt's prefix, so only the
    proposed answer and the question are new tokens); below the shape's threshold it is refused."""

    name = "verify"
    stage = "review"

    def applies(self, shape: QuestionShape) -> bool:
        return self.policy.verify

    def run(self, state: State) -> Iterable[Event]:
        if not state.answerable:
            return NOTHING
        clock = ModelClock(self.chain.llm)
        state.p_verify = self.chain.llm.yes_probability(verify_messages(
            self.chain.prompts, state.query, state.context, state.shape.shape, strip_markers(state.text)))
        charge(state.timings, "verify_ms", clock.started, clock.wait())  # another request's turn is not this work
        if state.p_verify is not None and state.p_verify < self.policy.verify_min_by_shape.get(state.shape.shape, 0.0):
            state.answerable, state.reason, state.rejected = False, "verify", state.text
        return NOTHING
