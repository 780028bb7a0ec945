"""The answer chain's rules as steps, in the order they run within their stage (steps/base.py). A rule is
added or removed here; `answer.steps` names those that run and `answer.skip_steps` leaves some out (ablations)."""

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
    """The steps the settings keep, by stage. An unknown name in `steps`, `skip_steps` or `step_shapes` is an
    error: a misspelt ablation would otherwise run every step and look like a result."""
    policy = chain.settings.answer
    for name, listed in (("steps", policy.steps), ("skip_steps", policy.skip_steps),
                         ("step_shapes", list(policy.step_shapes))):
        if unknown := sorted(set(listed) - set(step_names())):
            raise ValueError(f"answer.{name}: unknown step(s) {', '.join(unknown)}; the steps are "
                             f"{', '.join(step_names())}")
    skip = set(policy.skip_steps) | (set(step_names()) - set(policy.steps))
    kept = [s(chain) for s in STEPS if s.name not in skip]
    return {stage: [s for s in kept if s.stage == stage] for stage in STAGES}


__all__ = ["STEPS", "Stage", "Step", "build_steps", "step_names"]
