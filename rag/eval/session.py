"""The evaluation use case, once, for the CLI and the benchmarks: which systems answer (ours, per swept
setting and retrieval mode, and a baseline), running them over gold items, and the same over several corpora,
each in its own collection. `rag eval` only parses options and prints."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.components import Components
from rag.config import Settings, overridden
from rag.eval.gold import GoldItem, default_docs_dir, load_gold
from rag.eval.runner import SystemAnswer, ours, run_eval
from rag.eval.sweep import Point, variants

BASELINES = ("simple", "llamaindex", "llamaindex-synth")
System = tuple[str, Point, Settings, Callable[[], Callable[[GoldItem], SystemAnswer]]]
Progress = Callable[[str, int, int, dict], None]  # (system name, done, total, summary so far)


@dataclass
class Plan:
    """What one evaluation runs: one point per swept combination ([{}] for none), retrieval modes, a baseline."""

    points: list[Point] = field(default_factory=lambda: [{}])
    modes: list[str] | None = None
    baseline: str | None = None
    retrieval_only: bool = False

    def __post_init__(self) -> None:
        if self.baseline and self.baseline not in BASELINES:
            raise ValueError(f"--baseline takes {', '.join(repr(b) for b in BASELINES)}")
        for bad in set(self.modes or []) - {"dense", "bm25", "hybrid"}:
            raise ValueError(f"unknown retrieval mode {bad!r}: choose dense, bm25, hybrid or all")


def systems(comps: Components, plan: Plan, docs: Path | None) -> list[System]:
    """(name, the values swept, the run's settings, a maker of the answering function) for every run."""
    out: list[System] = []
    for name, point, overrides in variants(plan.points, plan.modes):
        parts = comps.with_settings(overrides)
        out.append((name, point, parts.settings, lambda p=parts: ours(p, generate=not plan.retrieval_only)))
    first = comps.with_settings(plan.points[0])
    if plan.baseline == "simple":
        from rag.eval.simple import simple_baseline

        out.append(("simple", {}, first.settings, lambda: simple_baseline(first)))
    elif plan.baseline == "llamaindex":
        from rag.eval.baseline import llamaindex_baseline

        if docs is None:
            raise ValueError("the llama-index baseline reads the documents again: give --docs")
        out.append(("llama-index", {}, comps.settings, lambda: llamaindex_baseline(comps, docs)))
    elif plan.baseline == "llamaindex-synth":
        from rag.eval.baseline import synthesiser_baseline

        for mode in plan.modes or [None]:  # one per retrieval mode, with the first run's other settings
            parts = comps.with_settings(plan.points[0] | ({"retrieval.mode": mode} if mode else {}))
            named = f" ({mode})" if plan.modes and len(plan.modes) > 1 else ""
            out.append((f"llama-index synth{named}", {}, parts.settings, lambda p=parts: synthesiser_baseline(p)))
    return out


def run_systems(items: list[GoldItem], runs_of: list[System], config: dict[str, Any],
                progress: Progress | None = None) -> dict[str, Any]:
    """Every system over `items`: the first run, with the others under `baselines` and, for a sweep, one
    summary per swept run under `sweep`."""
    runs: dict[str, dict] = {}
    for name, point, used, make in runs_of:
        report = (lambda i, summary, name=name: progress(name, i, len(items), summary)) if progress else None
        runs[name] = run_eval(items, make(), report)
        runs[name]["config"] = config | {"system": name, "set": point or None,
                                         "retrieval": used.retrieval.model_dump(mode="json"),
                                         "answer": used.answer.model_dump(mode="json")}
    first = next(iter(runs))
    result = runs[first] | ({"baselines": {k: v for k, v in runs.items() if k != first}} if len(runs) > 1 else {})
    if any(v["config"]["set"] for v in runs.values()):
        result["sweep"] = [{"name": k, "set": v["config"]["set"], "summary": v["summary"]}
                           for k, v in runs.items() if v["config"]["set"]]
    return result


def all_runs(result: dict[str, Any]) -> dict[str, dict]:
    """The runs of one result, first run first, by system name."""
    return {result["config"]["system"]: result} | result.get("baselines", {})


@dataclass
class Corpus:
    """Documents and the gold questions asked over them: a folder holding `gold.jsonl` and `docs/`
    (../shared/datasets/*), or `DOCS=GOLD[,GOLD...]` for gold sets kept apart from their documents
    (`seeds=seeds/gold.jsonl`, `../shared/datasets/squad-dev-13/docs=benchmarks/gold/squad13-factoid.jsonl`)."""

    docs: Path
    golds: list[Path]

    @classmethod
    def parse(cls, spec: str) -> Corpus:
        folder, sep, golds = spec.partition("=")
        if sep:
            return cls(Path(folder), [Path(g) for g in golds.split(",") if g])
        gold = Path(folder) / "gold.jsonl"
        if not gold.is_file():
            raise ValueError(f"{folder}: no gold.jsonl (give a folder with gold.jsonl and docs/, or DOCS=GOLD,...)")
        return cls(default_docs_dir(gold), [gold])

    @property
    def name(self) -> str:
        docs = self.docs.resolve()
        return docs.parent.name if docs.name == "docs" else docs.name

    def items(self, split: str | None, sample: int | None, seed: int, limit: int | None) -> list[GoldItem]:
        return [i for g in self.golds for i in load_gold(g, limit=limit, sample=sample, seed=seed, split=split)]


def run_corpora(settings: Settings, corpora: list[Corpus], plan: Plan, split: str | None, sample: int | None,
                seed: int, limit: int | None, store: Path | None = None, progress: Progress | None = None,
                on_ingest: Callable[[str, Any], None] | None = None) -> dict[str, dict[str, Any]]:
    """Each corpus in a collection of its own (kept under `store` when given, so a second run ingests nothing
    new), every system run over its items: {corpus name: result}. The models are loaded once."""
    tmp = tempfile.TemporaryDirectory() if store is None else None
    root = Path(tmp.name) if tmp is not None else store
    try:
        results: dict[str, dict[str, Any]] = {}
        loaded: Components | None = None
        for corpus in corpora:
            items = corpus.items(split, sample, seed, limit)
            if not items:
                raise ValueError(f"{corpus.name} holds no questions" + (f" in split {split!r}" if split else ""))
            comps = Components(overridden(settings, {"store.persist_dir": root / corpus.name,
                                                     "store.collection": "eval"}),
                               embedder=loaded.embedder if loaded else None, llm=loaded.llm if loaded else None)
            report = comps.ingestor.ingest_paths([corpus.docs])
            if on_ingest:
                on_ingest(corpus.name, report)
            config = {"corpus": corpus.name, "gold": [str(g) for g in corpus.golds], "split": split,
                      "docs": str(corpus.docs), "limit": limit, "sample": sample, "seed": seed,
                      "model": None if plan.retrieval_only else comps.llm.name,
                      "chunk_size": settings.ingest.chunk_size}
            results[corpus.name] = run_systems(items, systems(comps, plan, corpus.docs), config, progress)
            loaded = comps
        return results
    finally:
        if tmp is not None:
            tmp.cleanup()
