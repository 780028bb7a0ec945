"""Answer shapes with the real model (Qwen2.5-Coder-1.5B under llama.cpp): a yes/no question gets a cited
verdict, a why question cited sentences, a list question the items, and the answerability check reads a
probability from the model on the answer prompt's cached prefix."""

from __future__ import annotations

from rag.answer.prompting import check_messages
from rag.answer.shapes import classify
from tests.conftest import SEED_DOC

SOURCE_TEXT = SEED_DOC.read_text(encoding="utf-8")


def _cited_in_source(ans) -> None:
    assert ans.citations, ans.answer
    for c in ans.citations:
        assert f"[{c.marker}]" in ans.answer
        assert SOURCE_TEXT[c.start:c.end] == c.quote


def test_yes_no_question_gets_a_verdict_and_its_fact(comps) -> None:
    ans = comps.chain.answer("Was Putin greeted at Mehrabad airport by Iran's oil minister?")
    assert ans.shape == "yesno" and ans.answerable, ans.answer
    assert ans.short_answer == "yes" and ans.answer.lower().startswith("yes"), ans.answer
    _cited_in_source(ans)
    assert ans.grounded and ans.grounded > 0


def test_why_question_gets_an_explaining_sentence(comps) -> None:
    ans = comps.chain.answer("Why did Khamenei want Iran and Russia to stop using the US dollar in their trade?")
    assert ans.shape == "why" and ans.answerable, ans.answer
    assert len(ans.answer.split()) >= 8, ans.answer  # a sentence, not a two-word phrase
    assert "sanction" in ans.answer.lower(), ans.answer
    _cited_in_source(ans)


def test_list_question_gets_every_item(comps) -> None:
    ans = comps.chain.answer("Which two countries applied to join NATO in May?")
    assert ans.shape == "list" and ans.answerable, ans.answer
    assert "Finland" in ans.answer and "Sweden" in ans.answer, ans.answer


def test_check_probability_separates_a_stated_answer_from_a_missing_one(comps) -> None:
    """The check is the answer prompt plus one line: the model's P(yes) is higher where the passages hold
    the answer than for a question about the same passages that they do not answer."""
    def p_yes(question: str) -> float:
        shape = classify(question)
        passages = comps.retriever.retrieve(question, comps.settings.retrieval.top_k)
        context = comps.chain.assemble_context(passages, question, comps.chain.context_budget(shape))
        p = comps.llm.yes_probability(check_messages(comps.prompts, question, context, shape.shape))
        assert p is not None and 0.0 <= p <= 1.0
        return p

    stated = p_yes("At which airport did Putin's plane land?")
    missing = p_yes("At which airport did Erdogan's plane land?")
    assert stated > missing, (stated, missing)
