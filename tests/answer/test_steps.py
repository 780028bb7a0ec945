"""The answer steps (rag/answer/steps/): which questions each concerns, that a setting leaves one out by name,
and the one helper that books the model's queue wait (rag/answer/attempt.py)."""

from __future__ import annotations

import time

import pytest

from rag.answer.attempt import charge
from rag.answer.shapes import QuestionShape
from rag.answer.steps import STEPS, build_steps, step_names
from rag.config import AnswerSettings
from rag.types import Timings
from tests.answer.test_bridge import KENYA, PEAKS, Q_KENYA, ListRetriever
from tests.answer.test_chain import ScriptedLLM, chain
from tests.conftest import played

SHAPES = ("factoid", "yesno", "comparison", "list", "why", "multipart")


def applies(name: str, **settings: object) -> set[str]:
    """The shapes the step `name` concerns under these settings."""
    [step] = [s for steps in build_steps(chain(ScriptedLLM(), **settings)).values() for s in steps if s.name == name]
    return {shape for shape in SHAPES if step.applies(QuestionShape(shape))}  # type: ignore[arg-type]


def test_the_steps_have_unique_names_the_setting_documents() -> None:
    names = step_names()
    assert len(set(names)) == len(names) == len(STEPS)
    description = AnswerSettings.model_fields["skip_steps"].description or ""
    assert all(name in description for name in names)


def test_each_stage_keeps_the_steps_in_their_order() -> None:
    by_stage = build_steps(chain(ScriptedLLM()))
    assert {stage: [s.name for s in steps] for stage, steps in by_stage.items()} == {
        "check": ["bridge_hop", "missing_name_hop", "unchosen_options"], "gate": ["pre_answer_refusal"],
        "write": ["yes_or_no"], "review": ["bridge_reask", "escalate", "unstated_terms", "verify"]}


def test_which_shapes_each_step_concerns() -> None:
    assert applies("bridge_hop") == set(SHAPES) and applies("bridge_hop", second_hop=False) == set()
    assert applies("missing_name_hop") == {"yesno", "comparison", "multipart"}
    assert applies("missing_name_hop", missing_name_hop_shapes=["factoid"]) == {"factoid"}
    assert applies("missing_name_hop", second_hop=False) == set()
    assert applies("unchosen_options") == {"comparison"}
    assert applies("pre_answer_refusal") == set(SHAPES)
    assert applies("yes_or_no") == {"yesno", "comparison"} and applies("yes_or_no", verdict_rules=False) == set()
    assert applies("bridge_reask") == {"factoid"}
    assert applies("bridge_reask", bridge_reask=False) == applies("bridge_reask", second_hop=False) == set()
    assert applies("escalate") == set(SHAPES) and applies("escalate", escalate_on=[]) == set()
    assert applies("unstated_terms") == {"factoid"} and applies("unstated_terms", unstated_terms_shapes=[]) == set()
    assert applies("verify") == set() and applies("verify", verify=True) == set(SHAPES)


def test_skip_steps_leaves_a_step_out() -> None:
    kept = build_steps(chain(ScriptedLLM(), skip_steps=["yes_or_no", "verify"]))
    names = [s.name for steps in kept.values() for s in steps]
    assert "yes_or_no" not in names and "verify" not in names and len(names) == len(STEPS) - 2


def test_an_unknown_step_name_is_an_error_when_the_chain_is_built() -> None:
    with pytest.raises(ValueError, match="unknown step.*yes_no"):
        chain(ScriptedLLM(), skip_steps=["yes_no"])


def test_a_skipped_verdict_step_leaves_the_answer_to_the_model() -> None:
    question = "Was Putin welcomed at Mehrabad airport by Ebrahim Raisi?"
    decided = chain(ScriptedLLM(p_yes=0.9)).answer(question)
    assert decided.verdict and decided.answer.startswith("No. ")
    llm = ScriptedLLM("No, he was welcomed by the oil minister, Javad Owji [1].", p_yes=0.9)
    ans = chain(llm, skip_steps=["yes_or_no"]).answer(question)
    assert len(llm.calls) == 1 and ans.verdict is None and ans.short_answer == "no"


