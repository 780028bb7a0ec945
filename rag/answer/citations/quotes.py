"""Quote extractor: the sentence(s) of a cited passage that carry what the answer took from it."""

from __future__ import annotations

from rag.text.words import content_words, sentence_spans
from rag.types import Citation, Passage


def best_quote(passage: Passage, claim: set[str], question: set[str]) -> tuple[int, int]:
    """Span (relative to the chunk) of the passage sentence(s) that carry the claim's new words: words the
    question supplied weigh a quarter of the others; a neighbouring sentence is taken too when it adds at
    least one new word's worth."""
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


def citation(marker: int, passage: Passage, claim: set[str], question: set[str]) -> Citation:
    """The citation for marker: its passage, and the quote within it with offsets in the document."""
    chunk = passage.chunk
    qs, qe = best_quote(passage, claim, question)
    return Citation(marker=marker, doc_id=chunk.doc_id, title=chunk.title, source=chunk.source, page=chunk.page,
                    start=chunk.start + qs, end=chunk.start + qe, quote=chunk.text[qs:qe], score=passage.score,
                    passage=chunk.text, passage_start=chunk.start)
