"""float32 against bfloat16 embeddings: speed, closeness, and retrieval on the tuning questions.

    python -m benchmarks.embed_precision [--docs ../shared/datasets/squad-dev-13/docs]

The same corpus is ingested twice into fresh embedded Chroma stores, once per `embed_precision`, and the
`split == "tune"` questions of `benchmarks/gold/squad13-factoid.jsonl` and `seeds/gold.jsonl` are retrieved
from each (dense alone, and hybrid with the rerank as the chain runs it). Reported: embedding seconds for
the corpus's chunks, the lowest and mean cosine between the two vectors of each chunk, and hit@5, recall@5
and MRR of the evidence. Only tune questions are read: this benchmark chooses the default.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import SQUAD_DOCS, table, write
from rag.components import Components, build_retriever
from rag.config import PROJECT_ROOT, Settings
from rag.eval.gold import load_gold
from rag.eval.metrics import retrieval_metrics

SETS = [(PROJECT_ROOT / "benchmarks/gold/squad13-factoid.jsonl", SQUAD_DOCS), (PROJECT_ROOT / "seeds/gold.jsonl",
                                                                              PROJECT_ROOT / "seeds")]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=Path, default=SQUAD_DOCS)
    args = ap.parse_args()
    sets = [(g, args.docs if d == SQUAD_DOCS else d) for g, d in SETS]
    results: dict[str, dict] = {}
    vectors: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for precision in ("float32", "bfloat16"):
            row: dict = {}
            for gold_path, docs in sets:
                name = gold_path.stem
                comps = Components(
                    Settings(
                        store={"persist_dir": Path(tmp) / precision / name, "collection": "bench"},
                        embed={"precision": precision},
                    )
                )
                emb = comps.embedder
                emb.embed_documents(["warm up the model"])
                t0 = time.perf_counter()
                comps.ingestor.sync(docs)
                row[f"{name}_ingest_s"] = time.perf_counter() - t0
                ids = sorted(comps.store.iter_ids())
                got = comps.store.get_by_ids(ids, embeddings=True)
                vectors[f"{precision}/{name}"] = np.asarray([got[i][1] for i in ids])
                items = [i for i in load_gold(gold_path, split="tune") if not i.unanswerable]
                for mode in ("dense", "hybrid"):
                    policy = comps.settings.retrieval.model_copy(update={"mode": mode})
                    retriever = build_retriever(policy, comps.store, emb, comps.keyword_index)
                    sums = {"hit@5": 0.0, "recall@5": 0.0, "rr": 0.0}
                    for item in items:
                        texts = [p.chunk.text for p in retriever.retrieve(item.question, 5)]
                        m = retrieval_metrics(texts, item.target_evidence, (5,))
                        for k in sums:
                            sums[k] += m[k]
                    for k, v in sums.items():
                        row[f"{name}_{mode}_{k}"] = v / len(items)
                row[f"{name}_questions"] = len(items)
            results[precision] = row
    closeness = {}
    for gold_path, _ in sets:
        a, b = vectors[f"float32/{gold_path.stem}"], vectors[f"bfloat16/{gold_path.stem}"]
        cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
        closeness[gold_path.stem] = {"chunks": len(a), "cos_min": float(cos.min()), "cos_mean": float(cos.mean())}
    rows = []
    for gold_path, _ in sets:
        n = gold_path.stem
        for precision, r in results.items():
            rows.append([n, precision, r[f"{n}_questions"], f"{r[f'{n}_ingest_s']:.1f}",
                         *(f"{r[f'{n}_{mode}_{k}']:.3f}" for mode in ("dense", "hybrid")
                           for k in ("hit@5", "recall@5", "rr"))])
    md = ("## Embedding precision: float32 against bfloat16 (tune questions only)\n\n"
          + table(["set", "precision", "questions", "ingest s", "dense hit@5", "dense recall@5", "dense MRR",
                   "hybrid hit@5", "hybrid recall@5", "hybrid MRR"], rows)
          + "\n\n" + "\n".join(f"- {n}: {c['chunks']} chunks, cosine between the two vectors of a chunk: "
                               f"min {c['cos_min']:.6f}, mean {c['cos_mean']:.6f}" for n, c in closeness.items()))
    write("embed_precision", {"results": results, "closeness": closeness}, md)


if __name__ == "__main__":
    main()
