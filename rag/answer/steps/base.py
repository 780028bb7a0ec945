"""What an answer step is: a rule of the chain with a name (to leave it out by setting), the stage it runs
in, whether it concerns a question of this shape, and what it does to the answer's state."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar, Literal

from rag.answer.attempt import Reader
from rag.answer.shapes import QuestionShape
from rag.answer.state import State
from rag.config import AnswerSettings
from rag.types import Event

# check: after the first check, timed with it (hops that may change the passages); gate: before the model
# writes (may refuse); write: may write the answer in the model's place; review: on the written answer
Stage = Literal["check", "gate", "write", "review"]
STAGES: tuple[Stage, ...] = ("check", "gate", "write", "review")
NOTHING: tuple[Event, ...] = ()


class Step:
    """A rule of the answer chain. `applies` reads only the shape and the settings; `run` the whole state,
    and returns the events it sends (a new `Sources`, a `Replace`, a refusal's `Delta` and `Final`)."""

    name: ClassVar[str]
    stage: ClassVar[Stage]
    reads_check: ClassVar[bool] = False  # the chain asks the model its check only when a running step reads it

    def __init__(self, chain: Reader) -> None:
        self.chain = chain

    @property
    def policy(self) -> AnswerSettings:
        return self.chain.settings.answer

    @property
    def second_hop(self) -> bool:
        return self.chain.settings.retrieval.second_hop

    def applies(self, shape: QuestionShape) -> bool:
        return True

    def concerns(self, shape: QuestionShape) -> bool:
        """`applies`, within the shapes `answer.step_shapes` names for this step (all when it names none)."""
        only = self.policy.step_shapes.get(self.name)
        return (only is None or shape.shape in only) and self.applies(shape)

    def run(self, state: State) -> Iterable[Event]:
        raise NotImplementedError
