"""Deterministic metrics, no LLM judge. Answer scoring follows the official SQuAD v1.1 script."""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter

from rag.answer.citations.stream import MARKER
from rag.text.normalize import normalize_text
from rag.text.words import sentence_spans

_ARTICLES = re.compile(r"\b(a|an|the)\b")
# SQuAD strips ASCII punctuation; Unicode punctuation (’ “ ” – …) is stripped too, so a curly apostrophe
# in a model answer doesn't cost a match.
_PUNCT = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower-case, strip punctuation and articles, fold white space (the official SQuAD normalisation)."""
    text = MARKER.sub(" ", text).lower()
    text = "".join(ch for ch in text if ch not in _PUNCT and not unicodedata.category(ch).startswith("P"))
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


POLAR = ("yes", "no", "maybe")
# PubMedQA's convention: these read as "maybe" (pubmedqa-l-400/README.md, scoring)
_MAYBE = re.compile(r"\b(?:unclear|inconclusive|not clear)\b")
_POLAR_WORD = re.compile(r"\b(yes|no|maybe)\b")


def is_polar(golds: list[str]) -> bool:
    """Whether a gold answer is a verdict (yes, no, maybe), scored on the verdict the answer gives."""
    return bool(golds) and all(normalize_answer(g) in POLAR for g in golds)


def polarity(answer: str) -> str:
    """The first yes, no or maybe of an answer ("" when it gives none): how BoolQ, PubMedQA and 2Wiki score a
    yes/no question, whatever else the answer says."""
    text = normalize_answer(answer)
    found = [(m.start(), m.group(1)) for m in _POLAR_WORD.finditer(text)]
    found += [(m.start(), "maybe") for m in _MAYBE.finditer(text)]
    return min(found)[1] if found else ""


def exact_match(prediction: str, golds: list[str]) -> float:
    return max((float(normalize_answer(prediction) == normalize_answer(g)) for g in golds), default=0.0)


def _f1(prediction: str, gold: str) -> float:
    p, g = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not p or not g:
        return float(p == g)
    common = sum((Counter(p) & Counter(g)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def f1(prediction: str, golds: list[str]) -> float:
    return max((_f1(prediction, g) for g in golds), default=0.0)


def contains_answer(prediction: str, golds: list[str]) -> float:
    p = f" {normalize_answer(prediction)} "
    return max((float(f" {normalize_answer(g)} " in p) for g in golds if normalize_answer(g)), default=0.0)


def _squash(text: str) -> str:
    return " ".join(normalize_text(text).split())


def evidence_units(evidence: str) -> list[str]:
    """The evidence's sentences (long enough to be distinctive), white space folded."""
    units = [_squash(evidence[s:e]) for s, e in sentence_spans(evidence)]
    units = [u for u in units if len(u) >= 20] or ([_squash(evidence)] if evidence.strip() else [])
    return units


def overlaps(text: str, evidence: str) -> bool:
    """True when the text contains a sentence of the evidence or lies inside the evidence."""
    t, ev = _squash(text), _squash(evidence)
    if not t or not ev:
        return False
    return t in ev or ev in t or any(u in t for u in evidence_units(evidence))


def context_recall(context: list[str], facts: list[str]) -> float:
    """The share of the needed facts that some passage the model read overlaps."""
    return sum(any(overlaps(c, f) for c in context) for f in facts) / len(facts)


def retrieval_metrics(texts: list[str], evidence: str, ks: tuple[int, ...]) -> dict[str, float]:
    """hit@k (any evidence sentence retrieved), recall@k (share of evidence sentences), reciprocal rank."""
    units = evidence_units(evidence)
    out: dict[str, float] = {}
    first = next((i for i, t in enumerate(texts) if overlaps(t, evidence)), None)
    out["rr"] = 0.0 if first is None else 1.0 / (first + 1)
    for k in ks:
        top = [_squash(t) for t in texts[:k]]
        found = [u for u in units if any(u in t for t in top)]
        out[f"hit@{k}"] = float(first is not None and first < k)
        out[f"recall@{k}"] = len(found) / len(units) if units else 0.0
    return out


def answer_sentences(answer: str) -> list[str]:
    return [answer[s:e] for s, e in sentence_spans(answer)]


def cited_sentence_share(answer: str) -> float:
    sents = answer_sentences(answer)
    return sum(bool(MARKER.search(s)) for s in sents) / len(sents) if sents else 0.0


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1); 0 for no values."""
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]
