"""Latency through the HTTP API: N sequential seed questions, then M at once.

    python -m benchmarks.api_latency [--sequential 20] [--concurrent 8]

Starts the real server (real models, a temporary store with seeds/) on a loopback port and calls
POST /v1/answer with httpx. Prints p50/p95 and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import uvicorn

from rag.components import Components
from rag.config import PROJECT_ROOT, Settings
from rag.eval.metrics import percentile
from rag.web.server import create_app


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sequential", type=int, default=20)
    ap.add_argument("--concurrent", type=int, default=8)
    ap.add_argument("--port", type=int, default=7871)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/api_latency.json"))
    args = ap.parse_args()
    gold = [json.loads(x) for x in (PROJECT_ROOT / "seeds" / "gold.jsonl").read_text().splitlines() if x.strip()]
    questions = [g["question"] for g in gold if not g.get("unanswerable")]
    with tempfile.TemporaryDirectory() as tmp:
        comps = Components(Settings(store={"persist_dir": Path(tmp), "collection": "bench"}))
        comps.ingestor.ingest_paths([PROJECT_ROOT / "seeds"])
        comps.llm.load()
        server = uvicorn.Server(uvicorn.Config(create_app(comps, with_ui=False), host="127.0.0.1",
                                               port=args.port, log_level="warning"))
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.1)
        url = f"http://127.0.0.1:{args.port}/v1/answer"
        with httpx.Client(timeout=600) as client:

            def ask(q: str) -> float:
                t = time.perf_counter()
                r = client.post(url, json={"question": q})
                r.raise_for_status()
                return (time.perf_counter() - t) * 1000

            seq = [ask(q) for q in questions[: args.sequential]]
            t0 = time.perf_counter()
            with ThreadPoolExecutor(args.concurrent) as pool:
                conc = list(pool.map(ask, questions[args.sequential: args.sequential + args.concurrent]))
            wall = (time.perf_counter() - t0) * 1000
        server.should_exit = True
    result = {
        "sequential": {"n": len(seq), "p50_ms": statistics.median(seq), "p95_ms": percentile(seq, 0.95)},
        "concurrent": {"n": len(conc), "p50_ms": statistics.median(conc), "p95_ms": percentile(conc, 0.95),
                       "wall_ms": wall},
    }
    print(f"{'run':<12}{'n':>4}{'p50 ms':>10}{'p95 ms':>10}")
    for k, v in result.items():
        print(f"{k:<12}{v['n']:>4}{v['p50_ms']:>10.0f}{v['p95_ms']:>10.0f}")
    print(f"concurrent wall time: {wall:.0f} ms")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
