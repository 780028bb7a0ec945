"""The context's evidence recall before any model call, per question set and shape, for a retrieval or context
setting against the defaults: a retrieval change can be judged here in a minute, before a `rag eval` run.

    python -m benchmarks.context_recall --split tune --set retrieval.top_k=4 \
        --set retrieval.context_weights.rank=0.6,retrieval.context_weights.dense=2

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


def gold_sets(split: str) -> tuple[list[Path], list[Path]]:
    """The seed and squad13 gold files of a split: for test, the held-out halves live in their own files
    (the factoid sets hold both splits, told apart by their split field)."""
    if split != "test":
        return SEED_SETS, SQUAD_SETS
    return ([SEED_SETS[0], Path("seeds/gold-shapes-heldout.jsonl")],
            [SQUAD_SETS[0], SQUAD_SETS[1]] + [Path(f"benchmarks/gold/squad13-{n}-heldout.jsonl")
                                              for n in ("twohop", "why", "shapes")])


def main() -> None:
    offline_environment()
    from benchmarks.common import SQUAD_DOCS, table, write
    from benchmarks.shape_tables import group
    from rag.answer.shapes import classify
    from rag.components import Components
    from rag.config import Settings
    from rag.eval import metrics as m
    from rag.eval.gold import load_gold
    from rag.eval.sweep import top_level_split

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", default="tune", choices=["tune", "test"])
    ap.add_argument("--set", dest="variants", action="append", default=[],
                    help="one variant against the defaults: key=value[,key=value...], as rag eval --set "
                         "(a JSON table is one value); repeatable")
    ap.add_argument("--name", default=None, help="results file name (default: context_recall-SPLIT)")
    args = ap.parse_args()
    variants = {"default": {}} | {v: dict(kv.split("=", 1) for kv in top_level_split(v)) for v in args.variants}

    recall: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for docs, sets in zip((Path("seeds"), SQUAD_DOCS), gold_sets(args.split), strict=True):
        with tempfile.TemporaryDirectory() as tmp:
            base = Components(Settings(_env_file=None, store={"persist_dir": Path(tmp), "collection": "bench"}))
            base.ingestor.ingest_paths([docs])
            runs = {name: base.with_settings(over) for name, over in variants.items()}
            scorer = base.chain.scorer  # keeps the sentences' vectors: they do not depend on the weights
            for comps in runs.values():
                comps.chain.scorer = scorer
            for gold in sets:
                for item in load_gold(gold, split=args.split):
                    facts = item.needed_facts
                    if item.unanswerable or not facts:
                        continue
                    shape = classify(item.question)
                    row = {"id": item.id, "shape": item.shape or shape.shape, "unanswerable": False}
                    gathered: dict[str, list] = {}  # retrieval is shared by variants that only weigh sentences
                    for name, comps in runs.items():
                        chain, retrieval = comps.chain, comps.settings.retrieval
                        key = retrieval.model_dump_json(exclude={"context_weights"})
                        if key not in gathered:
                            gathered[key] = chain.gather(item.question, shape, retrieval.top_k, None)
                        context = [p.chunk.text for p in chain.first_context(item.question, shape, gathered[key])]
                        recall[group(row)][name].append(m.context_recall(context, facts))
    groups = sorted(recall)
    macro = {name: sum(sum(recall[g][name]) / len(recall[g][name]) for g in groups) / len(groups)
             for name in variants}
    order = sorted(variants, key=lambda name: -macro[name])
    rows = [[name, f"{macro[name]:.3f}"] + [f"{sum(recall[g][name]) / len(recall[g][name]):.3f}" for g in groups]
            + [_worst(recall, groups, name)] for name in order]
    md = (f"First-context evidence recall, split {args.split}: the mean over set/shape groups (each group one "
          f"vote), each group's recall, and the most questions any group lost against the defaults.\n\n"
          + table(["variant", "macro recall"] + [f"{g} (n={len(recall[g]['default'])})" for g in groups]
                  + ["most lost"], rows))
    write(args.name or f"context_recall-{args.split}", {"split": args.split, "variants": variants, "macro": macro,
                                                          "recall": {g: dict(v) for g, v in recall.items()}}, md)


def _worst(recall: dict[str, dict[str, list[float]]], groups: list[str], name: str) -> int:
    """The most questions one group lost against the defaults (a question of two facts losing one counts)."""
    return max(sum(d > v for d, v in zip(recall[g]["default"], recall[g][name], strict=True)) for g in groups)


if __name__ == "__main__":
    main()
