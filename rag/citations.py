"""Citation checker: makes an answer's markers right by construction instead of trusting the model.

- markers that point at no retrieved passage are removed;
- a sentence without a marker is attributed to the passage that best supports it, or left uncited;
- a marker whose passage shares almost nothing with its sentence is moved to the passage that does;
- each citation's quote is the sentence(s) of the passage that support the answer, with exact offsets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from rag.ingest.sentences import sentence_spans
from rag.schemas import Citation, Passage

MARKER = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")
_LEADING_MARKERS = re.compile(r"^(?:\s*\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\])+")
_WORD = re.compile(r"\w+", re.UNICODE)
_REFUSAL = re.compile(
    r"\b(i\s+don[’']?t\s+know|i\s+do\s+not\s+know|(?:do|does)\s+not\s+(?:contain|mention|provide|include|say)"
    r"|no\s+information|not\s+(?:mentioned|stated|provided|specified|available)|cannot\s+(?:be\s+)?answer"
    r"|unable\s+to\s+(?:answer|determine|find))\b", re.IGNORECASE)

# Attribution thresholds on the share of a sentence's content words found in a passage.
ATTRIBUTE_MIN = 0.5
MISCITED_MAX = 0.2

# A short English stop list: function words carry no evidence of support. (Hand-written: nltk's list
# needs a data download, and this one also keeps negations out of the overlap score.)
STOPWORDS = frozenset("""
a an the and or but if then than so of to in on at by for with from as into onto over under about
after before between during through is are was were be been being am do does did has have had having
it its it's this that these those there here he she they them his her their him we us our you your i
me my not no nor which who whom whose what when where why how all any both each few more most other
some such only own same too very can could will would shall should may might must also just s t
said says say according
""".split())


# "five", "fifth" and "5" are the same evidence: short answers are often just a number.
_NUMBERS = {w: str(i) for i, ws in enumerate([
    ("zero",), ("one", "first", "once"), ("two", "second", "twice"), ("three", "third", "thrice"),
    ("four", "fourth"), ("five", "fifth"), ("six", "sixth"), ("seven", "seventh"), ("eight", "eighth"),
    ("nine", "ninth"), ("ten", "tenth"), ("eleven", "eleventh"), ("twelve", "twelfth")]) for w in ws}


@lru_cache(maxsize=1)
def _stemmer():
    from nltk.stem import PorterStemmer

    return PorterStemmer()


def content_words(text: str) -> set[str]:
    stem = _stemmer().stem
    out = set()
    for w in _WORD.findall(text.lower()):
        if w in STOPWORDS or (len(w) == 1 and not w.isdigit()):
            continue
        out.add(_NUMBERS.get(w) or stem(w))
    return out


def support(claim: set[str], evidence: set[str]) -> float:
    """Share of the claim's content words that the evidence contains."""
    return len(claim & evidence) / len(claim) if claim else 0.0


def is_refusal(answer: str) -> bool:
    """The model said it cannot answer (checked on the opening sentence, where such replies put it)."""
    spans = sentence_spans(MARKER.sub("", answer))
    first = answer if not spans else MARKER.sub("", answer)[spans[0][0]:spans[0][1]]
    return bool(_REFUSAL.search(first)) or not answer.strip()


@dataclass
class _Sentence:
    text: str  # without markers
    markers: list[int] = field(default_factory=list)


def _split(answer: str) -> list[_Sentence]:
    """Sentences with their markers; a marker that opens a sentence belongs to the one before it."""
    out: list[_Sentence] = []
    for s, e in sentence_spans(answer):
        raw = answer[s:e]
        lead = _LEADING_MARKERS.match(raw)
        if lead and out:
            out[-1].markers += _numbers(lead.group(0))
            raw = raw[lead.end():]
        markers = _numbers(raw)
        text = MARKER.sub("", raw)
        text = re.sub(r"\s+([.,;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", text)).strip()
        if text:
            out.append(_Sentence(text, markers))
        elif out:
            out[-1].markers += markers
    return out


def _numbers(text: str) -> list[int]:
    return [int(n) for m in MARKER.finditer(text) for n in re.split(r"\s*[,;]\s*", m.group(1).strip())]


def _place_markers(text: str, markers: list[int]) -> str:
    if not markers:
        return text
    tags = "".join(f"[{m}]" for m in markers)
    body = text.rstrip(".!?…")
    return f"{body} {tags}{text[len(body):]}"


def best_quote(passage: Passage, claim: set[str], question: set[str]) -> tuple[int, int]:
    """Span (relative to the chunk) of the passage sentence(s) that carry the claim's new words."""
    text = passage.chunk.text
    spans = sentence_spans(text) or [(0, len(text))]
    weights = {w: (0.5 if w in question else 2.0) for w in claim}

    def score(s: int, e: int) -> float:
        words = content_words(text[s:e])
        return sum(wt for w, wt in weights.items() if w in words)

    scores = [score(s, e) for s, e in spans]
    i = max(range(len(spans)), key=lambda j: (scores[j], -j))
    best = (spans[i][0], spans[i][1])
    # a claim split across two sentences: take the neighbour too when it adds real evidence
    for j in (i - 1, i + 1):
        if 0 <= j < len(spans):
            lo, hi = min(spans[i][0], spans[j][0]), max(spans[i][1], spans[j][1])
            if score(lo, hi) >= scores[i] + 2.0:
                return lo, hi
    return best


def verify(answer: str, passages: list[Passage], question: str) -> tuple[str, list[Citation]]:
    """Return the answer with verified markers and one citation per cited passage."""
    evidence = [content_words(p.chunk.text) for p in passages]
    q_words = content_words(question)
    sentences = _split(answer)
    claims: dict[int, set[str]] = {}
    order: list[int] = []
    rebuilt: list[str] = []
    for sent in sentences:
        words = content_words(sent.text)
        # a terse answer ("Five times.") is read together with the question it answers
        scores = [max(support(words, ev), support(words | q_words, ev)) for ev in evidence]
        best = max(range(len(scores)), key=lambda j: scores[j]) + 1 if scores else 0
        valid: list[int] = []
        for m in sent.markers:
            if not 1 <= m <= len(passages):
                continue  # points at no retrieved passage
            if scores[m - 1] <= MISCITED_MAX and scores[best - 1] >= ATTRIBUTE_MIN:
                m = best  # miscited: the sentence's words are elsewhere
            if m not in valid:
                valid.append(m)
        if not valid and best and words and scores[best - 1] >= ATTRIBUTE_MIN:
            valid = [best]
        for m in valid:
            claims.setdefault(m, set()).update(words)
            if m not in order:
                order.append(m)
        rebuilt.append(_place_markers(sent.text, valid))
    citations = []
    for m in order:
        p = passages[m - 1]
        qs, qe = best_quote(p, claims[m], q_words)
        citations.append(Citation(
            marker=m, doc_id=p.chunk.doc_id, title=p.chunk.title, source=p.chunk.source, page=p.chunk.page,
            start=p.chunk.start + qs, end=p.chunk.start + qe, quote=p.chunk.text[qs:qe], score=p.score,
            passage=p.chunk.text, passage_start=p.chunk.start))
    return " ".join(rebuilt), citations
