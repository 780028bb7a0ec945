from __future__ import annotations

from rag.answer.citations.stream import CitationStream, best_quote, is_refusal, verify
from rag.config import AnswerSettings
from rag.types import Chunk, Passage

DOC = ("Putin's plane landed at Tehran's Mehrabad airport in the afternoon. This was Putin's fifth visit "
       "to Iran as president. He had previously visited the country in 2007, 2015, 2017 and 2018.\n\n"
       "Gazprom signed a memorandum worth about 40 billion dollars. It covers the Kish and North Pars gas "
       "fields.\n\nErdogan threatened an operation against the YPG militia in northern Syria.")


def passages() -> list[Passage]:
    out = []
    for i, para in enumerate(DOC.split("\n\n")):
        start = DOC.index(para)
        out.append(Passage(chunk=Chunk(id=f"c{i}", doc_id="d", source="d.txt", title="D", start=start,
                                       end=start + len(para), text=para), score=0.8 - i * 0.1))
    return out


def check_offsets(citations) -> None:
    for c in citations:
        assert DOC[c.start:c.end] == c.quote


def test_valid_marker_kept_and_quote_is_the_supporting_sentence() -> None:
    text, cites = verify("It was Putin's fifth visit to Iran [1].", passages(), "How many visits?")
    assert text == "It was Putin's fifth visit to Iran [1]."
    assert [c.marker for c in cites] == [1]
    assert cites[0].quote == "This was Putin's fifth visit to Iran as president."
    check_offsets(cites)


def test_out_of_range_marker_is_removed_and_sentence_reattributed() -> None:
    text, cites = verify("The memorandum was worth about 40 billion dollars [7].", passages(), "Worth?")
    assert "[7]" not in text
    assert text == "The memorandum was worth about 40 billion dollars [2]."
    assert cites[0].marker == 2 and "40 billion dollars" in cites[0].quote
    check_offsets(cites)


def test_missing_marker_is_attributed_to_the_best_passage() -> None:
    text, cites = verify("Erdogan threatened the YPG militia in northern Syria.", passages(), "Who?")
    assert text == "Erdogan threatened the YPG militia in northern Syria [3]."
    assert cites[0].marker == 3


def test_unsupported_sentence_stays_uncited() -> None:
    text, cites = verify("The weather was sunny and warm.", passages(), "Weather?")
    assert text == "The weather was sunny and warm."
    assert cites == []


def test_repeated_markers_give_one_citation() -> None:
    text, cites = verify("He landed at Mehrabad airport [1][1]. It was his fifth visit [1, 1].", passages(),
                         "Where did he land?")
    assert text == "He landed at Mehrabad airport [1]. It was his fifth visit [1]."
    assert len(cites) == 1


def test_miscited_marker_moves_to_the_passage_that_supports_it() -> None:
    text, cites = verify("Gazprom's memorandum covers the Kish and North Pars gas fields [3].", passages(),
                         "Which fields?")
    assert text.endswith("[2].")
    # the claim draws on two sentences (Gazprom's memorandum + the fields), so both are quoted
    assert cites[0].quote.endswith("It covers the Kish and North Pars gas fields.")
    check_offsets(cites)


def test_marker_after_the_full_stop_belongs_to_the_sentence_before() -> None:
    text, _ = verify("He landed at Mehrabad airport. [1] Gazprom signed a memorandum. [2]", passages(), "?")
    assert text == "He landed at Mehrabad airport [1]. Gazprom signed a memorandum [2]."


def test_streamed_deltas_add_up_to_the_verified_answer() -> None:
    raw = "Putin's plane landed at Mehrabad airport [9]. It was the U.S. view that Gazprom signed a memorandum."
    whole, cites = verify(raw, passages(), "Where did he land?")
    for size in (1, 2, 3, 7):
        stream = CitationStream(passages(), "Where did he land?")
        deltas = [stream.feed(raw[i:i + size]) for i in range(0, len(raw), size)] + [stream.finish()]
        assert "".join(deltas) == whole
        assert [c.marker for c in stream.citations()] == [c.marker for c in cites]
    assert whole == ("Putin's plane landed at Mehrabad airport [1]. "
                     "It was the U.S. view that Gazprom signed a memorandum [2].")


def test_abbreviations_and_decimals_do_not_end_sentences() -> None:
    text, _ = verify("Dr. Owji said 40.5 billion dollars went to Gazprom's memorandum.", passages(), "?")
    assert text == "Dr. Owji said 40.5 billion dollars went to Gazprom's memorandum [2]."


def test_quote_prefers_the_sentence_with_the_new_fact() -> None:
    p = passages()[0]
    s, e = best_quote(p, {"2007", "2015", "2017", "2018", "putin", "visit"}, {"putin", "visit", "year"})
    assert "2007, 2015" in p.chunk.text[s:e]


