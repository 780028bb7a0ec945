"""Retrieval latency at 1k, 10k and 100k chunks, dense and hybrid, as the answer chain runs them.

    python -m benchmarks.retrieval_latency [--sizes 1000,10000,100000] [--queries 200]

The larger collections are synthetic: chunks of ~120 words drawn from a Zipf-distributed vocabulary,
with random unit vectors (the embedder's 384 dimensions) instead of embeddings, since latency depends on
the collection's size, not on what the vectors mean. They go through our own store (`replace_document`)
and BM25 index. Queries are real: 8 consecutive words of a random chunk, embedded by MiniLM. Each
latency is one whole `retrieve()` call: query embedding, Chroma, BM25, fusion and the sentence rerank.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from benchmarks.common import fill_synthetic, p50_p95, table, write
from rag.components import Components, build_retriever
from rag.config import Settings


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()
    results, rows = [], []
    for size in [int(s) for s in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            comps = Components(Settings(store={"persist_dir": Path(tmp), "collection": "bench", "upsert_batch": 5000}))
            t0 = time.perf_counter()
            texts = fill_synthetic(comps.store, size)
            fill_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            comps.keyword_index.sync()
            bm25_s = time.perf_counter() - t0
            rng = random.Random(7)
            queries = []
            for _ in range(args.queries):
                words = rng.choice(texts).replace(".", "").split()
                k = rng.randint(0, len(words) - 8)
                queries.append(" ".join(words[k:k + 8]))
            comps.embedder.embed_query("warm up")
            for mode in ("dense", "hybrid"):
                for rerank in (False, True):
                    policy = comps.settings.retrieval.model_copy(update={"mode": mode, "rerank": rerank})
                    r = build_retriever(policy, comps.store, comps.embedder, comps.keyword_index)
                    r.retrieve(queries[0], 3)  # first call loads what it loads
                    lat = []
                    for q in queries:
                        t0 = time.perf_counter()
                        r.retrieve(q, 3)
                        lat.append((time.perf_counter() - t0) * 1000)
                    stats = p50_p95(lat)
                    name = mode + (" + rerank" if rerank else "")
                    results.append({"chunks": size, "mode": name, **stats, "fill_s": fill_s,
                                    "bm25_build_s": bm25_s})
                    rows.append([f"{size:,}", name, stats["p50_ms"], stats["p95_ms"]])
            print(f"{size} chunks: stored in {fill_s:.1f} s, BM25 built in {bm25_s:.1f} s", flush=True)
    md = ("## Retrieval latency (top 3, one `retrieve()` call, query embedding included)\n\n"
          + table(["chunks", "retriever", "p50 ms", "p95 ms"], rows)
          + "\n\nStore and BM25 build: " + "; ".join(
              f"{r['chunks']:,} chunks stored in {r['fill_s']:.0f} s, BM25 built in {r['bm25_build_s']:.1f} s"
              for r in results if r["mode"] == "dense"))
    write("retrieval_latency", {"results": results}, md)


if __name__ == "__main__":
    main()
