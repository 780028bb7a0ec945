"""The project's one definition of a word: used by retrieval (BM25), rerank, context assembly, coverage,
the verdicts, the citation checker and the eval's evidence units.

- a word is a run of `\\w` characters (`WORD`), compared in lower case;
- the evidence stop list (`STOPWORDS`): function words carry no evidence, and negations stay out of overlap
  scores; BM25's ranking alone keeps bm25s's shorter list (`RANKING_STOPWORDS`, see there why);
- one stemmer (`stem`): PyStemmer's English Snowball, with number words folded onto digits (BM25's
  `ranking_stems` leaves them unfolded);
- sentence spans and the abbreviations that do not end a sentence, through `rag.text.sentences`.

The eval's EM/F1 keep SQuAD's own normalisation (`rag.eval.metrics`): that is the benchmark's definition.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from rag.text.sentences import abbreviations, sentence_spans

__all__ = ["RANKING_STOPWORDS", "STOPWORDS", "TOKEN_PATTERN", "WORD", "abbreviations", "content_words", "overlap",
           "ranking_stems", "sentence_spans", "stem", "tokens"]

TOKEN_PATTERN = r"\w+"  # one-character tokens are kept: "5", "B" matter in questions
WORD = re.compile(TOKEN_PATTERN, re.UNICODE)

# A short English stop list (hand-written: nltk's needs a data download). It holds all of bm25s's English
# list, plus question words, pronouns, modals and reporting verbs ("said", "according"), which carry no
# evidence of support; negations ("not", "no") are in it so they do not count as shared words.
STOPWORDS = frozenset("""
a an the and or but if then than so of to in on at by for with from as into onto over under about
after before between during through is are was were be been being am do does did has have had having
it its it's this that these those there here he she they them his her their him we us our you your i
me my not no nor which who whom whose what when where why how all any both each few more most other
some such only own same too very can could will would shall should may might must also just s t
said says say according yes because while whereas
""".split())

# BM25 ranks with bm25s's short English list and plain Snowball stems (no number folding). Retrieval's
# weights (RRF k, rerank) were tuned with this analyser; ranking with STOPWORDS and folded numbers instead
# reordered the top 5 of 75 of 80 squad-dev-13 tune questions and cost 2 of 40 adversarial refusals
# (`rag eval --compare`, refusal_recall 0.45 -> 0.40). Evidence comparisons (coverage, grounding) use
# STOPWORDS and `stem`; both lists live here so the difference is one visible choice.
RANKING_STOPWORDS: tuple[str, ...] = tuple(sorted(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there these "
    "they this to was will with".split()))  # bm25s.stopwords.STOPWORDS_EN, copied to pin it

# "five", "fifth" and "5" are the same evidence: short answers are often just a number.
_NUMBERS = {w: str(i) for i, ws in enumerate([
    ("zero",), ("one", "first", "once"), ("two", "second", "twice"), ("three", "third", "thrice"),
    ("four", "fourth"), ("five", "fifth"), ("six", "sixth"), ("seven", "seventh"), ("eight", "eighth"),
    ("nine", "ninth"), ("ten", "tenth"), ("eleven", "eleventh"), ("twelve", "twelfth")]) for w in ws}


@lru_cache(maxsize=1)
def _snowball() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The stem of a lower-case word: a number word's digits, else English Snowball's stem."""
    return _NUMBERS.get(word) or _snowball().stemWord(word)


def ranking_stems(words: list[str]) -> list[str]:
    """BM25's stems (the shape bm25s's `stemmer=` takes): Snowball without number folding."""
    return _snowball().stemWords(words)


def tokens(text: str) -> list[str]:
    """The words of text, lower-cased, in order (stop words included)."""
    return WORD.findall(text.lower())


def content_word_list(text: str) -> list[str]:
    """Stems of the words that carry content, in order: no stop words, no single letters (single digits stay)."""
    return [stem(w) for w in tokens(text) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]


def content_words(text: str) -> set[str]:
    """`content_word_list` as a set."""
    return set(content_word_list(text))


def overlap(claim: set[str], evidence: set[str]) -> float:
    """Share of the claim's content words that the evidence contains (0 for an empty claim)."""
    return len(claim & evidence) / len(claim) if claim else 0.0
