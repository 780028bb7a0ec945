"""The escalation (rag/answer/steps/escalate.py): an answer about to be refused as unsupported is written once
more from the first retrieved chunks, whole, with the plain prompt; what the client streams stays one truth."""

from __future__ import annotations

from rag.answer.prompting import Prompts, packaged_prompts
from rag.answer.shapes import classify
from tests.answer.test_chain import TEXT, ScriptedLLM, chain
from tests.conftest import played

OFF_TEXT = "Lenin [1]."  # a name the passage never states: unsupported
ON_TEXT = "Javad Owji welcomed Putin."  # stated, and no marker: the citation checker cites it


def test_an_unsupported_answer_is_written_again_from_the_whole_passages() -> None:
    llm = ScriptedLLM(OFF_TEXT, ON_TEXT, p_yes=0.9)
    text, ans = played(chain(llm).stream("Who welcomed Putin?"))
    assert ans.answerable and ans.escalated and ans.refusal_reason is None
    assert text == ans.answer == "Javad Owji welcomed Putin [1]."
    assert ans.citations[0].quote == "He was welcomed by the oil minister, Javad Owji."
    assert len(llm.calls) == 2
    system, user = llm.calls[1]
    assert system["content"] == Prompts.load(packaged_prompts()).escalate
    assert TEXT in user["content"] and user["content"].endswith("Question: Who welcomed Putin?")


def test_a_second_unsupported_answer_is_refused_as_the_first() -> None:
    llm = ScriptedLLM(OFF_TEXT, "Stalin.", p_yes=0.9)
    text, ans = played(chain(llm).stream("Who welcomed Putin?"))
    assert not ans.answerable and not ans.escalated and ans.refusal_reason == "unsupported"
    assert text == ans.answer and ans.rejected == "Lenin [1]." and len(llm.calls) == 2


def test_escalation_is_off_with_no_reasons_or_by_name() -> None:
    for settings in ({"escalate_on": []}, {"skip_steps": ["escalate"]}):
        llm = ScriptedLLM(OFF_TEXT, ON_TEXT, p_yes=0.9)
        ans = chain(llm, **settings).answer("Who welcomed Putin?")
        assert ans.refusal_reason == "unsupported" and len(llm.calls) == 1


def test_a_decline_is_escalated_only_when_asked_for() -> None:
    llm = ScriptedLLM("I don't know.", ON_TEXT, p_yes=0.9)
    assert chain(llm).answer("Who welcomed Putin?").refusal_reason == "model" and len(llm.calls) == 1
    llm = ScriptedLLM("I don't know.", ON_TEXT, p_yes=0.9)
    text, ans = played(chain(llm, escalate_on=["model", "unsupported"]).stream("Who welcomed Putin?"))
    assert ans.answerable and ans.escalated and text == ans.answer == "Javad Owji welcomed Putin [1]."


def test_a_gate_refusal_is_not_escalated() -> None:
    llm = ScriptedLLM(OFF_TEXT, ON_TEXT, p_yes=0.05)
    ans = chain(llm, second_hop=False).answer("Who welcomed Putin?")
    assert ans.refusal_reason == "check" and llm.calls == []


def test_a_verdict_to_a_question_read_as_a_factoid_is_grounded_as_a_verdict() -> None:
    question = "Putin's visit to Tehran, welcomed by the oil minister?"  # no question word or verb: a factoid
    assert classify(question).shape == "factoid"
    verdict = "Yes, the oil minister welcomed Putin."
    llm = ScriptedLLM(OFF_TEXT, verdict, p_yes=0.9)
    text, ans = played(chain(llm).stream(question))
    assert ans.answerable and ans.escalated and text == ans.answer == "Yes, the oil minister welcomed Putin [1]."
    # the same reply in the factoid's own format is no answer: it states nothing the question did not
    llm = ScriptedLLM(verdict, p_yes=0.9)
    assert chain(llm, escalate_on=[]).answer(question).refusal_reason == "unsupported"
