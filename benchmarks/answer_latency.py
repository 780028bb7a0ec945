"""Answer latency for the seed gold questions, and our overhead over llama-cpp-python called directly.

    python -m benchmarks.answer_latency [--gold seeds/gold.jsonl] [--docs seeds] [--limit 41]

For each question: the whole chain (`AnswerChain.stream`: retrieval, context assembly, generation,
citation checking), then llama-cpp-python's `create_chat_completion` on the same loaded model with the
exact messages the chain sent. Before each of the two, the model reads the system prompt with another
question, so both start from the same cached prefix (the system prompt), as in normal use.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.common import Recorder, p50_p95, table, write
from rag.backends.llm import build_llm
from rag.components import Components
from rag.config import PROJECT_ROOT, Settings


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gold", type=Path, default=PROJECT_ROOT / "seeds" / "gold.jsonl")
    ap.add_argument("--docs", type=Path, default=PROJECT_ROOT / "seeds")
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    rows = [json.loads(line) for line in args.gold.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if not r.get("unanswerable")][: args.limit]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(store={"persist_dir": Path(tmp), "collection": "bench"})
        llm = build_llm(settings)
        rec = Recorder(llm)
        comps = Components(settings, llm=rec)
        comps.ingestor.ingest_paths([args.docs])
        llama = llm.load()  # type: ignore[attr-defined]  # llama-cpp-python's model, also timed directly
        system = {"role": "system", "content": comps.prompts.system}
        max_tokens = comps.settings.llm.max_tokens

        def warm() -> None:
            llama.create_chat_completion(messages=[system, {"role": "user", "content": "Say OK."}], max_tokens=1)

        ours, direct = [], []
        for row in rows:
            warm()
            final = comps.chain.answer(row["question"])
            t = final.timings
            gen_s = max((t.total_ms - (t.first_token_ms or t.total_ms)) / 1000, 1e-6)
            ours.append({"id": row["id"], "first_token_ms": t.first_token_ms, "total_ms": t.total_ms,
                         "completion_tokens": final.usage.completion_tokens, "gen_s": gen_s,
                         "prompt_tokens": final.usage.prompt_tokens, "answer": final.answer})
            warm()
            t0 = time.perf_counter()
            first, n = None, 0
            for part in llama.create_chat_completion(messages=rec.last, max_tokens=max_tokens, temperature=0.0,
                                                     stream=True):
                if part["choices"][0]["delta"].get("content"):
                    first = first or time.perf_counter()
                    n += 1
            end = time.perf_counter()
            direct.append({"id": row["id"], "first_token_ms": ((first or end) - t0) * 1000,
                           "total_ms": (end - t0) * 1000, "completion_tokens": n,
                           "gen_s": max(end - (first or end), 1e-6)})
            print(f"{row['id']}: ours {ours[-1]['total_ms']:.0f} ms, direct {direct[-1]['total_ms']:.0f} ms",
                  flush=True)

    def summary(runs: list[dict]) -> dict:
        toks = sum(r["completion_tokens"] for r in runs)
        return {"first_token": p50_p95([r["first_token_ms"] for r in runs]),
                "total": p50_p95([r["total_ms"] for r in runs]),
                "completion_tokens_mean": round(statistics.fmean(r["completion_tokens"] for r in runs), 1),
                "generation_tokens_per_s": round(toks / sum(r["gen_s"] for r in runs), 1)}

    s_ours, s_direct = summary(ours), summary(direct)
    md_rows = [[name, s["first_token"]["p50_ms"], s["first_token"]["p95_ms"], s["total"]["p50_ms"],
                s["total"]["p95_ms"], s["completion_tokens_mean"], s["generation_tokens_per_s"]]
               for name, s in (("ours: whole chain", s_ours), ("llama-cpp-python direct, same prompt", s_direct))]
    overhead = s_ours["total"]["p50_ms"] - s_direct["total"]["p50_ms"]
    md = (f"## Answer latency: {len(rows)} answerable seed questions, {comps.llm.name}\n\n"
          + table(["", "first token p50 ms", "p95", "total p50 ms", "p95", "completion tokens", "gen tokens/s"],
                  md_rows)
          + f"\n\nOur overhead at the median: {overhead:.0f} ms (retrieval, context assembly, citation checking;"
            " the first token waits for the opening words, held back to catch a refusal).")
    write("answer_latency", {"ours": s_ours, "direct": s_direct, "rows_ours": ours, "rows_direct": direct}, md)


if __name__ == "__main__":
    main()
