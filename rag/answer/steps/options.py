"""The option of a choice question that no passage names is the wrong option, not a missing name."""

from __future__ import annotations

from collections.abc import Iterable

from rag.answer.rules.key_terms import unchosen_options
from rag.answer.shapes import QuestionShape
from rag.answer.state import State
from rag.answer.steps.base import NOTHING, Step
from rag.types import Event


class UnchosenOptions(Step):
    """"Javad Owji or Erdogan?" over passages naming only Owji: Erdogan leaves the missing terms."""

    name = "unchosen_options"
    stage = "check"

    def applies(self, shape: QuestionShape) -> bool:
        return shape.shape == "comparison"

    def run(self, state: State) -> Iterable[Event]:
        if wrong := unchosen_options(state.missing, state.shape.options):
            state.missing = [t for t in state.missing if t not in wrong]
        return NOTHING
