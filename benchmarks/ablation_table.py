"""The ablation table of issue #30 from `rag eval` results: each answer step left out (a `--set` variant of
the run), per corpus, against the run's own default; which corpora the step helps and hurts; whether it stays
on by the issue's rule; and its leave-one-corpus-out row (the rule applied to the other corpora alone, then
the left-out corpus's own change).

    python -m benchmarks.ablation_table RESULTS.json [MORE.json ...] [--designed-on squad-dev-13,seeds]

A step *hurts* a corpus when leaving it out gains more than `--margin` F1 or takes away more than `--margin`
false refusals (the issue's rule names these two); it *helps* one when it is better by as much in F1, false
refusals or unanswerable questions refused. It stays on when it helps at least two corpora it was not
designed on and hurts none. The files must hold the same questions (the same split, sample and seed) over
the same stores.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from benchmarks.systems_table import Runs, systems

METRICS = (("f1", 1), ("false_refusal_rate", -1), ("refusal_recall", 1))  # (summary key, sign of better)


def deltas(default: dict[str, Any], without: dict[str, Any]) -> dict[str, float | None]:
    """What the step adds: default minus the run without it, signed so that positive is better."""
    out: dict[str, float | None] = {}
    for key, sign in METRICS:
        a, b = default.get(key), without.get(key)
        out[key] = None if a is None or b is None else round(sign * (a - b), 4)
    return out


def judged(d: dict[str, float | None], margin: float) -> str:
    """The issue's rule: a step hurts a corpus when it costs more than `margin` F1 or adds more than `margin`
    false refusals; it helps when it is better by as much in any of the three."""
    if any((d.get(k) or 0.0) < -margin for k in ("f1", "false_refusal_rate")):
        return "hurts"
    if any(v is not None and v > margin for v in d.values()):
        return "helps"
    return "neutral"


def step_of(name: str) -> str:
    m = re.fullmatch(r'answer\.skip_steps=\["([a-z_]+)"\]', name)
    return m.group(1) if m else name


def load(paths: list[Path], reference: str, every: bool = False) -> dict[str, dict[str, dict[str, float | None]]]:
    """step -> corpus -> deltas, each variant that leaves one step out (with `every`, each other system: a
    setting's old value) against the reference system."""
    runs: Runs = {}
    for path in paths:
        for name, per in systems(path).items():
            runs.setdefault(name, {}).update(per)
    if reference not in runs:
        raise SystemExit(f"no run named {reference} in these files; they hold {', '.join(runs)}")
    table: dict[str, dict[str, dict[str, float | None]]] = {}
    for name, per in runs.items():
        if name != reference and (every or step_of(name) != name):
            table[step_of(name)] = {c: deltas(runs[reference][c], s) for c, s in per.items()
                                    if c in runs[reference]}
    return table


def keep(verdicts: dict[str, str], designed_on: set[str], refusal_rule: bool = False) -> bool:
    """An answer rule: helps two corpora it was not made on and hurts none. A refusal rule (issue #30, item 5)
    can only help where unanswerable questions are, so it is kept when it helps one corpus and hurts none."""
    if "hurts" in verdicts.values():
        return False
    helps = [c for c, v in verdicts.items() if v == "helps" and (refusal_rule or c not in designed_on)]
    return len(helps) >= (1 if refusal_rule else 2)


def fmt(d: dict[str, float | None]) -> str:
    return " / ".join("—" if v is None else f"{v + 0.0:+.3f}" for v in d.values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+", type=Path)
    ap.add_argument("--designed-on", default="squad-dev-13,seeds", help="corpora the steps were made on")
    ap.add_argument("--margin", type=float, default=0.01)
    ap.add_argument("--refusal-rules", default="unstated_terms,pre_answer_refusal",
                    help="steps that only refuse: judged on false refusals per corpus, not on where they help")
    ap.add_argument("--reference", default="answer.skip_steps=[]", help="the system the variants leave a step "
                    "out of (its name in the results: the --set it ran with)")
    ap.add_argument("--every", action="store_true", help="compare every other system of the files with the "
                    "reference, not only those leaving a step out (a changed default against its old value)")
    args = ap.parse_args()
    designed_on = set(filter(None, args.designed_on.split(",")))
    refusal = set(filter(None, args.refusal_rules.split(",")))
    table = load(args.results, args.reference, args.every)
    corpora = sorted({c for per in table.values() for c in per})
    print("Each cell: what the step adds (default minus the run without it), F1 / false refusals (fewer is "
          "+) / unanswerable refused.\n")
    print("| step | " + " | ".join(corpora) + " | helps | hurts | by the rule |")
    print("|---|" + "---|" * (len(corpora) + 3))
    verdicts_of = {step: {c: judged(d, args.margin) for c, d in per.items()} for step, per in table.items()}
    for step, per in table.items():
        verdicts = verdicts_of[step]
        helps = ", ".join(c for c, v in verdicts.items() if v == "helps") or "—"
        hurts = ", ".join(c for c, v in verdicts.items() if v == "hurts") or "—"
        cells = " | ".join(fmt(per[c]) if c in per else "" for c in corpora)
        kept = keep(verdicts, designed_on, step in refusal)
        print(f"| {step} | {cells} | {helps} | {hurts} | {'on' if kept else 'off'} |")
    print("\nLeave one corpus out: the rule applied to the other corpora alone, and the left-out corpus's "
          "own change (F1 / false refusals / unanswerable refused).\n")
    print("| step | left out | on by the others | its change there |")
    print("|---|---|---|---|")
    for step, per in table.items():
        verdicts = verdicts_of[step]
        for c in corpora:
            if c in per:
                others = {k: v for k, v in verdicts.items() if k != c}
                on = keep(others, designed_on, step in refusal)
                print(f"| {step} | {c} | {'on' if on else 'off'} | {fmt(per[c])} ({verdicts[c]}) |")


if __name__ == "__main__":
    main()
