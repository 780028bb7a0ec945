"""Wall time of a whole-process `rag sync` of a folder that has not changed: what a cron job pays.

    python -m benchmarks.noop_sync [--files 1000] [--runs 7] [--folder DIR]

Writes N one-paragraph files from squad-dev-13 (or uses --folder), syncs them once into a temporary store
(timed too, as a whole process), then runs `rag sync` again --runs times with nothing to do. Each run is a
fresh `python -m rag.cli sync` process: interpreter start, imports, opening the store, hashing every file,
comparing with the stored records. The top cumulative imports of one more no-op run (`-X importtime`)
are kept beside the timings.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import SQUAD_DOCS, p50_p95, table, write, write_small_files


def _run(args: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{proc.stderr}")
    return elapsed, proc


def top_imports(stderr: str, n: int = 12) -> list[tuple[str, float]]:
    """Top-level modules by cumulative import time (ms), from `-X importtime` output."""
    rows = []
    for line in stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\S.*)$", line)
        if m:  # a module imported at the top level (no indentation before its name)
            rows.append((m.group(2).strip(), int(m.group(1)) / 1000))
    return sorted(rows, key=lambda r: -r[1])[:n]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--docs", type=Path, default=SQUAD_DOCS, help="where the paragraphs come from")
    ap.add_argument("--folder", type=Path, help="sync this folder instead of writing one")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder or Path(tmp) / "notes"
        if not args.folder:
            write_small_files(folder, args.files, args.docs)
        n_files = sum(1 for p in folder.rglob("*") if p.is_file())
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
        env.update(RAG_STORE__PERSIST_DIR=str(Path(tmp) / "store"), RAG_STORE__COLLECTION="noop", HF_HUB_OFFLINE="1")
        cmd = ["-m", "rag.cli", "sync", str(folder)]
        first_s, first = _run(cmd, env)
        print(f"first sync of {n_files} files: {first_s:.1f} s", flush=True)
        times = []
        for _ in range(args.runs):
            elapsed, proc = _run(cmd, env)
            assert f"{n_files} unchanged" in " ".join(proc.stderr.split()), proc.stderr
            times.append(elapsed)
        _, traced = _run(["-X", "importtime", *cmd], env)
        imports = top_imports(traced.stderr)
        heavy = [m for m in ("torch", "sentence_transformers", "transformers", "llama_cpp", "llama_index")
                 if re.search(rf"\| +{m}(\.|$)", traced.stderr, re.MULTILINE)]
    stats = p50_p95([t * 1000 for t in times])
    p50 = statistics.median(times)
    md = (f"## No-op `rag sync` of {n_files} unchanged files (whole process, {args.runs} runs)\n\n"
          + table(["run", "wall s"], [["first sync (ingest)", f"{first_s:.2f}"],
                                      ["no-op p50", f"{p50:.2f}"], ["no-op p95", f"{stats['p95_ms'] / 1000:.2f}"],
                                      ["no-op min / max", f"{min(times):.2f} / {max(times):.2f}"],
                                      ["no-op share of first sync", f"{100 * p50 / first_s:.1f}%"]])
          + "\n\nTop imports of a no-op run (cumulative ms, `-X importtime`):\n\n"
          + table(["module", "ms"], [[m, f"{ms:.0f}"] for m, ms in imports])
          + f"\n\nModel libraries imported: {', '.join(heavy) or 'none'}.")
    write("noop_sync", {"files": n_files, "runs": args.runs, "first_sync_s": first_s, "noop_s": times,
                        "noop_p50_s": p50, "noop_p95_s": stats["p95_ms"] / 1000, "top_imports_ms": imports,
                        "model_libraries_imported": heavy}, md)


if __name__ == "__main__":
    main()
