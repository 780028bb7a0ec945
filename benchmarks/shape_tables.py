"""Per-shape tables from `rag eval` results, split by tune/test: the figures the answer-shapes work reports.

    python -m benchmarks.shape_tables eval-results/after-seeds.json eval-results/after-squad.json
    python -m benchmarks.shape_tables after-squad.json --verify-min factoid=0.3   # replay a threshold

Rows are grouped by question set (seed factoid, seed shapes, squad factoid, two-hop, adversarial) and shape.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from rag.eval.metrics import percentile


def group(row: dict) -> str:
    rid = row["id"]
    if rid.startswith("adv-"):
        return "adversarial (unanswerable)"
    if rid.startswith(("hop-", "ho-hop-")):
        return f"two-hop {row.get('shape') or 'factoid'}"
    if rid.startswith("sq-"):  # squad13-why and squad13-shapes: one paragraph each
        return f"squad {row.get('shape')}"
    if rid.startswith(("shape-", "ho-")):
        return f"seed {row.get('shape')}" + (" (unanswerable)" if row["unanswerable"] else "")
    if rid.startswith("seed-"):
        return "seed factoid" + (" (unanswerable)" if row["unanswerable"] else "")
    return "squad factoid"


def answer_shape(row: dict) -> str:
    """The shape the chain classified (what its per-shape thresholds act on), else the gold set's."""
    return row.get("answer_shape") or row.get("shape") or "factoid"


def refused_by_verify(row: dict, threshold: float | None) -> bool:
    """Whether a verification threshold, replayed on the stored probability, refuses an answered row."""
    return (threshold is not None and not row["scores"].get("refused") and row.get("verify") is not None
            and row["verify"] < threshold)


def table(rows: list[dict], threshold: float | None = None, verify_min: dict[str, float] | None = None) -> str:
    out = ["| set / shape | n | F1 | false refusals | refusal recall | context recall | total p50 ms | "
           "first token p50 ms |", "|---|---|---|---|---|---|---|---|"]
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(group(r), []).append(r)

    def refused(r: dict) -> bool:
        if threshold is not None and r.get("check") is not None and r["check"] < threshold:
            return True
        if refused_by_verify(r, (verify_min or {}).get(answer_shape(r))):
            return True
        return bool(r["scores"].get("refused"))

    def mean(vals: list[float]) -> str:
        return f"{statistics.fmean(vals):.3f}" if vals else "—"

    for name in sorted(groups):
        g = groups[name]
        ans = [r for r in g if not r["unanswerable"]]
        una = [r for r in g if r["unanswerable"]]
        f1 = [0.0 if refused(r) else r["scores"].get("f1", 0.0) for r in ans]
        ctx = [r["scores"]["context_recall"] for r in ans if "context_recall" in r["scores"]]
        total = [r["timings"].get("total_ms") or 0.0 for r in g]
        first = [r["timings"]["first_token_ms"] for r in g if r["timings"].get("first_token_ms")]
        out.append(f"| {name} | {len(g)} | {mean(f1)} | {mean([float(refused(r)) for r in ans])} | "
                   f"{mean([float(refused(r)) for r in una])} | {mean(ctx)} | "
                   f"{percentile(total, 0.5):.0f} | {percentile(first, 0.5):.0f} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("results", type=Path, nargs="+")
    ap.add_argument("--threshold", type=float, default=None,
                    help="Refuse where the stored check probability is below this (sweeps check_min offline)")
    ap.add_argument("--verify-min", action="append", default=[], metavar="SHAPE=P",
                    help="Refuse an answered question of this shape whose stored verification is below P "
                         "(replays answer.verify_min_by_shape offline); repeat per shape")
    args = ap.parse_args()
    verify_min = {k: float(v) for k, v in (x.split("=", 1) for x in args.verify_min)}
    rows = [r for p in args.results for r in json.loads(p.read_text())["rows"]]
    for split in ("tune", "test", None):
        part = [r for r in rows if r.get("split") == split]
        if part:
            print(f"\n### split: {split or 'none (seed factoid set, used for earlier calibration)'}\n")
            print(table(part, args.threshold, verify_min))


if __name__ == "__main__":
    main()
