"""The chain's order of steps and its decisions, with a scripted LLM (a test double: fast and exact)."""

from __future__ import annotations

import time

import pytest

from rag.answer.chain import AnswerChain, QuestionError
from rag.answer.prompting import Prompts, packaged_prompts
from rag.answer.steps import step_names
from rag.config import AnswerSettings, RetrievalSettings, Settings, overridden
from rag.types import Chunk, Delta, Passage, Replace
from tests.conftest import played

TEXT = "Putin's plane landed at Tehran's Mehrabad airport. He was welcomed by the oil minister, Javad Owji."


class ScriptedLLM:
    name = "scripted"

    def __init__(self, *replies: str, p_yes: float | list[float] | None = None,
                 p_verify: float | None = None) -> None:
        self.replies = list(replies)
        self.calls: list[list[dict]] = []
        self.checks: list[list[dict]] = []
        self.verifies: list[list[dict]] = []
        self.p_yes, self.p_verify = p_yes, p_verify

    def yes_probability(self, messages):
        if "Proposed answer:" in messages[-1]["content"]:  # the verification after the answer
            self.verifies.append(messages)
            return self.p_verify
        self.checks.append(messages)
        return self.p_yes.pop(0) if isinstance(self.p_yes, list) else self.p_yes

    def stream_chat(self, messages, max_tokens, temperature, usage=None):
        self.calls.append(messages)
        reply = self.replies.pop(0) if self.replies else "I don't know."  # past its script it declines
        yield from (reply[i:i + 5] for i in range(0, len(reply), 5))
        if usage is not None:
            usage.update(prompt_tokens=100, completion_tokens=len(reply) // 5)


class FixedRetriever:
    def __init__(self, score: float = 0.7) -> None:
        self.score = score
        self.queries: list[str] = []

    def retrieve(self, query, top_k, filters=None):
        self.queries.append(query)
        return [Passage(chunk=Chunk(id="c", doc_id="d", source="d.txt", title="D", start=10,
                                    end=10 + len(TEXT), text=TEXT), score=self.score, dense_score=self.score)]


def chain(llm, retriever=None, coverage=None, paragraph=None, **kw) -> AnswerChain:
    """`kw`: settings by their names, in whichever section they are (min_coverage=0.25, check_min=0.0)."""
    def path(name: str) -> str:
        sections = {"retrieval": RetrievalSettings, "answer": AnswerSettings}
        return next((f"{s}.{name}" for s, model in sections.items() if name in model.model_fields), name)

    kw.setdefault("steps", step_names())  # every step, whichever are on by default: these test the steps
    kw.setdefault("step_shapes", {})  # each for every shape it concerns
    settings = overridden(Settings(_env_file=None), {path(name): value for name, value in kw.items()})
    return AnswerChain(settings, retriever or FixedRetriever(), llm, Prompts.load(packaged_prompts()),
                       coverage=coverage, paragraph=paragraph)


def test_streams_deltas_then_a_verified_answer() -> None:
    llm = ScriptedLLM("Javad Owji welcomed Putin [1].")
    text, ans = played(chain(llm).stream("Who welcomed Putin?"))
    assert text == ans.answer == "Javad Owji welcomed Putin [1]."
    assert ans.answerable and ans.citations[0].quote == "He was welcomed by the oil minister, Javad Owji."
    assert ans.citations[0].start == 10 + TEXT.index("He was")
    assert ans.timings.total_ms >= ans.timings.generate_ms >= 0
    assert "Passages:" in llm.calls[0][1]["content"] and TEXT in llm.calls[0][1]["content"]


def test_the_context_assemblys_time_is_reported_apart_from_retrieval() -> None:
    def slow_scorer(query: str, sentences: list[str]) -> list[float]:
        time.sleep(0.05)  # as embedding the sentences takes time
        return [0.5] * len(sentences)

    c = chain(ScriptedLLM("Javad Owji welcomed Putin [1]."))
    c.scorer = slow_scorer
    t = c.answer("Who welcomed Putin?").timings
    assert t.context_ms >= 50 > t.retrieve_ms and t.total_ms >= t.context_ms + t.retrieve_ms


def test_model_refusal_becomes_a_plain_unanswerable_answer() -> None:
    ans = chain(ScriptedLLM("I don't know.")).answer("What was the weather?")
    assert not ans.answerable and ans.citations == []
    assert "don't contain" in ans.answer


def test_weak_retrieval_is_refused_without_calling_the_model() -> None:
    llm = ScriptedLLM()
    ans = chain(llm, FixedRetriever(score=0.01)).answer("How do I bake bread?")
    assert not ans.answerable and llm.calls == []


@pytest.mark.parametrize("question", ["", "   ", "\n\t"])
def test_empty_question_is_an_error(question: str) -> None:
    with pytest.raises(QuestionError, match="empty"):
        chain(ScriptedLLM()).answer(question)


def test_huge_question_is_an_error() -> None:
    with pytest.raises(QuestionError, match="limit is 50"):
        chain(ScriptedLLM(), max_question_chars=50).answer("why " * 100)


def test_follow_up_is_rewritten_before_retrieval() -> None:
    llm = ScriptedLLM("How many times had Putin visited Iran?", "Five times [1].")
    retriever = FixedRetriever()
    history = [{"role": "user", "content": "Who visited Tehran?"},
               {"role": "assistant", "content": "Putin visited Tehran [1]."}]
    ans = chain(llm, retriever).answer("How many times had he been there?", history=history)
    assert set(retriever.queries) == {"How many times had Putin visited Iran?"}  # (again, escalating)
    assert ans.query == "How many times had Putin visited Iran?"
    assert "Who visited Tehran?" in llm.calls[0][0]["content"]


def test_a_reply_of_bare_markers_is_no_answer() -> None:
    ans = chain(ScriptedLLM("[1]")).answer("Where did the plane land?")
    assert not ans.answerable and ans.citations == []


def test_unmarked_answer_gets_its_marker_by_construction() -> None:
    ans = chain(ScriptedLLM("Putin's plane landed at Tehran's Mehrabad airport.")).answer("Where did it land?")
    assert ans.answer == "Putin's plane landed at Tehran's Mehrabad airport [1]."
    assert ans.citations[0].quote == "Putin's plane landed at Tehran's Mehrabad airport."


def test_an_answer_no_passage_supports_is_no_answer() -> None:
    ans = chain(ScriptedLLM("The population of Iran is about 80 million.")).answer("Population of Iran?")
    assert not ans.answerable and ans.citations == []


def test_refusal_streams_the_refusal_text_only() -> None:
    text, ans = played(chain(ScriptedLLM("I don't know.")).stream("What was the weather?"))
    assert text == ans.answer and not ans.answerable and ans.refusal_reason == "model"


def test_passages_that_miss_what_the_question_is_about_are_refused_unasked() -> None:
    llm = ScriptedLLM()
    seen = []

    def coverage(query: str, texts: list[str]) -> float:
        seen.append((query, texts))
        return 0.1

    ans = chain(llm, coverage=coverage, min_coverage=0.25).answer("In which hotel did Putin stay?")
    assert not ans.answerable and llm.calls == [] and seen[0][1] == [TEXT]
    ok = chain(ScriptedLLM("Javad Owji [1]"), coverage=lambda q, t: 0.6, min_coverage=0.25).answer(
        "Who welcomed Putin?")
    assert ok.answerable


def test_grounded_is_the_share_of_supported_sentences() -> None:
    ans = chain(ScriptedLLM("Javad Owji welcomed Putin. The minister also gave him a golden horse.")).answer(
        "Who welcomed Putin?")
    assert ans.answerable
    assert [x.supported for x in ans.sentences] == [True, False]
    assert ans.grounded == 0.5
    assert ans.public()["grounded"] == 0.5 and ans.public()["sentences"][1]["supported"] is False


def test_a_terse_answer_must_add_something_the_question_did_not_say() -> None:
    # "Putin" only repeats the question: it is no answer, and it is refused rather than shown
    ans = chain(ScriptedLLM("Putin [1]")).answer("Who is Putin?")
    assert not ans.answerable and ans.grounded is None
    ok = chain(ScriptedLLM("Javad Owji [1]")).answer("Who welcomed Putin?")
    assert ok.answerable and ok.grounded == 1.0


def test_an_answer_from_a_sentence_unrelated_to_the_question_is_refused() -> None:
    # "Mehrabad" is in the passage, but its sentence says nothing about a football final
    ans = chain(ScriptedLLM("Mehrabad [1]")).answer("Who won the football final?")
    assert not ans.answerable


def test_a_reply_shorter_than_the_hold_back_streams_whole() -> None:
    text, ans = played(chain(ScriptedLLM("Javad Owji")).stream("Who welcomed Putin?"))
    assert ans.answer == "Javad Owji [1]" and text == ans.answer


def test_low_check_probability_refuses_without_generating() -> None:
    llm = ScriptedLLM(p_yes=0.05)
    ans = chain(llm, second_hop=False).answer("Who welcomed Putin at the hotel?")
    assert not ans.answerable and ans.refusal_reason == "check" and ans.check == 0.05
    assert llm.calls == [] and len(llm.checks) == 1
    # the check extends the answer prompt, so llama.cpp reuses its evaluated prefix
    assert "Passages:" in llm.checks[0][1]["content"] and "Reply yes or no" in llm.checks[0][1]["content"]


def test_high_check_probability_answers() -> None:
    llm = ScriptedLLM("Javad Owji [1]", p_yes=0.9)
    ans = chain(llm).answer("Who welcomed Putin?")
    assert ans.answerable and ans.check == 0.9 and ans.short_answer == "Javad Owji"


def test_second_hop_searches_for_names_the_first_passages_gave() -> None:
    llm = ScriptedLLM("Javad Owji [1]", p_yes=[0.1, 0.8])
    retriever = FixedRetriever()
    ans = chain(llm, retriever).answer("Who welcomed Putin at Tehran's airport?")
    assert len(retriever.queries) == 2 and "Mehrabad" in retriever.queries[1]
    assert ans.answerable and ans.check == 0.8


def test_yes_no_question_gets_a_verdict_grounded_on_its_facts() -> None:
    llm = ScriptedLLM("No, he was welcomed by the oil minister, Javad Owji [1].", p_yes=0.9)
    ans = chain(llm, verdict_rules=False).answer("Was Putin welcomed by the president?")
    assert ans.shape == "yesno" and ans.short_answer == "no"
    assert ans.answerable and ans.sentences[0].supported
    assert "Format: yes or no." in llm.calls[0][1]["content"]  # the yes/no answer format


def test_yes_no_verdict_the_text_settles_is_quoted_without_generating() -> None:
    """A different name where the question has one: "no", and the sentence that says so is the cited fact."""
    llm = ScriptedLLM(p_yes=0.9)
    ans = chain(llm).answer("Was Putin welcomed at Mehrabad airport by Ebrahim Raisi?")
    assert ans.shape == "yesno" and ans.short_answer == "no" and ans.answerable
    assert llm.calls == [] and ans.verdict and ans.verdict.startswith("Ebrahim Raisi")
    assert ans.answer.startswith("No. ") and "Javad Owji" in ans.answer and ans.citations
    assert all(x.supported for x in ans.sentences)


def test_yes_no_verdict_the_text_leaves_open_is_the_models_probability() -> None:
    for p_yes, verdict in ((0.9, "yes"), (0.2, "no")):
        llm = ScriptedLLM(p_yes=p_yes)
        ans = chain(llm, check_min=0.0).answer("Was Putin welcomed at Mehrabad airport by Javad Owji?")
        assert ans.short_answer == verdict and llm.calls == [] and ans.verdict.startswith("model")
        assert len(llm.checks) == 2 and "Format: yes or no." in llm.checks[1][1]["content"]


def test_a_rejected_streamed_reply_is_replaced_so_the_stream_ends_equal_to_the_answer() -> None:
    llm = ScriptedLLM("Sunny and warm weather all week in the capital city.", p_yes=0.9)
    events = list(chain(llm).stream("What was the weather in Tehran?"))
    text, final = played(events)
    assert not final.answerable and final.refusal_reason == "unsupported"
    assert any(isinstance(e, Replace) for e in events) and text == final.answer


@pytest.mark.parametrize(("reply", "supported"), [
    ("Yes, Putin was welcomed by the oil minister, Javad Owji [1].", True),
    ("Yes, Putin was welcomed by the president, Ebrahim Raisi [1].", False),
])
def test_a_verdict_that_restates_the_question_is_grounded_on_what_it_states(reply: str, supported: bool) -> None:
    question = "Was Putin welcomed by " + reply.split(" by ", 1)[1].split(" [", 1)[0] + "?"
    ans = chain(ScriptedLLM(reply, p_yes=0.9), verdict_rules=False).answer(question)
    assert ans.shape == "yesno"
    assert ans.answerable is supported, (ans.answer, ans.rejected)


def test_a_question_whose_name_no_passage_mentions_is_refused_when_the_check_is_unsure() -> None:
    llm = ScriptedLLM("Javad Owji [1]", p_yes=0.5)
    ans = chain(llm, second_hop=False).answer("Who welcomed Erdogan at Tehran's airport?")
    assert not ans.answerable and ans.refusal_reason == "missing_terms" and ans.missing_terms == ["Erdogan"]
    assert llm.calls == []
    sure = chain(ScriptedLLM("Javad Owji [1]", p_yes=0.9), second_hop=False, unstated_terms_shapes=[]).answer(
        "Who welcomed Erdogan at Tehran's airport?")
    assert sure.answerable and sure.missing_terms == ["Erdogan"]  # a confident check overrides
    # ... but then the cited passage does not state the name either, and a factoid answer is refused for that
    cited = chain(ScriptedLLM("Javad Owji [1]", p_yes=0.9), second_hop=False).answer(
        "Who welcomed Erdogan at Tehran's airport?")
    assert not cited.answerable and cited.refusal_reason == "unstated_terms" and cited.missing_terms == ["Erdogan"]


def test_the_option_of_a_choice_question_no_passage_names_is_not_a_missing_name() -> None:
    """"Javad Owji or Erdogan?" over passages naming only Owji: Erdogan is the wrong option, not a sign that
    the passages miss what is asked. When neither option is named, the question is still refused."""
    ans = chain(ScriptedLLM("Javad Owji [1]", p_yes=0.5), second_hop=False).answer(
        "Who welcomed Putin at Tehran's airport, Javad Owji or Erdogan?")
    assert ans.shape == "comparison" and ans.answerable and ans.missing_terms == []
    assert ans.short_answer.lower().startswith("javad owji")
    neither = chain(ScriptedLLM("Javad Owji [1]", p_yes=0.5), second_hop=False).answer(
        "Who welcomed Putin at Tehran's airport, Erdogan or Lukashenko?")
    assert not neither.answerable and neither.refusal_reason == "missing_terms"
    assert neither.missing_terms == ["Erdogan", "Lukashenko"]


def test_a_verdict_that_paraphrases_the_passage_is_grounded_when_its_names_are_there() -> None:
    ans = chain(ScriptedLLM("Yes, Putin's aircraft touched down at Mehrabad [1].", p_yes=0.9)).answer(
        "Did Putin's aircraft touch down at Mehrabad?")
    assert ans.answerable and ans.short_answer == "yes" and ans.sentences[0].supported


class TwoPassageRetriever:
    """The first query finds the airport passage; a query naming Erdogan finds the passage about him."""

    def __init__(self, erdogan_doc: str = "e") -> None:
        self.queries: list[str] = []
        self.erdogan_doc = erdogan_doc

    def retrieve(self, query, top_k, filters=None):
        self.queries.append(query)
        erdogan = query.startswith("Erdogan")
        text, doc = ("Erdogan landed in Tehran a day later.", self.erdogan_doc) if erdogan else (TEXT, "d")
        start = 200 if erdogan else 0  # apart from the airport passage, were they in one document
        return [Passage(chunk=Chunk(id=text[:5], doc_id=doc, source=f"{doc}.txt", title=doc.upper(), start=start,
                                    end=start + len(text), text=text), score=0.7, dense_score=0.7)]


def test_a_missing_name_is_searched_for_before_the_question_is_refused() -> None:
    llm = ScriptedLLM("Javad Owji [1]", p_yes=[0.5, 0.8])
    retriever = TwoPassageRetriever()
    ans = chain(llm, retriever, missing_name_hop_shapes=["factoid"]).answer(
        "Who welcomed Putin, whom Erdogan followed to Tehran?")
    assert retriever.queries[-1].startswith("Erdogan ")
    assert ans.missing_terms == [] and ans.answerable and ans.check == 0.8
    # the answer's passage never says Erdogan: another document of the context may (a bridge across articles),
    # another passage of its own article may not (an adversarial question's swapped name is often elsewhere in it)
    same = chain(ScriptedLLM("Javad Owji [1]", p_yes=[0.5, 0.8]), TwoPassageRetriever(erdogan_doc="d"),
                 missing_name_hop_shapes=["factoid"]).answer("Who welcomed Putin, whom Erdogan followed to Tehran?")
    assert not same.answerable and same.refusal_reason == "unstated_terms" and same.missing_terms == ["Erdogan"]
    assert any("Erdogan landed" in p.chunk.text for p in same.context)  # the hop found it, in the same article


def test_by_default_only_yes_no_comparison_and_multipart_questions_search_for_a_missing_name() -> None:
    """A factoid's missing name was mostly made up on the tuning questions: it stays missing, and refuses."""
    retriever = TwoPassageRetriever()
    ans = chain(ScriptedLLM("Javad Owji [1]", p_yes=[0.5, 0.8]), retriever).answer(
        "Who welcomed Putin, whom Erdogan followed to Tehran?")
    assert ans.shape == "factoid" and not any(q.startswith("Erdogan") for q in retriever.queries)
    assert not ans.answerable and ans.refusal_reason == "missing_terms" and ans.missing_terms == ["Erdogan"]
    retriever = TwoPassageRetriever()
    ans = chain(ScriptedLLM("Yes, Javad Owji welcomed Putin [1].", p_yes=[0.5, 0.8]), retriever,
                verdict_rules=False).answer("Was Putin, whom Erdogan followed to Tehran, welcomed by Javad Owji?")
    assert ans.shape == "yesno" and retriever.queries[-1].startswith("Erdogan ") and ans.missing_terms == []


def test_a_shape_may_refuse_below_its_own_check_threshold() -> None:
    """By default every shape refuses below check_min, 0.35; `check_min_by_shape` raises one shape's bar (it
    never lowers it below check_min)."""
    c = chain(ScriptedLLM())
    assert {c.check_min(s) for s in ("factoid", "list", "why", "yesno", "comparison", "multipart")} == {0.35}
    c = chain(ScriptedLLM(), check_min_by_shape={"why": 0.45, "list": 0.2})
    assert (c.check_min("why"), c.check_min("list"), c.check_min("factoid")) == (0.45, 0.35, 0.35)
    for p_yes, shape_min, answerable in ((0.4, 0.45, False), (0.4, 0.3, True), (0.5, 0.45, True)):
        ans = chain(ScriptedLLM("Javad Owji [1]", p_yes=p_yes), check_min_by_shape={"factoid": shape_min}).answer(
            "Who welcomed Putin?")
        assert ans.answerable is answerable, (p_yes, shape_min)
        assert answerable or (ans.refusal_reason == "check" and ans.check == p_yes)


def test_the_answer_sections_hold_back_and_reserved_tokens_are_used() -> None:
    """The opening of a reply is held back `holdback_chars` (13) to tell a refusal from an answer; the passages
    get the model's context less max_tokens and `reserved_tokens` (300)."""
    reply = "Javad Owji, the oil minister, welcomed Putin at the airport [1]."

    def first_delta(**policy: object) -> str:
        events = chain(ScriptedLLM(reply), **policy).stream("Who welcomed Putin?")
        return next(e.text for e in events if isinstance(e, Delta))

    assert first_delta() == reply[:15] and first_delta(holdback_chars=0) == reply[:5]
    assert first_delta(holdback_chars=40) == reply[:40]


def test_a_refusal_in_the_models_own_words_is_streamed_then_replaced() -> None:
    """Past the hold-back the reply streams; grounding rejects it and a `replace` ends the stream with the
    refusal, so the streamed text and the final answer agree."""
    events = list(chain(ScriptedLLM("The documents do not say who welcomed him.", p_yes=0.9)).stream(
        "Who welcomed Putin?"))
    final = events[-1].answer
    assert not final.answerable and any(isinstance(e, Delta) for e in events)
    assert isinstance(events[-2], Replace) and events[-2].text == final.answer
    assert chain(ScriptedLLM()).context_budget() == 150  # the budget, under 4096 - 256 - 300
    assert chain(ScriptedLLM(), reserved_tokens=3700).context_budget() == 4096 - 256 - 3700


def test_a_shape_can_have_its_own_context_budget() -> None:
    from rag.answer.shapes import classify

    c = chain(ScriptedLLM(), context_tokens_by_shape={"why": 320})
    why, factoid = classify("Why did Putin go to Tehran?"), classify("Who welcomed Putin?")
    assert why.shape == "why" and c.context_budget(why) == 320 and c.context_budget(why, hop=True) == 320
    assert c.context_budget(factoid) == 150 and c.context_budget(factoid, hop=True) == 250
    assert chain(ScriptedLLM(), context_tokens_by_shape={"why": 100}).context_budget(why, hop=True) == 250


def test_a_question_that_describes_what_it_asks_about_gets_the_long_context_budget() -> None:
    """"the president who flew to Tehran" is one fact and what is asked about him another: both must fit."""
    def budget(question: str, **policy: object) -> int:
        c = chain(ScriptedLLM("Javad Owji [1]", p_yes=0.9), **policy)
        budgets: list[int] = []
        assemble = c.assemble_context
        c.assemble_context = lambda passages, query, n: budgets.append(n) or assemble(passages, query, n)  # type: ignore[method-assign]
        c.answer(question)
        return budgets[0]

    described = "Who welcomed the president who flew to Tehran?"
    assert budget(described) == 250 and budget("Who welcomed Putin?") == 150
    assert budget(described, bridge_context=False) == 150


def test_a_factoid_answer_whose_passage_never_states_a_name_of_the_question_is_refused() -> None:
    """"Who welcomed Putin in Isfahan?" answered from a passage about Tehran answers another question. The
    check is high (0.9), so the retrieval-wide missing-terms rule lets it through; the cited passage decides."""
    q = "Who welcomed Putin in Isfahan?"
    events = list(chain(ScriptedLLM("Javad Owji [1]", p_yes=0.9)).stream(q))
    final = events[-1].answer
    assert not final.answerable and final.refusal_reason == "unstated_terms" and final.missing_terms == ["Isfahan"]
    assert final.rejected == "Javad Owji [1]" and isinstance(events[-2], Replace)
    assert chain(ScriptedLLM("Javad Owji [1]", p_yes=0.9), unstated_terms_shapes=[]).answer(q).answerable
    assert chain(ScriptedLLM("Javad Owji [1]", p_yes=0.9)).answer("Who welcomed Putin in Tehran?").answerable
    # the paragraph the cited passage was cut from says the name: the passage is about it after all
    seen: list[str] = []

    def paragraph(chunk: Chunk) -> str:
        seen.append(chunk.doc_id)
        return "Putin flew on to Isfahan the next day. " + chunk.text

    assert chain(ScriptedLLM("Javad Owji [1]", p_yes=0.9), paragraph=paragraph).answer(q).answerable and seen == ["d"]
    assert not chain(ScriptedLLM("Javad Owji [1]", p_yes=0.9), paragraph=paragraph,
                     unstated_paragraph=False).answer(q).answerable
    # a paragraph that does not say it either changes nothing
    refused = chain(ScriptedLLM("Javad Owji [1]", p_yes=0.9), paragraph=lambda chunk: chunk.text).answer(q)
    assert refused.refusal_reason == "unstated_terms" and refused.missing_terms == ["Isfahan"]
    # a question that describes something by a clause takes that fact from another passage
    assert chain(ScriptedLLM("Javad Owji [1]", p_yes=0.9)).answer(
        "Who welcomed the president who had flown from Isfahan?").answerable


def test_an_answer_the_verification_doubts_is_replaced_by_the_refusal() -> None:
    """After the answer, the model reads it back against the passages (the answer prompt's prefix, so only the
    proposed answer and the question are new tokens); below the shape's threshold the stream is replaced."""
    llm = ScriptedLLM("Javad Owji [1]", p_yes=0.9, p_verify=0.2)
    events = list(chain(llm, verify=True, verify_min_by_shape={"factoid": 0.3}).stream("Who welcomed Putin?"))
    text, final = played(events)
    assert not final.answerable and final.refusal_reason == "verify" and final.verify == 0.2
    assert final.rejected == "Javad Owji [1]" and any(isinstance(e, Replace) for e in events)
    assert text == final.answer == chain(llm).prompts.refusal
    asked = llm.verifies[0][1]["content"]
    assert asked.startswith(llm.calls[0][1]["content"]) and "Proposed answer: Javad Owji\n" in asked


def test_the_verification_refuses_only_the_shapes_it_has_a_threshold_for() -> None:
    default = chain(ScriptedLLM("Javad Owji [1]", p_yes=0.9, p_verify=0.0)).answer("Who welcomed Putin?")
    assert default.answerable and default.verify is None  # off by default (it did not pay its time on tune)
    for p_verify, mins, answerable in ((0.2, {}, True), (0.2, {"why": 0.3}, True), (0.4, {"factoid": 0.3}, True),
                                       (0.2, {"factoid": 0.3}, False)):
        ans = chain(ScriptedLLM("Javad Owji [1]", p_yes=0.9, p_verify=p_verify),
                    verify=True, verify_min_by_shape=mins).answer("Who welcomed Putin?")
        assert ans.answerable is answerable and ans.verify == p_verify, (p_verify, mins)
    off = ScriptedLLM("Javad Owji [1]", p_yes=0.9, p_verify=0.2)
    assert chain(off, verify=False, verify_min_by_shape={"factoid": 0.3}).answer("Who welcomed Putin?").answerable
    assert off.verifies == []


def test_a_prompts_folder_made_before_the_verification_still_loads(tmp_path) -> None:
    import shutil

    folder = tmp_path / "prompts"
    shutil.copytree(packaged_prompts(), folder)
    (folder / "verify.txt").unlink()
    assert "Proposed answer: {answer}" in Prompts.load(folder).verify.template


def test_an_explanation_ends_after_its_sentence_and_the_model_is_stopped() -> None:
    """`max_sentences_by_shape` (why: 1 here): the second sentence is neither streamed nor kept, and the
    model's stream is closed there rather than read to its end. By default (why: 2), two sentences."""
    read: list[str] = []

    class Stopped(ScriptedLLM):
        def stream_chat(self, messages, max_tokens, temperature, usage=None):
            for piece in super().stream_chat(messages, max_tokens, temperature, usage):
                read.append(piece)
                yield piece

    reply = ("He was welcomed by the oil minister, Javad Owji [1]. Putin's plane landed at Tehran's Mehrabad "
             "airport [1]. The plane landed at Mehrabad [1].")
    events = list(chain(Stopped(reply, p_yes=0.9), max_sentences_by_shape={"why": 1}).stream(
        "Why was Putin welcomed by the oil minister?"))
    final = events[-1].answer
    assert final.shape == "why" and final.answer == "He was welcomed by the oil minister, Javad Owji [1]."
    assert "".join(e.text for e in events if isinstance(e, Delta)) == final.answer
    assert "".join(read).startswith(final.answer[:-5]) and len("".join(read)) < 70  # stopped early
    whole = chain(ScriptedLLM(reply, p_yes=0.9), max_sentences_by_shape={}).answer(
        "Why was Putin welcomed by the oil minister?")
    assert whole.answer.count("[1]") == 3
    two = chain(ScriptedLLM(reply, p_yes=0.9)).answer("Why was Putin welcomed by the oil minister?")
    assert two.answer.count("[1]") == 2 and two.answer.endswith("Mehrabad airport [1].")


def test_an_unsupported_opening_does_not_use_up_the_explanations_sentence() -> None:
    """The cap counts supported sentences: an opening that only frames the answer is kept, the sentence that
    answers follows, and the model is stopped after it. Three unsupported sentences end the answer (refused)."""
    opening = "There were two quite distinct considerations behind this choice [1]. "
    reply = (opening + "He was welcomed by the oil minister, Javad Owji [1]. Putin's plane landed at Tehran's "
             "Mehrabad airport [1].")
    ans = chain(ScriptedLLM(reply, p_yes=0.9), max_sentences_by_shape={"why": 1}).answer(
        "Why was Putin welcomed by the oil minister?")
    assert ans.answerable and [x.supported for x in ans.sentences] == [False, True]
    assert ans.answer.endswith("Javad Owji [1].") and "Mehrabad" not in ans.answer
    rambling = ScriptedLLM(opening * 3 + "He was welcomed by the oil minister, Javad Owji [1].", p_yes=0.9)
    refused = chain(rambling, max_sentences_by_shape={"why": 1}).answer("Why was Putin welcomed by the oil minister?")
    assert not refused.answerable and refused.refusal_reason == "unsupported"
    assert refused.rejected is not None and "Javad Owji" not in refused.rejected
