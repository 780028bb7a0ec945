"""Chooses `answer.verify_min_by_shape` from `rag eval` rows of the tuning split (run with verify on and no
threshold, so every answered row holds its `verify` probability), by replaying each threshold:

    python -m benchmarks.verify_sweep tune-seeds.json tune-squad.json

Per shape (the one the chain classified), the rule fixed before looking: the threshold that most raises
`refused(unanswerable) - refused(answerable)` over all tune rows of that shape, with false refusals up by
at most --max-false (0.05); a tie keeps the lower threshold, and no gain keeps the shape unrefused.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.shape_tables import answer_shape, refused_by_verify

THRESHOLDS = [round(0.05 * i, 2) for i in range(1, 15)]  # 0.05 .. 0.7


def refused_share(rows: list[dict], t: float) -> float:
    if not rows:
        return 0.0
    out = [bool(r["scores"].get("refused")) or refused_by_verify(r, t) for r in rows]
    return sum(out) / len(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("results", type=Path, nargs="+")
    ap.add_argument("--max-false", type=float, default=0.05)
    args = ap.parse_args()
    rows = [r for p in args.results for r in json.loads(p.read_text())["rows"] if r.get("split") == "tune"]
    shapes = sorted({answer_shape(r) for r in rows})
    chosen: dict[str, float] = {}
    print("| shape | n answerable | n unanswerable | threshold | false refusals | unanswerable refused |")
    print("|---|---|---|---|---|---|")
    for shape in shapes:
        mine = [r for r in rows if answer_shape(r) == shape]
        ans = [r for r in mine if not r["unanswerable"]]
        una = [r for r in mine if r["unanswerable"]]
        base_f, base_u = refused_share(ans, 0.0), refused_share(una, 0.0)
        best, best_gain = None, 0.0
        for t in [0.0, *THRESHOLDS]:
            f, u = refused_share(ans, t), refused_share(una, t)
            print(f"| {shape} | {len(ans)} | {len(una)} | {t:.2f} | {f:.3f} | {u:.3f} |")
            gain = (u - base_u) - (f - base_f)
            if f - base_f <= args.max_false + 1e-9 and gain > best_gain + 1e-9:
                best, best_gain = t, gain
        if best is not None:
            chosen[shape] = best
    print(f"\nchosen: {json.dumps(chosen)}")


if __name__ == "__main__":
    main()
