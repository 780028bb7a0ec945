"""Context assembly: merged neighbours, no duplicate text, exact offsets, the token budget held."""

from __future__ import annotations

from rag.answer.context import assemble, embedding_scorer, merge_spans
from rag.ingest.chunker import chunk_document
from rag.ingest.loaders import load_file
from rag.text.tokens import count_tokens
from rag.types import Passage
from tests.conftest import SEED_DOC


def passages(size: int = 64, overlap: int = 16) -> tuple[str, list[Passage]]:
    doc = load_file(SEED_DOC)
    chunks = chunk_document(doc, size, overlap)
    return doc.text, [Passage(chunk=c, score=1.0 - i / 100, dense_score=0.5) for i, c in enumerate(chunks)]


def test_overlapping_neighbours_merge_into_one_exact_span() -> None:
    text, ps = passages()
    assert ps[3].chunk.start < ps[2].chunk.end, "the seed's chunks 2 and 3 overlap"
    spans = merge_spans([ps[3], ps[7], ps[2]])
    assert [(s.start, s.end) for s in spans] == [(ps[2].chunk.start, ps[3].chunk.end), (ps[7].chunk.start,
                                                                                        ps[7].chunk.end)]
    assert spans[0].rank == 0 and spans[1].rank == 1 and spans[0].chunk_ids == [ps[2].chunk.id, ps[3].chunk.id]
    for s in spans:
        assert text[s.start:s.end] == s.text


def test_assembled_passages_are_exact_disjoint_and_within_budget() -> None:
    text, ps = passages()
    for budget in (40, 80, 150, 400):
        ctx = assemble(ps[:6], "Which gas fields does the Gazprom agreement cover?", budget)
        assert ctx
        assert sum(count_tokens(p.chunk.text) for p in ctx) <= budget
        spans = sorted((p.chunk.start, p.chunk.end) for p in ctx)
        for p in ctx:
            assert text[p.chunk.start:p.chunk.end] == p.chunk.text
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False)), "no text twice"


def test_the_answer_bearing_sentence_comes_first() -> None:
    _, ps = passages()
    gazprom = next(p for p in ps if "North Pars" in p.chunk.text)
    ctx = assemble([ps[0], ps[1], gazprom], "Which gas fields does the Gazprom agreement cover?", 60)
    assert "North Pars" in ctx[0].chunk.text


def test_scorer_is_used_when_given() -> None:
    _, ps = passages()
    pick = next(p for p in ps[:4] if "Owji" in p.chunk.text)

    def scorer(query: str, sentences: list[str]) -> list[float]:
        return [5.0 if "Owji" in s else 0.0 for s in sentences]

    ctx = assemble(ps[:4], "unrelated words", 30, scorer)
    assert "Owji" in ctx[0].chunk.text and pick.chunk.doc_id == ctx[0].chunk.doc_id


def test_sentence_vectors_are_embedded_once_and_the_oldest_are_dropped() -> None:
    embedded: list[list[str]] = []

    def embed_documents(texts: list[str]) -> list[list[float]]:
        embedded.append(list(texts))
        return [[1.0, float(len(t))] for t in texts]

    score = embedding_scorer(lambda q: [1.0, 0.0], embed_documents, cache_size=3)
    first = score("q", ["a", "bb", "a"])
    assert embedded == [["a", "bb"]]  # a sentence said twice is embedded once
    assert score("q", ["bb", "a"]) == [first[1], first[0]] and embedded == [["a", "bb"]]  # known: not again
    score("q", ["ccc", "dddd"])  # four known, room for three: the least recently used ("bb") goes
    assert embedded[-1] == ["ccc", "dddd"]
    score("q", ["a", "bb"])
    assert embedded[-1] == ["bb"]
