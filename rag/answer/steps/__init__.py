"""The answer chain's rules as steps, in the order they run within their stage (steps/base.py). A rule is
added or removed here, and left out by name with `answer.skip_steps`."""

from __future__ import annotations

from rag.answer.attempt import Reader
from rag.answer.steps.base import STAGES, Stage, Step
from rag.answer.steps.escalate import Escalate
from rag.answer.steps.hops import BridgeHop, MissingNameHop
from rag.answer.steps.options import UnchosenOptions
from rag.answer.steps.reask import BridgeReask
from rag.answer.steps.refusal import PreAnswerRefusal
from rag.answer.steps.review import UnstatedTerms, Verification
from rag.answer.steps.verdict import YesOrNo

STEPS: tuple[type[Step], ...] = (BridgeHop, MissingNameHop, UnchosenOptions, PreAnswerRefusal, YesOrNo, BridgeReask,
                                 Escalate, UnstatedTerms, Verification)


def step_names() -> list[str]:
    return [s.name for s in STEPS]


def build_steps(chain: Reader) -> dict[Stage, list[Step]]:
    """The steps the settings keep, by stage. An unknown name in `skip_steps` is an error: a misspelt
    ablation would otherwise run every step and look like a result."""
    skip = set(chain.settings.answer.skip_steps)
    if unknown := sorted(skip - set(step_names())):
        raise ValueError(f"answer.skip_steps: unknown step(s) {', '.join(unknown)}; the steps are "
                         f"{', '.join(step_names())}")
    if unknown := sorted(set(chain.settings.answer.step_shapes) - set(step_names())):
        raise ValueError(f"answer.step_shapes: unknown step(s) {', '.join(unknown)}")
    kept = [s(chain) for s in STEPS if s.name not in skip]
    return {stage: [s for s in kept if s.stage == stage] for stage in STAGES}


__all__ = ["STEPS", "Stage", "Step", "build_steps", "step_names"]
