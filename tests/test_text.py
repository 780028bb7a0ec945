"""rag.text.words: the one definition of a word that retrieval, grounding and the verdicts share."""

from __future__ import annotations

import ast

from rag.text.words import STOPWORDS, abbreviations, content_words, overlap, sentence_spans, stem, tokens
from tests.conftest import ROOT


def test_tokens_are_lower_case_word_runs_one_character_ones_included() -> None:
    assert tokens("Putin's 5th visit, Plan B.") == ["putin", "s", "5th", "visit", "plan", "b"]


def test_content_words_drop_stop_words_and_single_letters_but_keep_single_digits() -> None:
    assert content_words("What did Putin say about the 5 talks in Tehran?") == {"putin", "5", "talk", "tehran"}
    assert content_words("Plan B") == {"plan"}
    assert content_words("who was it, and when?") == set()


def test_stems_are_english_snowball_with_number_words_folded_onto_digits() -> None:
    assert stem("visited") == stem("visits") == stem("visiting") == "visit"
    assert stem("generously") == "generous"  # Snowball (Porter gives "gener")
    assert stem("fifth") == stem("five") == "5"
    assert [stem(w) for w in ["talks", "twice"]] == ["talk", "2"]


def test_negations_and_question_words_are_stop_words() -> None:
    assert {"not", "no", "nor", "who", "what", "which", "when", "said", "according"} <= STOPWORDS


def test_overlap_is_the_share_of_the_claim_found_in_the_evidence() -> None:
    assert overlap({"a", "b", "c", "d"}, {"a", "b", "c", "x"}) == 0.75
    assert overlap(set(), {"a"}) == 0.0


def test_bm25_ranks_with_its_own_list_and_coverage_reads_evidence_words() -> None:
    """BM25 keeps the analyser its weights were tuned with (bm25s's list, plain stems); coverage drops the
    evidence stop list first, so the refusal's coverage and grounding agree on what a term is."""
    import bm25s.stopwords

    from rag.index.keyword import tokenize
    from rag.text.words import RANKING_STOPWORDS

    assert set(RANKING_STOPWORDS) == set(bm25s.stopwords.STOPWORDS_EN) and set(RANKING_STOPWORDS) <= STOPWORDS
    text = "Who visited Tehran for the fifth time?"
    assert tokenize([text])[0] == ["who", "visit", "tehran", "fifth", "time"]
    assert {"visit", "tehran", "5", "time"} == content_words(text)


def test_sentence_spans_and_abbreviations_come_through_a_public_api() -> None:
    text = "Dr. Smith went to the U.S. on Monday. He left on Tuesday."
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "Dr. Smith went to the U.S. on Monday.", "He left on Tuesday."]
    assert {"dr", "u.s"} <= abbreviations()


def test_no_module_reaches_into_private_attributes_of_nltk() -> None:
    """`_params` and friends are nltk's internals; the Punkt parameters are loaded with its public loader."""
    for path in (ROOT / "rag").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute):
                assert node.attr != "_params", path
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert node.value != "_params", path


def test_threads_splitting_sentences_at_once_in_a_new_process() -> None:
    """The first sentence split imports nltk; threads that split at once all wait for the whole import
    (a server's first requests: once, one of them met a half-initialised nltk and failed with a 500)."""
    import subprocess
    import sys

    code = """
from concurrent.futures import ThreadPoolExecutor
from rag.text.sentences import sentence_spans
with ThreadPoolExecutor(6) as pool:
    print(set(pool.map(lambda _: tuple(sentence_spans("Dr. No left. He came back.")), range(6))))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "{((0, 12), (13, 26))}", out.stderr
