"""BM25 in segments: exact scores over main + delta + tombstones, updates in proportion to the change,
persisted and reloaded, and searches that never see a half-published index."""

from __future__ import annotations

import json
import random
import threading
import time

import numpy as np
import pytest

import rag.index.keyword as keyword_index
from rag.index.bm25_segments import Segment, Snapshot
from rag.index.keyword import KeywordIndex, tokenize
from rag.index.store import ChunkStore
from rag.ingest.pipeline import Ingestor
from tests.conftest import SEED_DOC

WORDS = ("orchard quince medlar harvest autumn cider press barrel frost blossom pruning ladder basket pear "
         "apple plum cherry grafting rootstock hive bee honey wax smoke swarm").split()


def corpus(n: int, seed: int = 1) -> tuple[list[str], list[tuple[str, str]], list[list[str]]]:
    rng = random.Random(seed)
    ids = [f"c{i}" for i in range(n)]
    meta = [(f"doc{i % 7}", f"src{i % 3}") for i in range(n)]
    tokens = [rng.choices(WORDS, k=rng.randint(0, 30)) for _ in range(n)]
    return ids, meta, tokens


def ranked(snap: Snapshot, query: list[str]) -> dict[str, float]:
    main, delta = snap.scores(query)
    out = {cid: float(s) for cid, s in zip(snap.main.ids, main, strict=True) if s > 0}
    out |= {cid: float(s) for cid, s in zip(snap.delta.ids, delta, strict=True) if s > 0}
    return out


def test_scores_match_bm25s_on_the_seed_document() -> None:
    import bm25s

    from rag.ingest.chunker import chunk_document
    from rag.ingest.loaders import load_file

    chunks = chunk_document(load_file(SEED_DOC), 64, 8)
    tokens = tokenize([c.text for c in chunks])
    reference = bm25s.BM25()
    reference.index(tokens, show_progress=False)
    snap = Snapshot.of("r", Segment.build([c.id for c in chunks], [("d", "s")] * len(chunks), tokens))
    for query in ("Which gas fields does the Gazprom agreement cover?", "Putin Tehran airport", "NATO Turkey"):
        q = tokenize([query])[0]
        expected = reference.get_scores(q)
        ours = snap.scores(q)[0]
        assert np.allclose(ours, expected, rtol=1e-4, atol=1e-5), query


def test_main_delta_and_tombstones_score_exactly_as_one_fresh_index() -> None:
    ids, meta, tokens = corpus(400)
    snap = Snapshot.of("r0", Segment.build(ids[:200], meta[:200], tokens[:200]))
    rng = random.Random(7)
    live = dict(zip(ids[:200], zip(meta[:200], tokens[:200], strict=True), strict=True))
    next_id = 200
    for step in range(6):  # adds and deletes, in the main and in the delta
        removed = set(rng.sample(sorted(live), 15))
        new = list(range(next_id, next_id + 20))
        next_id += 20
        added = Segment.build([ids[i] for i in new], [meta[i] for i in new], [tokens[i] for i in new])
        snap = snap.apply(f"r{step + 1}", added, removed)
        for cid in removed:
            del live[cid]
        live |= {ids[i]: (meta[i], tokens[i]) for i in new}
        fresh = Snapshot.of("x", Segment.build(list(live), [m for m, _ in live.values()],
                                               [t for _, t in live.values()]))
        assert snap.count == fresh.count == len(live) and snap.live_ids() == set(live)
        for query in (["quince"], ["honey", "bee", "bee"], ["frost", "ladder", "cider"], ["absent"]):
            got, want = ranked(snap, query), ranked(fresh, query)
            assert got.keys() == want.keys()
            assert all(abs(got[c] - want[c]) < 1e-4 for c in got), (step, query)
            assert snap.document_frequency(query[0]) == fresh.document_frequency(query[0])
    merged = snap.merged()
    assert merged.delta.size == 0 and merged.tombstones == 0 and merged.main.size == len(live)
    assert ranked(merged, ["honey", "bee"]).keys() == ranked(snap, ["honey", "bee"]).keys()


