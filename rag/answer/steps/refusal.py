"""The refusal before the model writes: the check says the passages do not state the answer, or is unsure
and a name or number of the question is missing from them."""

from __future__ import annotations

from collections.abc import Iterator

from rag.answer.state import State
from rag.answer.steps.base import Step
from rag.types import Delta, Event, Final


class PreAnswerRefusal(Step):
    """Below the shape's check threshold (after the hops), or below missing_terms_check_max with terms
    missing: the refusal, without generating."""

    name = "pre_answer_refusal"
    reads_check = True
    stage = "gate"

    def run(self, state: State) -> Iterator[Event]:
        check_min = self.chain.check_min(state.shape.shape)  # after the hops
        p_yes = state.p_yes
        if p_yes is not None and (p_yes < check_min
                                  or (state.missing and p_yes < self.policy.missing_terms_check_max)):
            state.ended = True
            yield Delta(text=self.chain.prompts.refusal)
            yield Final(answer=state.refusal("check" if p_yes < check_min else "missing_terms",
                                             check=round(p_yes, 4), context=state.context,
                                             missing_terms=state.missing))
