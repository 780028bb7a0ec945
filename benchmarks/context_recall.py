"""The context's evidence recall before any model call, per question set and shape, for a retrieval or context
setting against the defaults: a retrieval change can be judged here in a minute, before a `rag eval` run.

    python -m benchmarks.context_recall --split tune --set retrieval.top_k=4

For each question: the chain's first retrieval (with its per-option or per-side queries), then its first
context at the shape's budget, as `rag eval` builds them before the check (the check's bridge hop and the
missing-name hop come later and need the model). Recall is the share of the needed facts (`supporting`, else
the evidence sentence) that some context passage overlaps, scored as `rag eval` scores context recall.
"""

from __future__ import annotations

import argparse
import tempfile
from collections import defaultdict
from pathlib import Path

from rag.components import offline_environment

SEED_SETS = [Path("seeds/gold.jsonl"), Path("seeds/gold-shapes.jsonl")]
SQUAD_SETS = [Path(f"benchmarks/gold/squad13-{n}.jsonl") for n in ("factoid", "adversarial", "twohop", "why", "shapes")]


def held_out(split: str) -> tuple[list[Path], list[Path]]:
    """The test split's files: the held-out halves in their own files, the factoid sets by their split field."""
    if split != "test":
        return SEED_SETS, SQUAD_SETS
    return ([SEED_SETS[0], Path("seeds/gold-shapes-heldout.jsonl")],
            [SQUAD_SETS[0], SQUAD_SETS[1]] + [Path(f"benchmarks/gold/squad13-{n}-heldout.jsonl")
                                              for n in ("twohop", "why", "shapes")])


def main() -> None:
    offline_environment()
    from benchmarks.common import SQUAD_DOCS, table, write
    from benchmarks.shape_tables import group
    from rag.components import Components
    from rag.eval import metrics as m
    from rag.eval.gold import load_gold
    from rag.settings import Settings
    from rag.shapes import classify

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", default="tune", choices=["tune", "test"])
    ap.add_argument("--set", dest="sets", action="append", default=[], help="key=value, as rag eval --set")
    ap.add_argument("--name", default=None, help="results file name (default: context_recall-SPLIT)")
    args = ap.parse_args()
    overrides = dict(s.split("=", 1) for s in args.sets)  # validated as environment strings are

    recall: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for docs, sets in zip((Path("seeds"), SQUAD_DOCS), held_out(args.split), strict=True):
        with tempfile.TemporaryDirectory() as tmp:
            base = Components(Settings(_env_file=None, persist_dir=Path(tmp), collection="bench"))
            base.ingestor.ingest_paths([docs])
            runs = {"default": base, "with --set": base.with_settings(overrides)}
            for gold in sets:
                for item in load_gold(gold, split=args.split):
                    facts = item.supporting or ([item.target_evidence] if item.target_evidence else [])
                    if item.unanswerable or not facts:
                        continue
                    shape = classify(item.question)
                    for name, comps in runs.items():
                        chain = comps.chain
                        passages = chain.gather(item.question, shape, comps.settings.retrieval.top_k, None)
                        context = [p.chunk.text for p in chain.first_context(item.question, shape, passages)]
                        row = {"id": item.id, "shape": item.shape or shape.shape, "unanswerable": False}
                        got = sum(any(m.overlaps(c, f) for c in context) for f in facts) / len(facts)
                        recall[group(row)][name].append(got)
    rows = []
    for g in sorted(recall):
        a, b = recall[g]["default"], recall[g]["with --set"]
        rows.append([g, len(a), f"{sum(a) / len(a):.3f}", f"{sum(b) / len(b):.3f}",
                     sum(y > x for x, y in zip(a, b, strict=True)), sum(y < x for x, y in zip(a, b, strict=True))])
    md = (f"First-context evidence recall, split {args.split}, default against {overrides or 'the same'}.\n\n"
          + table(["set / shape", "n", "recall default", "recall with --set", "questions up", "questions down"],
                  rows))
    write(args.name or f"context_recall-{args.split}", {"split": args.split, "overrides": overrides,
                                                          "recall": {g: dict(v) for g, v in recall.items()}}, md)


if __name__ == "__main__":
    main()
