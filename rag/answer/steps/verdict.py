"""A yes/no or choice answer built from the sentence that decides it (rag/answer/rules/verdict.py), in the
model's place."""

from __future__ import annotations

from collections.abc import Iterable

from rag.answer.rules.verdict import Choice, Verdict, choose, decide
from rag.answer.shapes import QuestionShape, bare_option
from rag.answer.state import State
from rag.answer.steps.base import NOTHING, Step
from rag.backends.llm import Message
from rag.types import Event, Passage


class YesOrNo(Step):
    """The verdict from the text where it settles it, otherwise the model's P(yes) on the answer prompt (one
    token, on the check's cached prefix), then that sentence quoted and cited. When no sentence holds the
    question, the model writes the answer."""

    name = "yes_or_no"
    stage = "write"

    def applies(self, shape: QuestionShape) -> bool:
        return self.policy.verdict_rules and shape.shape in ("comparison", "yesno")

    def run(self, state: State) -> Iterable[Event]:
        state.decided, state.verdict = self.yes_or_no(state.query, state.context, state.shape, state.messages)
        return NOTHING

    def yes_or_no(self, query: str, context: list[Passage], shape: QuestionShape,
                  messages: list[Message]) -> tuple[str | None, str | None]:
        """(the answer, what decided it), or (None, None) for the model to write it."""
        policy = self.policy
        if shape.shape == "comparison":
            c = choose(query, shape.options, context)
            if c is None:
                return None, None
            option = bare_option(c.option)  # "Vienna", not "to Vienna"
            return f"{option[:1].upper()}{option[1:]}. {quoted(context, c)}", c.reason
        v = decide(query, context, policy.verdict_min_overlap, policy.verdict_substitution_overlap)
        if v is None or v.overlap < policy.verdict_min_overlap:
            return None, None
        answer, reason = v.answer, v.reason
        if answer is None:
            p = self.chain.llm.yes_probability(messages)
            if p is None:
                return None, None
            answer, reason = ("yes" if p >= policy.verdict_yes_min else "no"), f"model P(yes)={p:.2f}"
        return f"{answer.capitalize()}. {quoted(context, v)}", reason


def quoted(context: list[Passage], decided: Verdict | Choice) -> str:
    """The deciding sentence (and the other side's, for a comparison of years), quoted and cited."""
    facts = [(decided.passage, decided.span)]
    if decided.other and decided.other != facts[0]:
        facts.append(decided.other)
    return " ".join(f"{context[i].chunk.text[lo:hi].strip().rstrip('.')} [{i + 1}]." for i, (lo, hi) in facts)
