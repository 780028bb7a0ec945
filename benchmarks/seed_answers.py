"""Time to first token, total time and the answers for gold questions, through the real chain.

    python -m benchmarks.seed_answers [--gold seeds/gold.jsonl] [--limit 5] [--docs seeds]

Ingests --docs into a temporary store, asks each question once, prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from rag.components import Components
from rag.config import PROJECT_ROOT, Settings


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gold", type=Path, default=PROJECT_ROOT / "seeds" / "gold.jsonl")
    ap.add_argument("--docs", type=Path, default=PROJECT_ROOT / "seeds")
    ap.add_argument("--limit", type=int, default=5)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/seed_answers.json"))
    args = ap.parse_args()
    rows = [json.loads(line) for line in args.gold.read_text().splitlines() if line.strip()][: args.limit]
    with tempfile.TemporaryDirectory() as tmp:
        comps = Components(Settings(store={"persist_dir": Path(tmp), "collection": "bench"}))
        t0 = time.perf_counter()
        report = comps.ingestor.ingest_paths([args.docs])
        print(f"ingest: {len(report.documents)} docs, {report.chunks} chunks, {time.perf_counter() - t0:.1f} s")
        if hasattr(comps.llm, "load"):
            comps.llm.load()  # model load time is not answer time
        results = []
        for row in rows:
            final = comps.chain.answer(row["question"])
            gold = [a.lower() for a in row.get("answers", [])]
            hit = (not final.answerable) if row.get("unanswerable") else any(g in final.answer.lower() for g in gold)
            cited = any(any(g in c.quote.lower() for g in gold) for c in final.citations)
            results.append({"id": row["id"], "question": row["question"], "answer": final.answer,
                            "answerable": final.answerable, "correct": hit, "quote_has_answer": cited,
                            "first_token_ms": final.timings.first_token_ms, "total_ms": final.timings.total_ms})
            print(f"{'ok ' if hit else 'BAD'} ttft {final.timings.first_token_ms or 0:7.0f} ms  total "
                  f"{final.timings.total_ms:7.0f} ms  {row['question']}\n      -> {final.answer}", flush=True)
    totals = [r["total_ms"] for r in results]
    ttfts = [r["first_token_ms"] for r in results if r["first_token_ms"]]
    summary = {"questions": len(results), "correct": sum(r["correct"] for r in results),
               "quote_has_answer": sum(r["quote_has_answer"] for r in results),
               "total_ms_p50": statistics.median(totals),
               "first_token_ms_p50": statistics.median(ttfts) if ttfts else None}
    print(json.dumps(summary))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": summary, "rows": results}, indent=1))


if __name__ == "__main__":
    main()