def test_refusals_are_recognised() -> None:
    assert is_refusal("I don't know.")
    assert is_refusal("I don’t know based on the passages.")
    assert is_refusal("The passages do not mention the weather.")
    assert is_refusal("")
    assert not is_refusal("Putin landed at Mehrabad airport [1].")
    assert not is_refusal("He visited in 2007 [1]. The passages do not mention the 2019 trip.")


def test_terse_numeric_answer_is_attributed_through_the_question() -> None:
    text, cites = verify("Five times.", passages(), "How many times had Putin visited Iran?")
    assert text == "Five times [1]."
    assert cites[0].quote == "This was Putin's fifth visit to Iran as president."


def test_number_words_match_digits_and_ordinals() -> None:
    from rag.answer.citations.stream import content_words

    assert content_words("five") == content_words("fifth") == content_words("5") == {"5"}


def test_a_marker_on_a_passage_without_the_answers_words_moves_to_the_one_with_them() -> None:
    from rag.answer.citations.stream import verify
    from rag.types import Chunk, Passage

    texts = ["The Turkish president joined the talks in Tehran on Tuesday.",
             "Recep Tayyip Erdogan, Turkey's president, arrived later."]
    ps = [Passage(chunk=Chunk(id=str(i), doc_id="d", source="d.txt", title="D", start=0, end=len(t), text=t),
                  score=1.0) for i, t in enumerate(texts)]
    text, cites = verify("Recep Tayyip Erdogan [1]", ps, "Which Turkish president took part in the talks in Tehran?")
    assert text == "Recep Tayyip Erdogan [2]" and [c.marker for c in cites] == [2]


def test_the_thresholds_are_the_answer_sections() -> None:
    """The checker acts on the policy it is given: a stricter support_min rejects what the default accepts (3 of
    4 own words found), and attribute_min 0 cites a sentence the default leaves uncited."""

    def judged(answer: str, policy: AnswerSettings | None = None) -> CitationStream:
        stream = CitationStream(passages(), "How many visits?", policy=policy)
        stream.feed(answer)
        stream.finish()
        return stream

    visit = "It was Putin's fifth visit to Iran in the summer [1]."
    assert [s.supported for s in judged(visit).sentences] == [True]
    assert [s.supported for s in judged(visit, AnswerSettings(support_min=0.9)).sentences] == [False]
    weather = "The weather was sunny in Tehran."
    assert judged(weather).text == weather
    assert judged(weather, AnswerSettings(attribute_min=0.0)).text == "The weather was sunny in Tehran [1]."


def test_a_verdict_of_a_shape_outside_support_shapes_stands_on_what_it_names() -> None:
    """A "No" rests on what the passages leave out: a yes/no answer (outside support_shapes by default) is
    answered, cited to the passage it shares words with and to the one naming what that passage does not;
    inside support_shapes it is refused. A "Yes" still may not affirm a name no passage states."""
    films = ["Kaalapani is a 1996 Indian drama film directed by Priyadarshan.",
             "Leaving Home is a documentary film on the band Indian Ocean, directed by Jaideep Varma."]
    ps = [Passage(chunk=Chunk(id=str(i), doc_id=str(i), source="d.txt", title="", start=0, end=len(t), text=t),
                  score=1.0) for i, t in enumerate(films)]
    question = "Were Kaalapani and Leaving Home directed by the same person?"
    answer = "No, Kaalapani and Leaving Home were not directed by the same person [1]."

    def judged(text: str, policy: AnswerSettings, passages_: list[Passage] = ps, q: str = question) -> CitationStream:
        stream = CitationStream(passages_, q, "yesno", policy)
        stream.feed(text)
        stream.finish()
        return stream

    every = ["factoid", "yesno", "comparison", "list", "why", "multipart"]
    strict = judged(answer, AnswerSettings(support_shapes=every))
    assert not strict.answered and strict.text == answer  # the cited passage never names Leaving Home
    read = judged(answer, AnswerSettings())
    assert read.answered
    assert read.text == "No, Kaalapani and Leaving Home were not directed by the same person [1][2]."
    assert [c.marker for c in read.citations()] == [1, 2]
    unmarked = judged("No, there is no charge on Sunday in Tehran.", AnswerSettings(), passages(),
                      "Is there a congestion charge in Tehran on Sunday?")
    assert unmarked.answered and [c.marker for c in unmarked.citations()] == [1]
    # shares no word with any passage: nothing to stand on
    assert not judged("Yes, the weather was sunny and warm.", AnswerSettings(), passages(), "Is it sunny?").answered
    made_up = judged("Yes, Kaalapani was directed by Mani Ratnam [1].", AnswerSettings(),
                     q="Was Kaalapani directed by Mani Ratnam?")
    assert not made_up.answered
    assert judged("No, Kaalapani was directed by Priyadarshan [1].", AnswerSettings(),
                  q="Was Kaalapani directed by Mani Ratnam?").answered
