"""The yes/no verdict read from the passages (rag/answer/rules/verdict.py), on passages written for the test."""

from __future__ import annotations

import pytest

from rag.answer.rules.verdict import choose, decide
from rag.types import Chunk, Passage


def ps(*texts: str) -> list[Passage]:
    return [Passage(chunk=Chunk(id=str(i), doc_id="d", source="d.txt", title="D", start=0, end=len(t), text=t),
                    score=1.0) for i, t in enumerate(texts)]


PASSAGES = ps(
    "Putin's plane landed at Tehran's Mehrabad airport in the afternoon, where he was welcomed by Iran's oil "
    "minister, Javad Owji. This was Putin's fifth visit to Iran as president.",
    "The journey was only his second trip abroad since Russian troops invaded Ukraine in February. After the "
    "invasion of Ukraine, Finland and Sweden applied to join the alliance in May.",
    "Tesla moved to Budapest in 1881. In 1882, Tesla began working for the Continental Edison Company in "
    "France.",
    "In 1507, he was ordained to the priesthood, and in 1508, von Staupitz sent for Luther to teach theology.",
)


@pytest.mark.parametrize("question, answer, reason", [
    ("Was Putin welcomed at Mehrabad airport by Ebrahim Raisi?", "no", "Ebrahim Raisi / "),
    ("Was the journey his first trip abroad since Russian troops invaded Ukraine?", "no", "first / second"),
    ("Did Finland and Sweden apply to join the alliance before the invasion of Ukraine?", "no", "before / after"),
    ("Did Tesla begin working for the Continental Edison Company before he moved to Budapest?", "no",
     "1882 before 1881"),
    ("Did Tesla move to Budapest before he began working for the Continental Edison Company?", "yes",
     "1881 before 1882"),
    ("Was Luther ordained to the priesthood in 1508?", "no", "1508 / 1507"),
])
def test_the_text_decides(question: str, answer: str, reason: str | None) -> None:
    v = decide(question, PASSAGES)
    assert v is not None and v.answer == answer, v
    if reason:
        assert v.reason.startswith(reason)


def test_a_sentence_stating_every_name_is_left_to_the_model() -> None:
    """"by the president" where the passage says "by the oil minister": the names agree, the role does not."""
    v = decide("Was Putin welcomed at Mehrabad airport by Iran's president?", PASSAGES)
    assert v is not None and v.answer is None


def test_the_deciding_sentence_is_quoted_from_the_passage() -> None:
    v = decide("Was Putin welcomed at Mehrabad airport by Javad Owji?", PASSAGES)
    assert v is not None and v.answer is None
    text = PASSAGES[v.passage].chunk.text[v.span[0]:v.span[1]]
    assert text.startswith("Putin's plane landed") and "Javad Owji" in text


def test_the_deciding_sentence_does_not_run_across_a_paragraph_break() -> None:
    """A paragraph document starts with its title: "Martin Luther" and the next sentence are not one fact."""
    passages = ps("Martin Luther\n\nDespite the disagreements on the Eucharist, the Marburg Colloquy paved the way "
                  "for the signing in 1530 of the Augsburg Confession.")
    v = decide("Did Martin Luther attend the Marburg Colloquy before the Augsburg Confession was signed?", passages)
    assert v is not None
    assert passages[0].chunk.text[v.span[0]:v.span[1]].startswith("Despite the disagreements")


def test_left_to_the_model_when_no_sentence_holds_the_question() -> None:
    v = decide("Did the Brazilian football team win the 1970 World Cup in Mexico?", PASSAGES)
    assert v is None or v.answer is None


def test_a_choice_is_the_option_in_the_sentence_that_holds_the_rest_of_the_question() -> None:
    c = choose("Who welcomed Putin at Mehrabad airport, Javad Owji or Ebrahim Raisi?", ("Javad Owji", "Ebrahim Raisi"),
               PASSAGES)
    assert c is not None and c.option == "Javad Owji"
    assert "welcomed" in PASSAGES[c.passage].chunk.text[c.span[0]:c.span[1]]


def test_a_choice_by_the_years_the_passages_give() -> None:
    c = choose("Which came first, the move to Budapest or the Continental Edison Company job?",
               ("the move to Budapest", "the Continental Edison Company job"), PASSAGES)
    assert c is not None and c.option == "the move to Budapest" and c.reason == "1881 / 1882"


def test_a_choice_by_the_year_of_what_the_question_asks_about() -> None:
    # each side's sentence has two years; the one nearest "lit by electric light" is the one asked about, and
    # of two sentences naming Mosley Street the one that says what happened to it is read
    passages = ps("Founded in 1793 as a conversation club, the Lit and Phil saw its lecture theatre become the "
                  "first public building lit by electric light in 1880.",
                  "Mosley Street was widened in 1850 for the new theatre.",
                  "Mosley Street, laid out in 1784, became the first road lit by electric light on 3 February 1879.")
    c = choose("Which was lit by electric light first: Mosley Street or the Lit and Phil?",
               ("Mosley Street", "the Lit and Phil"), passages)
    assert c is not None and c.option == "Mosley Street" and c.reason == "1879 / 1880"


