"""Systems side by side from several `rag eval` results files over the same questions: per corpus, F1 / false
refusals / unanswerable refused, and a pooled row weighted by questions.

    python -m benchmarks.systems_table tune30.json tune3.json --column 'simple=simple' \
        --column 'default=answer.skip_steps=[]'

A column is LABEL=SYSTEM, SYSTEM being a run's name in the results (its `--set`, `simple`, ...); when two files
hold a system of the same name, the later file's wins: name the file first with FILE:SYSTEM.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

Runs = dict[str, dict[str, dict[str, Any]]]  # system -> corpus -> summary


def systems(path: Path) -> Runs:
    out: Runs = {}
    for corpus, run in json.loads(path.read_text())["corpora"].items():
        out.setdefault(run["config"]["system"], {})[corpus] = run["summary"]
        for name, base in run.get("baselines", {}).items():
            out.setdefault(name, {})[corpus] = base["summary"]
        for variant in run.get("sweep", []):
            out.setdefault(variant["name"], {})[corpus] = variant["summary"]
    return out


def cell(s: dict[str, Any]) -> str:
    rr = s.get("refusal_recall")
    return f"{s['f1']:.3f} / {s['false_refusal_rate']:.3f}" + (f" / {rr:.3f}" if rr is not None else "")


def pooled(per: dict[str, dict[str, Any]]) -> str:
    answerable = sum(s["answerable_questions"] for s in per.values())
    unanswerable = sum(s["unanswerable_questions"] for s in per.values())
    f1 = sum((s["f1"] or 0.0) * s["answerable_questions"] for s in per.values()) / answerable
    fr = sum((s["false_refusal_rate"] or 0.0) * s["answerable_questions"] for s in per.values()) / answerable
    rr = sum((s["refusal_recall"] or 0.0) * s["unanswerable_questions"] for s in per.values()) / max(1, unanswerable)
    return f"{f1:.3f} / {fr:.3f} / {rr:.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+", type=Path)
    ap.add_argument("--column", action="append", required=True, help="LABEL=SYSTEM or LABEL=FILE:SYSTEM")
    args = ap.parse_args()
    by_file = {str(p): systems(p) for p in args.results}
    merged: Runs = {}
    for runs in by_file.values():
        merged.update(runs)
    cols: list[tuple[str, dict[str, dict[str, Any]]]] = []
    for spec in args.column:
        label, _, name = spec.partition("=")
        file, sep, system = name.partition(":")
        cols.append((label, by_file[file][system] if sep and file in by_file else merged[name]))
    corpora = list(cols[0][1])
    print("| corpus | " + " | ".join(label for label, _ in cols) + " |")
    print("|---|" + "---|" * len(cols))
    for c in corpora:
        print(f"| {c} | " + " | ".join(cell(per[c]) for _, per in cols) + " |")
    print("| pooled | " + " | ".join(pooled(per) for _, per in cols) + " |")


if __name__ == "__main__":
    main()
