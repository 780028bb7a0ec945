"""Upload-to-searchable: how long one uploaded document takes to be found by keyword search in a large
collection, and what of that is the BM25 update.

    python -m benchmarks.bm25_update [--chunks 100000] [--uploads 7]

The collection is synthetic (`fill_synthetic`: Zipf-vocabulary chunks with random vectors, no embedding).
Then, after the index is built once (the full build, timed: what every change cost when the index was
rebuilt whole), each upload is one squad-dev-13 paragraph carrying a word of its own, ingested with
`Ingestor.ingest_upload` (real MiniLM embedding, Chroma write, BM25 catch-up) and searched for until found.
Also timed: a fresh index loading the saved main + delta from disk (a new process), catching up after
another writer's upload (a second ingestor without this index), and a merge of the delta into the main.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.common import SQUAD_DOCS, fill_synthetic, p50_p95, paragraphs, table, write
from rag.components import Components
from rag.config import Settings
from rag.index.keyword import KeywordIndex
from rag.index.store import ChunkStore
from rag.ingest.pipeline import Ingestor


class TimedIndex(KeywordIndex):
    """Records how long each `sync` (the catch-up after a write) took."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sync_s: list[float] = []

    def sync(self) -> bool:
        t0 = time.perf_counter()
        try:
            return super().sync()
        finally:
            self.sync_s.append(time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunks", type=int, default=100_000)
    ap.add_argument("--uploads", type=int, default=7)
    ap.add_argument("--docs", type=Path, default=SQUAD_DOCS)
    args = ap.parse_args()
    texts = paragraphs(args.docs)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(store={"persist_dir": Path(tmp), "collection": "bench", "upsert_batch": 5000})
        comps = Components(settings)
        t0 = time.perf_counter()
        filled = fill_synthetic(comps.store, args.chunks)
        fill_s = time.perf_counter() - t0
        folder = settings.store.persist_dir / "bm25" / settings.store.collection
        index = TimedIndex(comps.store, folder, settings.store.bm25_merge_min, settings.store.bm25_merge_ratio)
        t0 = time.perf_counter()
        index.sync()
        build_s = time.perf_counter() - t0
        print(f"{args.chunks:,} chunks stored in {fill_s:.0f} s; BM25 full build {build_s:.2f} s", flush=True)
        ingestor = Ingestor(settings, comps.store, comps.embedder, index)
        comps.embedder.embed_documents(["warm up the model"])
        ingestor.ingest_upload(b"Warm up the chunker and tokenizer.", "warm-up.txt")

        total, bm25 = [], []
        for i in range(args.uploads):
            word = f"uploadmarker{i}"
            data = f"{texts[i % len(texts)]} {word}.".encode()
            index.sync_s.clear()
            t0 = time.perf_counter()
            res = ingestor.ingest_upload(data, f"upload-{i}.txt")
            while not (hits := index.search(word, 1)) or hits[0].chunk_id not in comps.store.ids_for_document(
                    res.doc_id):
                time.sleep(0.01)
            total.append(time.perf_counter() - t0)
            bm25.append(sum(index.sync_s))
            print(f"upload {i}: searchable after {total[-1]:.2f} s (BM25 {bm25[-1]:.3f} s)", flush=True)

        t0 = time.perf_counter()
        cold = KeywordIndex(ChunkStore(settings), folder)
        cold.search("uploadmarker0", 1)
        cold_s = time.perf_counter() - t0

        other = Ingestor(settings, ChunkStore(settings), comps.embedder, None)  # another process's writer
        other.ingest_upload(f"{texts[-1]} othermarker.".encode(), "other.txt")
        t0 = time.perf_counter()
        assert index.search("othermarker", 1)
        other_s = time.perf_counter() - t0

        rng = random.Random(7)
        search_ms = []
        for _ in range(100):  # keyword search over main + delta, as a question would
            words = rng.choice(filled).replace(".", "").split()
            k = rng.randint(0, len(words) - 3)
            t0 = time.perf_counter()
            index.search(" ".join(words[k:k + 3]), 20)
            search_ms.append((time.perf_counter() - t0) * 1000)

        snap = index.snapshot
        assert snap is not None
        t0 = time.perf_counter()
        merged = snap.merged()
        merged.main.save(Path(tmp) / "merged")
        merge_s = time.perf_counter() - t0

    p50 = statistics.median(total)
    rows = [["full build of the index (what every change cost before)", f"{build_s:.2f}"],
            ["upload to searchable, p50 (embed, store, BM25 catch-up, search)", f"{p50:.2f}"],
            ["upload to searchable, max", f"{max(total):.2f}"],
            ["of which the BM25 catch-up, p50", f"{statistics.median(bm25):.3f}"],
            ["another writer's upload, picked up by the next search", f"{other_s:.3f}"],
            ["a new process: load the saved index and search", f"{cold_s:.2f}"],
            ["keyword search (3 words, top 20), p50 / p95 ms", "{p50_ms} / {p95_ms}".format(**p50_p95(search_ms))],
            ["merging the delta into a new main, and saving it", f"{merge_s:.2f}"]]
    md = (f"## BM25 update: one upload into {args.chunks:,} chunks ({args.uploads} uploads)\n\n"
          + table(["what", "seconds"], rows)
          + f"\n\nDelta after the uploads: {snap.delta.size} chunks, {snap.tombstones} tombstones; merged "
            f"when over max({settings.store.bm25_merge_min}, {settings.store.bm25_merge_ratio} × main).")
    write(f"bm25_update_{args.chunks}", {
        "chunks": args.chunks, "uploads": args.uploads, "fill_s": fill_s, "full_build_s": build_s,
        "upload_to_searchable_s": total, "upload_to_searchable_p50_s": p50, "bm25_catch_up_s": bm25,
        "other_writer_pickup_s": other_s, "cold_load_and_search_s": cold_s, "merge_and_save_s": merge_s,
        "search_ms": p50_p95(search_ms)}, md)


if __name__ == "__main__":
    main()