def test_a_skipped_refusal_step_lets_a_low_check_answer() -> None:
    refused = chain(ScriptedLLM("Javad Owji [1]", p_yes=0.05), second_hop=False).answer("Who welcomed Putin?")
    assert refused.refusal_reason == "check"
    llm = ScriptedLLM("Javad Owji [1]", p_yes=0.05)
    ans = chain(llm, second_hop=False, skip_steps=["pre_answer_refusal"]).answer("Who welcomed Putin?")
    # no step left reads the check (the hops need a second hop): it is not asked
    assert ans.answerable and ans.check is None and llm.checks == []
    llm = ScriptedLLM("Javad Owji [1]", p_yes=0.05)
    assert chain(llm, skip_steps=["pre_answer_refusal"]).answer("Who welcomed Putin?").check == 0.05
    assert len(llm.checks) >= 1  # bridge_hop reads it


def test_a_skipped_bridge_reask_keeps_the_first_answer() -> None:
    llm = ScriptedLLM("Mount Kenya [1].", "Snow [1].", p_yes=0.9)
    text, final = played(chain(llm, ListRetriever(KENYA, PEAKS), skip_steps=["bridge_reask"]).stream(Q_KENYA))
    assert text == final.answer == "Mount Kenya [1]." and len(llm.calls) == 1


def test_charge_books_the_wait_as_queue_time_and_the_rest_as_the_stage() -> None:
    t = Timings(queue_ms=10.0, check_ms=5.0)
    started = time.perf_counter() - 0.2  # 200 ms of model work, 50 of them waiting
    charge(t, "check_ms", started, 50.0)
    assert t.queue_ms == 60.0 and 154 <= t.check_ms < 200
    charge(t, "generate_ms", time.perf_counter(), 0.0)
    assert t.queue_ms == 60.0 and 0 <= t.generate_ms < 50


def test_step_shapes_keeps_a_step_to_the_shapes_it_names() -> None:
    kept = build_steps(chain(ScriptedLLM(), step_shapes={"pre_answer_refusal": ["factoid"]}))
    [gate] = kept["gate"]
    assert {shape for shape in SHAPES if gate.concerns(QuestionShape(shape))} == {"factoid"}  # type: ignore[arg-type]
    low = chain(ScriptedLLM("Yes, Putin landed at Mehrabad airport [1].", p_yes=0.05), second_hop=False,
                step_shapes={"pre_answer_refusal": ["factoid"]}, verdict_rules=False)
    assert low.answer("Did Putin land at Mehrabad airport?").answerable  # a yes/no question passes the gate
    with pytest.raises(ValueError, match="step_shapes: unknown step.*gate"):
        chain(ScriptedLLM(), step_shapes={"gate": ["factoid"]})


def test_by_default_the_verdict_step_decides_choice_questions_and_leaves_yes_no_ones_to_the_model() -> None:
    """`answer.step_shapes`' default keeps yes_or_no to choice questions: on yes/no questions it hurt BoolQ."""
    defaults = AnswerSettings()
    assert "yes_or_no" in defaults.steps and defaults.step_shapes == {"yes_or_no": ["comparison"]}
    default = {"steps": defaults.steps, "step_shapes": defaults.step_shapes}
    [write] = build_steps(chain(ScriptedLLM(), **default))["write"]
    assert {shape for shape in SHAPES if write.concerns(QuestionShape(shape))} == {"comparison"}  # type: ignore[arg-type]
    llm = ScriptedLLM("No, he was welcomed by the oil minister, Javad Owji [1].", p_yes=0.9)
    ans = chain(llm, **default).answer("Was Putin welcomed at Mehrabad airport by Ebrahim Raisi?")
    assert ans.verdict is None and len(llm.calls) == 1  # the model wrote it
    tesla = ListRetriever("Tesla moved to Budapest in 1881. In 1882, Tesla began working for the Continental "
                          "Edison Company in France.")
    llm = ScriptedLLM("The Continental Edison Company job [1].", p_yes=0.9)
    choice = chain(llm, tesla, **default).answer(
        "Which came first, the move to Budapest or the Continental Edison Company job?")
    assert choice.verdict == "1881 / 1882" and choice.short_answer == "Move to Budapest"  # by the years
    assert not any("Format: choice" in str(call) for call in llm.calls)  # the model wrote none of it
