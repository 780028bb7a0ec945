"""Context assembly: from the retrieved chunks to the few passages the model reads.

The prompt is the cost: on 2 CPU cores llama.cpp reads about 55 prompt tokens a second, so every
passage sentence that does not bear on the question costs time and distracts a small model. So:
1. overlapping chunks of one document are merged into one span, so no text is read twice (chunks that
   only touch stay apart: the white space between them is not stored, and offsets must stay exact);
2. each span is split into sentences, and sentences are scored against the query (lexical overlap,
   dense similarity when an embedder is given, and the rank of the chunk they came from, weighted by
   `ContextWeights`, a setting);
3. the best sentences are kept up to a token budget, each with its preceding sentence when room is left
   (it often names what a "he" or "it" refers to);
4. kept sentences that are adjacent become one passage, with exact document offsets, so citations
   still point at the very characters quoted. The passage holding the best sentence comes first.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rag.config import ContextWeights
from rag.retrieval.retrievers import cosine
from rag.text.tokens import count_tokens
from rag.text.words import content_words, sentence_spans
from rag.types import Chunk, Passage

SentenceScorer = Callable[[str, list[str]], list[float]]  # (query, sentences) -> similarity per sentence
PASSAGE_OVERHEAD_TOKENS = 6  # "[n] " and the blank line between passages


@dataclass
class Span:
    """Contiguous text of one document built from one or more retrieved chunks."""

    first: Chunk
    start: int
    end: int
    text: str
    rank: int  # best (lowest) retrieval rank among its chunks
    score: float
    dense_score: float | None
    bm25_score: float | None
    chunk_ids: list[str] = field(default_factory=list)


def merge_spans(passages: Sequence[Passage]) -> list[Span]:
    """Overlapping chunks of one document become one span; spans are returned by rank."""
    by_doc: dict[str, list[tuple[int, Passage]]] = {}
    for rank, p in enumerate(passages):
        by_doc.setdefault(p.chunk.doc_id, []).append((rank, p))
    spans: list[Span] = []
    for items in by_doc.values():
        items.sort(key=lambda rp: rp[1].chunk.start)
        cur: Span | None = None
        for rank, p in items:
            c = p.chunk
            if cur is not None and c.start <= cur.end:
                if c.end > cur.end:
                    cur.text += c.text[cur.end - c.start:]
                    cur.end = c.end
                cur.rank = min(cur.rank, rank)
                cur.score = max(cur.score, p.score)
                cur.dense_score = _max(cur.dense_score, p.dense_score)
                cur.bm25_score = _max(cur.bm25_score, p.bm25_score)
                cur.chunk_ids.append(c.id)
                continue
            cur = Span(c, c.start, c.end, c.text, rank, p.score, p.dense_score, p.bm25_score, [c.id])
            spans.append(cur)
    return sorted(spans, key=lambda s: s.rank)


def _max(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


@dataclass
class _Sentence:
    span: int
    index: int
    start: int  # relative to the span's text
    end: int
    tokens: int
    score: float = 0.0


def assemble(passages: Sequence[Passage], query: str, budget_tokens: int,
             scorer: SentenceScorer | None = None, weights: ContextWeights | None = None) -> list[Passage]:
    """The passages the model will read: best sentences first, within `budget_tokens`."""
    if not passages:
        return []
    w = weights or ContextWeights()
    spans = merge_spans(passages)
    sentences: list[_Sentence] = []
    for si, span in enumerate(spans):
        for i, (s, e) in enumerate(sentence_spans(span.text) or [(0, len(span.text))]):
            sentences.append(_Sentence(si, i, s, e, count_tokens(span.text[s:e])))
    texts = [spans[x.span].text[x.start:x.end] for x in sentences]
    q_words = content_words(query)
    dense = scorer(query, texts) if scorer else [0.0] * len(texts)
    for x, text, d in zip(sentences, texts, dense, strict=True):
        lexical = len(q_words & content_words(text)) / len(q_words) if q_words else 0.0
        prior = 1.0 / math.sqrt(1 + spans[x.span].rank)
        x.score = w.lexical * lexical + w.dense * d + w.rank * prior
    chosen: set[tuple[int, int]] = set()
    used = 0
    by_key = {(x.span, x.index): x for x in sentences}
    for x in sorted(sentences, key=lambda x: -x.score):
        cost = x.tokens + PASSAGE_OVERHEAD_TOKENS
        if chosen and used + cost > budget_tokens:
            continue
        chosen.add((x.span, x.index))
        used += cost
    # with room left, the sentence before each chosen one (antecedents), best-scored first
    for x in sorted([by_key[k] for k in chosen], key=lambda x: -x.score):
        prev = by_key.get((x.span, x.index - 1))
        if prev is not None and (prev.span, prev.index) not in chosen and used + prev.tokens <= budget_tokens:
            chosen.add((prev.span, prev.index))
            used += prev.tokens
    runs: list[list[_Sentence]] = []
    for si in range(len(spans)):
        for x in sorted((by_key[k] for k in chosen if k[0] == si), key=lambda x: x.index):
            if runs and runs[-1][-1].span == si and x.index == runs[-1][-1].index + 1:
                runs[-1].append(x)
            else:
                runs.append([x])
    runs.sort(key=lambda run: -max(x.score for x in run))  # the most relevant passage first
    return [_passage(spans[run[0].span], run) for run in runs]


def _passage(span: Span, run: list[_Sentence]) -> Passage:
    s, e = run[0].start, run[-1].end
    c = span.first
    chunk = Chunk(id=f"{c.id}:{span.start + s}-{span.start + e}", doc_id=c.doc_id, source=c.source, title=c.title,
                  page=c.page, start=span.start + s, end=span.start + e, text=span.text[s:e])
    return Passage(chunk=chunk, score=span.score, dense_score=span.dense_score, bm25_score=span.bm25_score)


def embedding_scorer(embed_query: Callable[[str], list[float]],
                     embed_documents: Callable[[list[str]], list[list[float]]],
                     cache_size: int = 20_000) -> SentenceScorer:
    """Dense similarity of each sentence to the query. Embedding the retrieved chunks' sentences is most of the
    context assembly's time (p50 155 ms a question on 2 cores, squad-dev-13), and the same passages come back
    for the next question about a document, so sentence vectors are kept, by text, for the `cache_size` most
    recently used sentences (about 1.5 kB each). Hand-written rather than functools.lru_cache: the sentences
    not yet known are embedded together, in one batch."""
    vectors: OrderedDict[str, list[float]] = OrderedDict()
    lock = threading.Lock()  # the server assembles contexts for several requests at once

    def score(query: str, sentences: list[str]) -> list[float]:
        if not sentences:
            return []
        q = embed_query(query)
        with lock:
            known = {s: vectors[s] for s in sentences if s in vectors}
            for s in known:
                vectors.move_to_end(s)
        missing = list(dict.fromkeys(s for s in sentences if s not in known))
        if missing:
            fresh = dict(zip(missing, embed_documents(missing), strict=True))
            known |= fresh
            with lock:
                vectors.update(fresh)
                while len(vectors) > cache_size:
                    vectors.popitem(last=False)
        return [cosine(q, known[s]) for s in sentences]

    return score
