"""Prompt-lookup decoding against plain greedy decoding, on the exact prompts the chain sends.

    python -m benchmarks.lookup_decoding [--split tune] [--lookup 3 4 8] [--limit N]

The chain answers the seed questions of one split (`seeds/gold.jsonl`, `seeds/gold-shapes.jsonl`, and for
`--split test` the held-out `seeds/gold-shapes-heldout.jsonl`) with
lookup off, and every generation it asks for is recorded (messages, max_tokens). Each recorded generation
is then replayed through `LlamaCppLLM.stream_chat` once per setting (0 = llama-cpp-python's own greedy
decoding), each time after the model has read the system prompt with another question, as in normal use.
Reported per answer shape: completion tokens, total and writing time, and how many texts came out
identical to plain greedy decoding.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from benchmarks.common import Recorder, machine, p50_p95, table, write
from rag.backends.llm import build_llm
from rag.components import Components
from rag.config import PROJECT_ROOT, Settings


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="tune")
    ap.add_argument("--lookup", type=int, nargs="+", default=[3])
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    rows = []
    # the held-out shape questions are all test questions (they carry no split)
    for name, default in (("gold.jsonl", None), ("gold-shapes.jsonl", None), ("gold-shapes-heldout.jsonl", "test")):
        for line in (PROJECT_ROOT / "seeds" / name).read_text().splitlines():
            if line.strip() and json.loads(line).get("split", default) == args.split:
                rows.append(json.loads(line))
    rows = rows[: args.limit]
    settings_list = [0, *args.lookup]
    runs: dict[int, list[dict]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(store={"persist_dir": Path(tmp), "collection": "bench"}, llm={"lookup_tokens": 0})
        llm = build_llm(settings)
        rec = Recorder(llm)
        comps = Components(settings, llm=rec)
        comps.ingestor.ingest_paths([PROJECT_ROOT / "seeds"])
        system = {"role": "system", "content": comps.prompts.system}
        calls: list[tuple[str, list[dict], int]] = []
        for row in rows:
            rec.calls.clear()
            final = comps.chain.answer(row["question"])
            calls += [(final.shape, m, n) for m, n in rec.calls]
        print(f"{len(rows)} questions, {len(calls)} generations", flush=True)

        def warm() -> None:
            llm.lookup_tokens = 0
            list(llm.stream_chat([system, {"role": "user", "content": "Say OK."}], 1, 0.0))

        for i, (shape, messages, max_tokens) in enumerate(calls):
            for k in settings_list:
                warm()
                llm.lookup_tokens = k
                usage: dict = {}
                t0 = time.perf_counter()
                first = None
                parts = []
                for part in llm.stream_chat(messages, max_tokens, 0.0, usage):
                    first = first or time.perf_counter()
                    parts.append(part)
                end = time.perf_counter()
                runs[k].append({"shape": shape, "text": "".join(parts), "total_ms": (end - t0) * 1000,
                                "write_ms": (end - (first or end)) * 1000,
                                "completion_tokens": usage.get("completion_tokens", 0)})
            print(f"{i}: {shape} " + " ".join(f"{k}:{runs[k][-1]['total_ms']:.0f}ms" for k in settings_list),
                  flush=True)

    base = runs[0]
    md_rows, out = [], {"machine": machine(), "split": args.split, "settings": {}}
    for shape in sorted({r["shape"] for r in base}) + ["all"]:
        idx = [i for i, r in enumerate(base) if shape in ("all", r["shape"])]
        for k in settings_list:
            rs = [runs[k][i] for i in idx]
            same = sum(runs[k][i]["text"] == base[i]["text"] for i in idx)
            tot = p50_p95([r["total_ms"] for r in rs])
            write_s = sum(r["write_ms"] for r in rs) / 1000
            toks = sum(base[i]["completion_tokens"] for i in idx)
            md_rows.append([shape, len(idx), k, round(statistics.fmean(base[i]["completion_tokens"] for i in idx), 1),
                            tot["p50_ms"], tot["p95_ms"], round(sum(r["total_ms"] for r in rs) / len(rs)),
                            round(toks / max(write_s, 1e-6), 1), f"{same} of {len(idx)}"])
            out["settings"].setdefault(str(k), {})[shape] = {"total": tot, "identical": same, "n": len(idx)}
    out["rows"] = {str(k): v for k, v in runs.items()}
    md = (f"## Prompt-lookup decoding: {len(base)} generations for the {args.split} seed questions, "
          f"{machine()['cores']} cores\n\n"
          + table(["shape", "n", "lookup tokens", "completion tokens", "total p50 ms", "p95", "mean ms",
                   "written tokens/s", "text identical to plain greedy"], md_rows))
    write("lookup_decoding", out, md)


if __name__ == "__main__":
    main()