def test_no_choice_when_neither_option_is_in_the_passages() -> None:
    assert choose("Who arrived first, Erdogan or Assad?", ("Erdogan", "Assad"), PASSAGES) is None


def test_a_year_in_the_clause_that_holds_the_question_is_not_a_no() -> None:
    """The clause holding the question gives its year: nothing else is stated, the model decides."""
    v = decide("Was Luther ordained to the priesthood in 1507?", PASSAGES)
    assert v is not None and v.answer is None, v
    v = decide("Did von Staupitz send for Luther to teach theology in 1508?", PASSAGES)
    assert v is not None and v.answer is None, v


def test_a_number_that_is_part_of_a_name_is_not_a_fact_the_sentence_must_repeat() -> None:
    """"in Super Bowl 50" names the game; "24-10" in the sentence about it is no other number in its place."""
    game = ps("The Broncos were the designated home team. The Broncos beat the Panthers 24-10 in that Super Bowl.")
    v = decide("Did the Broncos beat the Panthers in Super Bowl 50?", game)
    assert v is not None and v.answer is None, v
    v = decide("Did the Broncos beat the Panthers 24-12?", game)
    assert v is not None and v.answer == "no", v


@pytest.mark.parametrize("question, text, answer", [
    ("Did Putin land in Tehran in 2022?", "Putin landed in Tehran on 19 July, and the 2022 summit began.", None),
    ("Did Tesla move to Budapest in 1881?", "Tesla moved to Budapest with 2 friends, and in 1881 he began work.", None),
    ("Was Luther ordained to the priesthood in May 1508?", "Luther was ordained to the priesthood in April 1507.",
     "no"),
    ("Did the Broncos beat the Panthers 17-10 in that Super Bowl?",
     "The Broncos beat the Panthers 24-10 in that Super Bowl.", "no"),
    ("Did the Broncos win Super Bowl 49?", "The Broncos won Super Bowl 50.", "no"),
])
def test_numbers_that_are_not_years_or_not_names_keep_their_meaning(question: str, text: str,
                                                                     answer: str | None) -> None:
    """Only a year decides the clause rule (a day or a count in the clause is no other year); a month's
    number, a score and a name's number the sentence gives otherwise still make a no."""
    v = decide(question, ps(text))
    assert v is not None and v.answer == answer, v


CLAUSES = ps("Putin told Raisi that trade between the two countries was growing at record rates and that their "
             "cooperation on international security was deepening.")


@pytest.mark.parametrize("question, option", [
    ("According to Putin, was it Russia-Iran trade or their security cooperation that was growing at record rates?",
     "Russia-Iran trade"),
    ("According to Putin, was it Russia-Iran trade or their security cooperation that was deepening?",
     "their security cooperation"),
])
def test_a_sentence_naming_both_options_decides_by_the_clause_that_holds_the_question(question: str,
                                                                                      option: str) -> None:
    """One option is named by its last word alone ("trade"); each clause names one option, and the clause with the
    question's other words names the answer."""
    c = choose(question, ("Russia-Iran trade", "their security cooperation"), CLAUSES)
    assert c is not None and c.option == option, c


def test_a_measured_choice_is_not_decided_by_clauses() -> None:
    """"Which holds more?" is settled by the numbers, which the clause rule does not read: the model decides."""
    passages = ps("Palisade mesophyll cells can contain 30-70 chloroplasts per cell, while stomatal guard cells "
                  "contain only around 8-15 per cell.")
    options = ("palisade mesophyll cells", "stomatal guard cells")
    assert choose("Which leaf cells hold fewer chloroplasts per cell, palisade mesophyll cells or stomatal guard "
                  "cells?", options, passages) is None
    assert choose("Which leaf cells contain chloroplasts per cell, palisade mesophyll cells or stomatal guard "
                  "cells?", options, passages) is not None


def test_a_sentence_naming_both_options_in_one_clause_decides_nothing() -> None:
    passages = ps("Raisi and Khamenei both received Putin at the palace.")
    assert choose("Who received Putin at the palace, Raisi or Khamenei?", ("Raisi", "Khamenei"), passages) is None


def test_an_options_head_is_its_last_word_even_when_hyphenated() -> None:
    """Read in order, not from a set: "Anglo-Saxon" gives "saxon" whatever the hash seed."""
    from rag.answer.rules.verdict import _heads
    assert _heads(("the Anglo-Saxon", "the Normans")) == ["saxon", "norman"]
    assert _heads(("Iran's oil minister", "its foreign minister")) == ["oil", "foreign"]
