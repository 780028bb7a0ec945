"""Second-stage ranking of the first stage's candidates by their best sentence.

A chunk of 192 tokens holds several sentences; the question is usually about one. Scoring each chunk by
its best-matching sentence (share of the question's content words, stemmed) plus its first-stage rank
and dense similarity lifted evidence recall@5 on squad-dev-13 (200 questions, seed 13) from 0.915 to
0.95 for hybrid retrieval, at about 40 ms a question on 2 cores. A cross-encoder would do better still,
but none ships its weights in a PyPI wheel, and the product must run offline. The depth and the weights are
settings (`RetrievalSettings.depth`, `.rerank_weights`).
"""

from __future__ import annotations

import math
from functools import lru_cache

from rag.config import RetrievalSettings
from rag.retrieval.retrievers import Filters, Retriever
from rag.text.words import content_words, sentence_spans
from rag.types import Passage


@lru_cache(maxsize=65536)
def _sentence_words(text: str) -> tuple[frozenset[str], ...]:
    return tuple(frozenset(content_words(text[s:e])) for s, e in sentence_spans(text)) or (frozenset(),)


def best_sentence_overlap(text: str, q_words: set[str]) -> float:
    if not q_words:
        return 0.0
    return max(len(q_words & words) for words in _sentence_words(text)) / len(q_words)


class SentenceReranker:
    """Wraps a retriever: asks it for `settings.depth` candidates (or `depth`: a caller that already holds the
    candidates) and returns the best `top_k` after re-scoring them with `settings.rerank_weights`."""

    def __init__(self, inner: Retriever, settings: RetrievalSettings | None = None, depth: int | None = None) -> None:
        settings = settings or RetrievalSettings()
        self.inner = inner
        self.depth = settings.depth if depth is None else depth
        self.weights = settings.rerank_weights

    def retrieve(self, query: str, top_k: int, filters: Filters | None = None) -> list[Passage]:
        cands = self.inner.retrieve(query, max(self.depth, top_k), filters)
        q_words = content_words(query)
        w = self.weights
        scored = []
        for rank, p in enumerate(cands):
            s = (w.lexical * best_sentence_overlap(p.chunk.text, q_words)
                 + w.rank / math.sqrt(1 + rank) + w.dense * (p.dense_score or 0.0))
            scored.append((s, rank, p))
        scored.sort(key=lambda t: (-t[0], t[1]))
        return [p.model_copy(update={"score": round(s, 4)}) for s, _, p in scored[:top_k]]
