"""A bridge question answered with its bridge is asked again about the bridge (rag/answer/rules/bridge.py,
rag/answer/steps/reask.py)."""

from __future__ import annotations

from rag.answer.rules.bridge import bridged_question, described_answer
from rag.types import Chunk, Passage
from tests.answer.test_chain import ScriptedLLM, chain
from tests.conftest import played

KENYA = "The Republic of Kenya is named after Mount Kenya, a landmark in the highlands."
PEAKS = "Mount Kenya has snow permanently on its peaks, although it lies on the equator."
Q_KENYA = "What does the mountain after which the Republic of Kenya is named have permanently on its peaks?"
PEAKS_QUESTION = "What does Mount Kenya have permanently on its peaks?"


def passages(*texts: str) -> list[Passage]:
    return [Passage(chunk=Chunk(id=f"c{i}", doc_id=f"d{i}", source=f"d{i}.txt", title="D", start=0, end=len(t), text=t),
                    score=0.7, dense_score=0.7) for i, t in enumerate(texts)]


class ListRetriever:
    def __init__(self, *texts: str) -> None:
        self.found = passages(*texts)
        self.queries: list[str] = []

    def retrieve(self, query, top_k, filters=None):
        self.queries.append(query)
        return self.found


def test_the_described_thing_is_found_and_the_question_asked_about_it() -> None:
    found = described_answer(Q_KENYA, "Mount Kenya", passages(KENYA), 0.4)
    assert found is not None and found.head == "mountain"
    assert found.description == "the mountain after which the Republic of Kenya is named"
    assert bridged_question(Q_KENYA, found) == "What does Mount Kenya have permanently on its peaks?"


def test_a_surname_names_the_answer() -> None:
    q = 'At the Diet of Worms, whose assistant was the theologian who had branded Luther "a new Jan Hus"?'
    found = described_answer(q, "Johann Eck", passages("For this, Eck branded Luther a new Jan Hus."), 0.4)
    assert found is not None and bridged_question(q, found) == "At the Diet of Worms, whose assistant was Johann Eck?"


def test_the_description_ends_at_its_last_content_word_the_sentence_says() -> None:
    # "on" and "its" in the sentence do not pull the question's own words into the description
    found = described_answer(Q_KENYA, "Mount Kenya", passages(
        "The Republic of Kenya is named after Mount Kenya, which stands on its own."), 0.4)
    assert found is not None and bridged_question(Q_KENYA, found) == PEAKS_QUESTION


def test_a_question_that_asks_what_the_thing_is_called_is_left_alone() -> None:
    q = "What do we call the mountain after which the Republic of Kenya is named?"
    assert described_answer(q, "Mount Kenya", passages(KENYA), 0.4) is None


def test_answers_that_are_not_the_bridge_are_left_alone() -> None:
    hotel = passages("Westinghouse paid Tesla's rent at the Hotel New Yorker, where he died.")
    # the sentence says the head ("hotel") and the whole question: the answer is what was asked
    assert described_answer("Which company paid Tesla's rent at the hotel where he died?", "Westinghouse",
                            hotel, 0.4) is None
    # the question asks for the described thing itself
    assert described_answer("Who was the engineer who designed the tower?", "Gustave Eiffel",
                            passages("The engineer Gustave Eiffel designed the tower."), 0.4) is None
    # a number or date is an attribute, never the bridge
    assert described_answer("In what year did the stadium that hosted Super Bowl 50 open?", "2014",
                            passages("The stadium that hosted Super Bowl 50 opened in 2014."), 0.4) is None
    # too little of the description in the sentence
    assert described_answer(Q_KENYA, "Mount Kenya", passages("Mount Kenya is a landmark."), 0.4) is None


def test_the_chain_replaces_a_bridge_answer_with_the_answer_about_it() -> None:
    retriever = ListRetriever(KENYA, PEAKS)
    llm = ScriptedLLM("Mount Kenya [1].", "Snow [1].", p_yes=0.9)
    events = list(chain(llm, retriever).stream(Q_KENYA))
    text, final = played(events)
    assert final.answerable and text == final.answer == "Snow [1]." and PEAKS.startswith(final.citations[0].quote)
    assert final.query == PEAKS_QUESTION and final.check == 0.9
    assert "Mount Kenya have permanently" in llm.calls[1][1]["content"]
    assert any("Mount Kenya" in q for q in retriever.queries[1:])  # the bridge's own retrieval


def test_the_same_answer_again_keeps_the_first() -> None:
    llm = ScriptedLLM("Mount Kenya [1].", "Mount Kenya [1].", p_yes=0.9)
    text, final = played(chain(llm, ListRetriever(KENYA, PEAKS)).stream(Q_KENYA))
    assert text == final.answer == "Mount Kenya [1]." and final.query == Q_KENYA and len(llm.calls) == 2


def test_a_rewritten_question_the_passages_do_not_answer_keeps_the_first_answer() -> None:
    llm = ScriptedLLM("Mount Kenya [1].", "Snow [1].", p_yes=[0.9, 0.2])  # the check, then the bridge's check
    text, final = played(chain(llm, ListRetriever(KENYA, PEAKS)).stream(Q_KENYA))
    assert text == final.answer == "Mount Kenya [1]." and len(llm.calls) == 1 and len(llm.checks) == 2


def test_the_first_answer_said_again_in_more_words_is_kept() -> None:
    llm = ScriptedLLM("Mount Kenya [1].", "Mount Kenya, a landmark in the highlands [1].", p_yes=0.9)
    text, final = played(chain(llm, ListRetriever(KENYA, PEAKS)).stream(Q_KENYA))
    assert text == final.answer == "Mount Kenya [1]." and final.short_answer == "Mount Kenya"


def test_off_by_setting() -> None:
    llm = ScriptedLLM("Mount Kenya [1].", p_yes=0.9)
    _, final = played(chain(llm, ListRetriever(KENYA, PEAKS), bridge_reask=False).stream(Q_KENYA))
    assert final.answer == "Mount Kenya [1]." and len(llm.calls) == 1
