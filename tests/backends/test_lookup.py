"""The draft of prompt-lookup decoding: what followed the latest earlier occurrence of the last tokens."""

from __future__ import annotations

import numpy as np

from rag.backends.llm import _lookup


def ids(*tokens: int) -> np.ndarray:
    return np.array(tokens, dtype=np.intc)


def test_the_tokens_after_the_last_ngram_are_drafted() -> None:
    # ... 7 8 9 10 11 ... then the answer so far ends in 7 8: draft what followed 7 8
    assert _lookup(ids(1, 7, 8, 9, 10, 11, 2, 7, 8), 3) == [9, 10, 11]


def test_the_latest_occurrence_and_the_longest_match_win() -> None:
    history = ids(5, 6, 40, 41, 3, 5, 6, 50, 51, 4, 6, 60, 4, 5, 6)
    assert _lookup(history, 2) == [50, 51]  # "5 6" occurs twice (and "6" alone later): the latest "5 6"
    # a three-token match beats a later two-token one
    assert _lookup(ids(1, 2, 3, 70, 9, 2, 3, 80, 1, 2, 3), 1) == [70]


def test_the_draft_stops_at_k_and_at_the_end_of_history() -> None:
    assert _lookup(ids(1, 2, 3, 4, 5, 6, 1, 2), 2) == [3, 4]
    assert _lookup(ids(1, 2, 9, 1, 2), 5) == [9, 1, 2]


def test_one_token_matches_and_no_matches_draft_nothing() -> None:
    assert _lookup(ids(1, 2, 3, 4, 3), 4) == []  # only "3" recurs
    assert _lookup(ids(1, 2, 3), 4) == []
    assert _lookup(ids(1), 4) == []


def test_matches_before_start_are_not_used() -> None:
    history = ids(7, 8, 1, 2, 3, 7, 8)  # "7 8" occurs at 0, before the start (the system prompt)
    assert _lookup(history, 2) == [1, 2]
    assert _lookup(history, 2, start=2) == []
    assert _lookup(ids(7, 8, 1, 7, 8, 2, 7, 8), 1, start=2) == [2]
