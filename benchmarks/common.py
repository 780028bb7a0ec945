"""Shared by the benchmark scripts: machine facts, percentiles, writing JSON and a Markdown table."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

from rag.eval.metrics import percentile

RESULTS = Path("benchmarks/results")


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "system": platform.platform()}


def p50_p95(values_ms: list[float]) -> dict[str, float]:
    return {"p50_ms": round(percentile(values_ms, 0.5), 1), "p95_ms": round(percentile(values_ms, 0.95), 1)}


def table(headers: list[str], rows: list[list[Any]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def write(name: str, data: dict[str, Any], markdown: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {"machine": machine()} | data
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=1))
    m = data["machine"]
    md = f"{markdown}\n\nMachine: {m['cores']} cores, {m['cpu']}.\n"
    (RESULTS / f"{name}.md").write_text(md)
    print(md)
