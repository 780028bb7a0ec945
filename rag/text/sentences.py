"""Sentence spans with exact offsets: paragraphs (blank lines) first, then nltk's Punkt inside each."""

from __future__ import annotations

import importlib.abc
import re
import sys
import threading
from functools import lru_cache
from typing import Any

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
# A line break after a line without closing punctuation (a heading, a list item) also ends a unit.
_HARD_LINE = re.compile(r"(?<![.!?;:,\"'”’)\]])\n")


class _WithoutExtras(importlib.abc.MetaPathFinder):
    """Refuses scipy and sklearn to one thread while it imports nltk. nltk's package imports every submodule,
    and with them scipy.stats and sklearn when they are installed (sentence-transformers installs them):
    0.9-1.4 s of a cold `rag ask` on 2 cores, for Punkt, which uses neither. nltk imports both optionally
    and goes on without them. Other threads, and modules already imported, are untouched."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if threading.get_ident() == self.thread and name.partition(".")[0] in ("scipy", "sklearn"):
            raise ModuleNotFoundError(f"{name} is not imported with nltk here (rag.text.sentences)", name=name)


_nltk_lock = threading.Lock()


def _import_nltk() -> Any:
    """nltk, imported once whole: the lock makes a second thread wait for the first (a module found in
    sys.modules may still be half initialised, seen as "cannot import name 'sent_tokenize' from partially
    initialized module")."""
    with _nltk_lock:
        if "nltk" in sys.modules:  # imported before, whole: by a call here, or by Python's own locked import
            import nltk

            return nltk
        guard = _WithoutExtras()
        sys.meta_path.insert(0, guard)
        try:
            import nltk
        finally:
            sys.meta_path.remove(guard)
        return nltk


@lru_cache(maxsize=1)
def punkt_parameters() -> Any:
    """nltk's trained English Punkt parameters (knows "Dr.", "U.S.", ...), or None when the model is absent."""
    try:
        nltk = _import_nltk()
        from nltk.tokenize.punkt import load_punkt_params

        from rag.text.tokens import llama_index_static

        cache = llama_index_static() / "nltk_cache"
        if str(cache) not in nltk.data.path:
            nltk.data.path.append(str(cache))
        return load_punkt_params(nltk.data.find("tokenizers/punkt_tab/english/"))
    except (LookupError, ImportError, OSError):
        return None


@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    _import_nltk()
    from nltk.tokenize.punkt import PunktSentenceTokenizer

    params = punkt_parameters()
    # with no trained model: untrained, still offset-exact
    return PunktSentenceTokenizer(params) if params is not None else PunktSentenceTokenizer()


def abbreviations() -> frozenset[str]:
    """Lower-case abbreviations (without their full stop) after which a full stop does not end a sentence."""
    params = punkt_parameters()
    return frozenset(params.abbrev_types) if params is not None else frozenset()


def _pieces(text: str, lo: int, hi: int, pattern: re.Pattern[str]):
    pos = lo
    for m in pattern.finditer(text, lo, hi):
        yield pos, m.start()
        pos = m.end()
    yield pos, hi


def sentence_spans(text: str, lo: int = 0, hi: int | None = None) -> list[tuple[int, int]]:
    """Non-empty, stripped sentence spans of text[lo:hi], in order and non-overlapping."""
    hi = len(text) if hi is None else hi
    tok = _tokenizer()
    spans: list[tuple[int, int]] = []
    for ps, pe in _pieces(text, lo, hi, _PARAGRAPH_BREAK):
        for ls, le in _pieces(text, ps, pe, _HARD_LINE):
            block = text[ls:le]
            if not block.strip():
                continue
            for s, e in tok.span_tokenize(block):
                s, e = _strip(text, ls + s, ls + e)
                if e > s:
                    spans.append((s, e))
    return spans


def _strip(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e
