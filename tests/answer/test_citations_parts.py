"""The citation checker's four parts, each on its own: lexer, attribution policy, grounding, quotes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag.answer.citations.attribution import Attribution
from rag.answer.citations.evidence import PassageWords
from rag.answer.citations.grounding import Grounding
from rag.answer.citations.lexer import MARKER, MarkerLexer, SentenceEnd, lex, marker_numbers, strip_markers
from rag.answer.citations.quotes import best_quote, citation
from rag.config import AnswerSettings
from rag.text.words import content_words
from rag.types import Chunk, Passage
from tests.answer.test_citations import DOC, passages

# -- lexer: markers and sentence ends, no policy


def test_lexer_gives_each_sentence_its_markers_and_offsets_in_the_marker_free_text() -> None:
    text = "Putin landed in Tehran [1]. It was his fifth visit [2, 3]. No marker here"
    sentences = lex(text)
    clean = MARKER.sub("", text).replace(" .", ".")
    assert [s.text for s in sentences] == ["Putin landed in Tehran", "It was his fifth visit", "No marker here"]
    assert [s.markers for s in sentences] == [(1,), (2, 3), ()]
    assert [clean[s.start:s.end] for s in sentences] == [s.text for s in sentences]


def test_lexer_does_not_end_a_sentence_after_an_abbreviation_or_an_initial() -> None:
    assert [s.text for s in lex("Dr. Smith met J. Doe in the U.S. capital. They talked.")] == [
        "Dr. Smith met J. Doe in the U.S. capital", "They talked"]


def test_a_marker_after_the_full_stop_belongs_to_the_sentence_before_it() -> None:
    assert [(s.text, s.markers) for s in lex("Tehran. [1] Next one [2].")] == [("Tehran", (1,)), ("Next one", (2,))]


def test_lexer_holds_what_may_still_become_a_marker_or_a_sentence_end() -> None:
    lexer = MarkerLexer()
    assert strip_markers(lexer.feed("Putin [")) == "Putin"
    assert lexer.feed("1") == []
    assert strip_markers(lexer.feed("] landed.")) == " landed"  # the full stop waits for what follows
    tokens = lexer.finish()
    assert len(tokens) == 1 and isinstance(tokens[0], SentenceEnd)
    assert tokens[0].run == "." and tokens[0].sentence.markers == (1,)


def test_brackets_that_are_no_marker_stay_text() -> None:
    assert [s.text for s in lex("A list [see below] follows.")] == ["A list [see below] follows"]
    assert marker_numbers("[1, 3] and [2; 4] but not [x]") == [1, 3, 2, 4]


@given(st.text(alphabet="ab .[]12,\n?", max_size=60), st.lists(st.integers(0, 60), max_size=6))
def test_the_lexer_is_the_same_however_the_text_is_split(text: str, cuts: list[int]) -> None:
    whole = MarkerLexer()
    at_once = whole.feed(text) + whole.finish()
    split = MarkerLexer()
    pieces, pos = [], 0
    for c in sorted(set(min(c, len(text)) for c in cuts)):
        pieces += split.feed(text[pos:c])
        pos = c
    pieces += split.feed(text[pos:]) + split.finish()
    assert strip_markers(pieces) == strip_markers(at_once)
    assert [t.sentence for t in pieces if isinstance(t, SentenceEnd)] == \
        [t.sentence for t in at_once if isinstance(t, SentenceEnd)]
    clean = strip_markers(at_once)
    for t in at_once:
        if isinstance(t, SentenceEnd):
            assert clean[t.sentence.start:t.sentence.end] == t.sentence.text


# -- attribution policy


def attribution(question: str, policy: AnswerSettings | None = None) -> Attribution:
    return Attribution(PassageWords.of(passages()), content_words(question), policy or AnswerSettings())


def test_a_valid_marker_is_kept_and_one_out_of_range_is_replaced_by_the_best_passage() -> None:
    policy = attribution("Worth?")
    words = content_words("The memorandum was worth about 40 billion dollars")
    assert policy.cite(words, [2]) == [2]
    assert policy.cite(words, [7]) == [2]
    assert policy.cite(words, []) == [2]


def test_a_miscited_sentence_moves_to_the_passage_with_its_words() -> None:
    assert attribution("Worth?").cite(content_words("Gazprom signed a memorandum worth 40 billion"), [3]) == [2]


def test_a_sentence_no_passage_holds_is_left_uncited() -> None:
    assert attribution("Weather?").cite(content_words("It was sunny and warm all week"), []) == []
    assert attribution("Weather?").cite(set(), [1]) == []


def test_attribution_acts_on_its_thresholds() -> None:
    words = content_words("Putin arrived in the afternoon with friends and a dog")
    assert attribution("When?").cite(words, []) == []
    assert attribution("When?", AnswerSettings(attribute_min=0.0)).cite(words, []) == [1]


# -- grounding checker


def grounding(question: str, restates: bool = False) -> Grounding:
    return Grounding(passages(), PassageWords.of(passages()), content_words(question), restates, AnswerSettings())


def test_a_sentence_is_supported_by_the_passage_holding_its_own_words() -> None:
    sentence = "Gazprom signed a memorandum worth 40 billion dollars"
    support, supported = grounding("What did Gazprom sign?").check(sentence, content_words(sentence), [2])
    assert support == 1.0 and supported


def test_words_the_question_supplied_support_nothing() -> None:
    sentence = "Gazprom signed it"
    assert grounding("What did Gazprom sign?").check(sentence, content_words(sentence), [2]) == (0.0, False)
    assert grounding("What did Gazprom sign?").check("Sunny", content_words("Sunny"), [2]) == (0.0, False)


def test_an_uncited_sentence_is_unsupported() -> None:
    sentence = "Gazprom signed a memorandum"
    assert grounding("What?").check(sentence, content_words(sentence), []) == (0.0, False)


def test_a_restated_verdict_needs_every_name_it_states() -> None:
    q = "Did Putin visit Iran for the fifth time?"
    ok = "Yes, Putin visited Iran for the fifth time"
    bad = "Yes, Putin visited Iran for the fifth time with Raisi"
    assert grounding(q, restates=True).check(ok, content_words(ok), [1])[1]
    assert grounding(q, restates=True).check(bad, content_words(bad), [1]) == (0.0, False)


def test_the_claim_must_sit_in_a_passage_sentence_about_the_question() -> None:
    check = grounding("Who won the World Cup?")
    assert not check.about_question(content_words("Erdogan"), [3])
    assert grounding("Whom did Erdogan threaten?").about_question(content_words("YPG militia"), [3])


# -- quote extractor


def test_the_quote_is_the_sentence_carrying_the_claims_new_words() -> None:
    p = passages()[0]
    s, e = best_quote(p, content_words("Putin had visited in 2007"), content_words("When did Putin visit?"))
    assert p.chunk.text[s:e] == "He had previously visited the country in 2007, 2015, 2017 and 2018."


def test_a_claim_split_across_two_sentences_quotes_both() -> None:
    p = passages()[1]
    s, e = best_quote(p, content_words("a memorandum worth 40 billion covering Kish and North Pars"), set())
    assert p.chunk.text[s:e] == p.chunk.text


@pytest.mark.parametrize("marker", [1, 2, 3])
def test_a_citation_quotes_with_offsets_in_the_document(marker: int) -> None:
    p = passages()[marker - 1]
    c = citation(marker, p, content_words(p.chunk.text.split(".")[0]), set())
    assert c.marker == marker and DOC[c.start:c.end] == c.quote and c.passage == p.chunk.text


def test_a_passage_without_sentence_ends_is_quoted_whole() -> None:
    p = Passage(chunk=Chunk(id="x", doc_id="d", source="d.txt", title="D", start=5, end=9, text="   "), score=0.1)
    assert best_quote(p, {"x"}, set()) == (0, 3)