def make(settings, embedder, **kw):
    store = ChunkStore(settings)
    index = KeywordIndex(store, settings.store.persist_dir / "bm25" / settings.store.collection, **kw)
    return store, index, Ingestor(settings, store, embedder, index)


def note(folder, name: str, text: str):
    path = folder / name
    path.write_text(text)
    return path


def test_an_update_tokenizes_the_change_not_the_collection(settings, hash_embedder, tmp_path, monkeypatch) -> None:
    store, index, ing = make(settings, hash_embedder)
    ing.ingest_paths([SEED_DOC])
    main = index.snapshot.main
    seen: list[int] = []
    real = keyword_index.tokenize
    monkeypatch.setattr(keyword_index, "tokenize", lambda texts: seen.append(len(texts)) or real(texts))
    ing.ingest_paths([note(tmp_path, "n.txt", "The medlar harvest starts in November.")])
    snap = index.snapshot
    assert seen == [1], "only the new chunk was tokenized"
    assert snap.main is main and snap.delta.size == 1 and snap.count == store.count()
    [hit] = index.search("medlar", 3)
    assert "medlar" in store.get_by_ids([hit.chunk_id])[hit.chunk_id][0].text
    doc_id = store.get_by_ids([hit.chunk_id])[hit.chunk_id][0].doc_id
    seed_doc = next(d["doc_id"] for d in store.list_documents() if d["doc_id"] != doc_id)
    ing.delete_document(seed_doc)  # main rows become tombstones; nothing is tokenized
    assert seen == [1, 1] or seen == [1]
    assert index.snapshot.main is main and index.snapshot.count == store.count() == 1
    assert index.search("Gazprom", 3) == [] and [h.chunk_id for h in index.search("medlar", 3)] == [hit.chunk_id]


def test_the_delta_is_merged_once_it_grows_and_everything_reloads(settings, hash_embedder, tmp_path) -> None:
    store, index, ing = make(settings, hash_embedder, merge_min=3, merge_ratio=0.0)
    ing.ingest_paths([SEED_DOC])
    main = index.snapshot.main
    for i in range(3):
        ing.ingest_paths([note(tmp_path, f"n{i}.txt", f"Note {i}: the quince number {i} ripens late.")])
    assert index.snapshot.main is main and index.snapshot.delta.size == 3
    ing.ingest_paths([note(tmp_path, "n3.txt", "Note 3: the quince number 3 ripens late.")])
    assert index.snapshot.main is not main and index.snapshot.delta.size == 0
    assert index.snapshot.main.size == store.count()
    ing.ingest_paths([note(tmp_path, "n4.txt", "Note 4: the quince number 4 ripens late.")])
    ing.delete_document(store.get_by_ids([index.search("number 0", 1)[0].chunk_id]).popitem()[1][0].doc_id)
    before = {h.chunk_id: h.score for h in index.search("quince ripens", 10)}
    # another process loads main, delta and tombstones from disk and agrees, without touching the store's text
    fresh = KeywordIndex(ChunkStore(settings), index.folder)
    assert fresh.sync() is False and fresh.size == store.count()
    assert {h.chunk_id: h.score for h in fresh.search("quince ripens", 10)} == before
    assert len(before) == 4
    folders = sorted(p.name.split("-")[0] for p in index.folder.iterdir() if p.is_dir())
    assert folders == ["delta", "main"], "one main and one delta on disk (the ones it replaced are removed)"


def test_an_index_saved_in_the_old_layout_is_rebuilt(settings, hash_embedder) -> None:
    store, index, ing = make(settings, hash_embedder)
    ing.ingest_paths([SEED_DOC])
    (index.folder / "current.json").write_text(json.dumps({"revision": store.revision(), "build": "build-x"}))
    fresh = KeywordIndex(ChunkStore(settings), index.folder)
    assert fresh.sync() is True and fresh.size == store.count()


