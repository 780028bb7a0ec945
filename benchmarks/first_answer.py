"""The first answer as fast as the tenth (issue #34): a real `rag serve` and real `rag ask` processes.

    python -m benchmarks.first_answer [--questions 6] [--askers 4] [--cold 3] [--port 7873]

1. Starts `rag serve` (real models, a temporary store seeded from seeds/) and polls /health: the seconds until
   it answers at all and until it says "ok" (it says "warming" while the models load and the shared prompt
   prefix is evaluated or restored from disk).
2. The first answer after "ok", then each other question alone (sequentially, each asked for the first time):
   the first answer against the median of those warm answers. The first question asked again is reported
   too; it is faster than any first-time question, since its evaluated prompt is kept (llm.saved_prompts).
3. `--askers` threads ask the same questions at once (each from its own starting point): p95 wall time against
   a warm answer, generation time under overlap against alone, and whether every answer is word for word
   the one given alone (greedy decoding must not depend on what else runs).
4. Stops the server and runs `rag ask --json` as new processes (`--cold` times) on the same store: wall time
   against the warm server answer of the same question.

Prints a table and writes JSON (`--out`). Small counts give a quick check; the issue's targets: first ≤ 1.3×
warm, `rag ask` ≤ 2× warm, p95 of 4 askers ≤ 4× warm, generation under overlap ≤ 1.3× alone.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from rag.config import PROJECT_ROOT
from rag.eval.metrics import percentile


def _ask(client: httpx.Client, base: str, question: str) -> dict:
    t = time.perf_counter()
    r = client.post(base + "/v1/answer", json={"question": question})
    r.raise_for_status()
    body = r.json()
    return {"question": question, "wall_ms": round((time.perf_counter() - t) * 1000, 1), "answer": body["answer"],
            "generate_ms": body["timings"]["generate_ms"], "check_ms": body["timings"]["check_ms"],
            "queue_ms": body["timings"]["queue_ms"], "total_ms": body["timings"]["total_ms"]}


def _wait_health(client: httpx.Client, base: str, started: float, proc: subprocess.Popen) -> dict:
    """Seconds until /health first answers, the statuses seen, and the seconds until it said "ok"."""
    seen: list[str] = []
    first = None
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"rag serve exited with {proc.returncode}")
        try:
            status = client.get(base + "/health", timeout=5).json()["status"]
        except (httpx.HTTPError, ValueError, KeyError):
            time.sleep(0.1)
            continue
        first = first or time.perf_counter() - started
        if not seen or seen[-1] != status:
            seen.append(status)
        if status == "ok":
            return {"health_first_s": round(first, 2), "health_ok_s": round(time.perf_counter() - started, 2),
                    "statuses": seen}
        if status == "degraded" and "warming" in seen:
            raise SystemExit("the warm-up failed: /health says degraded")
        time.sleep(0.1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", type=int, default=6, help="Seed questions asked alone and at once (2 or more)")
    ap.add_argument("--askers", type=int, default=4)
    ap.add_argument("--cold", type=int, default=3, help="Cold `rag ask` processes")
    ap.add_argument("--port", type=int, default=7873)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/first_answer.json"))
    args = ap.parse_args()
    gold = [json.loads(x) for x in (PROJECT_ROOT / "seeds" / "gold.jsonl").read_text().splitlines() if x.strip()]
    questions = [g["question"] for g in gold if not g.get("unanswerable")][: args.questions]
    base = f"http://127.0.0.1:{args.port}"
    result: dict = {"questions": questions, "askers": args.askers}
    with tempfile.TemporaryDirectory() as tmp:
        env = os.environ | {"RAG_STORE__PERSIST_DIR": tmp, "RAG_STORE__COLLECTION": "bench", "RAG_LOG__LEVEL": "INFO"}
        log = Path(tmp) / "serve.log"
        started = time.perf_counter()
        with log.open("w") as err:
            proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--port", str(args.port)],
                                    env=env, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=err)
        try:
            with httpx.Client(timeout=600, trust_env=False) as client:
                result["start"] = _wait_health(client, base, started, proc)
                first = _ask(client, base, questions[0])
                alone = [first, *(_ask(client, base, q) for q in questions[1:])]
                again = _ask(client, base, questions[0])
                result |= {"first": first, "alone": alone, "first_again": again}
                overlap: list[dict] = []

                def asker(i: int) -> None:
                    with httpx.Client(timeout=600, trust_env=False) as own:
                        for q in questions[i % len(questions):] + questions[: i % len(questions)]:
                            overlap.append(_ask(own, base, q))

                threads = [threading.Thread(target=asker, args=(i,)) for i in range(args.askers)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                result["overlap"] = overlap
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(60)
        result["warmup_log"] = [line for line in log.read_text().splitlines() if "rag.warm" in line]
        cold = []
        for _ in range(args.cold):
            t = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "rag.cli", "ask", "--json", questions[0]], env=env,
                                  cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
            wall = round((time.perf_counter() - t) * 1000, 1)
            body = json.loads(done.stdout)
            cold.append({"wall_ms": wall, "answer": body["answer"], "timings": body.get("timings")})
        result["cold_ask"] = cold

    by_q = {r["question"]: r for r in alone}
    warm_ms = statistics.median(r["wall_ms"] for r in alone[1:]) if len(alone) > 1 else again["wall_ms"]
    walls = [r["wall_ms"] for r in overlap]
    gen_alone = statistics.mean(r["generate_ms"] for r in alone)
    gen_overlap = statistics.mean(r["generate_ms"] for r in overlap)
    differ = sorted({r["question"] for r in overlap if r["answer"] != by_q[r["question"]]["answer"]})
    summary = {
        "health_ok_s": result["start"]["health_ok_s"],
        "first_ms": first["wall_ms"], "warm_ms": warm_ms, "first_over_warm": round(first["wall_ms"] / warm_ms, 2),
        "first_again_ms": again["wall_ms"],
        "cold_ask_ms": statistics.median(c["wall_ms"] for c in cold) if cold else None,
        "cold_ask_over_warm": round(statistics.median(c["wall_ms"] for c in cold) / warm_ms, 2) if cold else None,
        "overlap_p95_ms": round(percentile(walls, 0.95), 1),
        "overlap_p95_over_warm": round(percentile(walls, 0.95) / warm_ms, 2),
        "generate_alone_ms": round(gen_alone, 1), "generate_overlap_ms": round(gen_overlap, 1),
        "generate_overlap_over_alone": round(gen_overlap / gen_alone, 2) if gen_alone else None,
        "first_again_differs": again["answer"] != first["answer"],
        "answers_differing_under_overlap": differ,
        "cold_answers_differing": sum(c["answer"] != by_q[questions[0]]["answer"] for c in cold),
    }
    result["summary"] = summary
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False))
    width = max(map(len, summary))
    for key, value in summary.items():
        print(f"{key:<{width}}  {value}")
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