def test_a_search_during_a_slow_update_answers_from_the_last_snapshot(settings, hash_embedder, tmp_path,
                                                                      monkeypatch) -> None:
    store, index, ing = make(settings, hash_embedder)
    ing.ingest_paths([SEED_DOC])
    entered, release = threading.Event(), threading.Event()
    real = keyword_index.tokenize

    def slow(texts):
        if threading.current_thread().name == "writer":
            entered.set()
            release.wait(10)
        return real(texts)

    monkeypatch.setattr(keyword_index, "tokenize", slow)
    writer = threading.Thread(target=ing.ingest_paths, name="writer",
                              args=([note(tmp_path, "m.txt", "The medlar harvest starts in November.")],))
    writer.start()
    assert entered.wait(10)
    t0 = time.perf_counter()
    assert index.search("Gazprom", 3) and index.search("medlar", 3) == []  # the whole previous snapshot
    assert time.perf_counter() - t0 < 5, "a reader does not wait for the update"
    release.set()
    writer.join(10)
    assert index.search("medlar", 3)


def test_searches_during_updates_never_pair_an_index_with_other_ids(settings, hash_embedder, tmp_path) -> None:
    """Readers search while a writer adds and deletes documents (each with its own word) and merges; every
    hit must be a chunk that holds the word searched for. An index published one attribute at a time (the
    new postings with the old id list) answers with chunks of other documents."""
    store, index, ing = make(settings, hash_embedder, merge_min=4, merge_ratio=0.0)
    texts: dict[str, str] = {}  # every chunk id ever written -> its text (ids are derived from content)
    words = [f"w{i:03d}x" for i in range(12)]
    stop = threading.Event()
    errors: list[str] = []

    def write() -> None:
        rng = random.Random(3)
        present: list[str] = []
        try:
            for i, word in enumerate(words):
                filler = " ".join(rng.choices(WORDS, k=20))
                path = note(tmp_path, f"d{i}.txt", f"{filler} {word} {filler}.")
                for c in ing.ingest_paths([path]).documents:
                    ids = list(store.ids_for_document(c.doc_id))
                    texts.update({cid: t for cid, t, _ in store.iter_chunks_by_ids(ids)})
                    present.append(c.doc_id)
                if len(present) > 5:
                    ing.delete_document(present.pop(rng.randrange(len(present))))
        except Exception as exc:  # reported by the test, not lost in the thread
            errors.append(repr(exc))
        finally:
            stop.set()

    def read(seed: int) -> None:
        rng = random.Random(seed)
        while not stop.is_set():
            word = rng.choice(words)
            for hit in index.search(word, 5):
                if word not in texts.get(hit.chunk_id, word):
                    errors.append(f"{word} -> {hit.chunk_id}: {texts[hit.chunk_id][:60]}")

    readers = [threading.Thread(target=read, args=(s,)) for s in range(2)]
    writer = threading.Thread(target=write)
    for t in (*readers, writer):
        t.start()
    for t in (writer, *readers):
        t.join(120)
    assert not errors, errors[:5]
    assert index.sync() in (True, False) and index.size == store.count()
    assert index.snapshot.live_ids() == set(store.iter_ids())


@pytest.mark.parametrize("k", [1, 3])
def test_filters_and_k_over_both_segments(settings, hash_embedder, tmp_path, k) -> None:
    store, index, ing = make(settings, hash_embedder)
    a = ing.ingest_paths([note(tmp_path, "a.txt", "Quince jelly from the orchard.")]).documents[0]
    b = ing.ingest_paths([note(tmp_path, "b.txt", "Quince paste from the market.")]).documents[0]
    assert index.snapshot.main.size == 1 and index.snapshot.delta.size == 1
    assert len(index.search("quince", k)) == min(k, 2)
    assert {store.get_by_ids([h.chunk_id]).popitem()[1][0].doc_id for h in index.search("quince", 3, [b.doc_id])} \
        == {b.doc_id}
    assert index.search("quince", 3, sources=["nowhere"]) == [] and index.search("quince", 3, [a.doc_id])
