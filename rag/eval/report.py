"""A report people can read: the headline table, the worst questions with what was retrieved, charts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

HEADLINE = [
    ("f1", "answer F1"), ("em", "exact match"), ("contains", "answer contains gold"),
    ("hit@1", "evidence hit@1"), ("hit@5", "evidence hit@5"), ("recall@5", "evidence recall@5"), ("mrr", "MRR"),
    ("doc_hit@5", "document hit@5"), ("citation_precision", "citation precision"),
    ("citation_recall", "citation recall"), ("cited_sentence_share", "answer sentences cited"),
    ("grounded", "grounded (supported sentences)"), ("context_recall", "context evidence recall"),
    ("refusal_recall", "refusal recall (unanswerable)"), ("false_refusal_rate", "false refusals (answerable)"),
    ("retrieve_ms_p50", "retrieve p50 ms"), ("context_ms_p50", "context p50 ms"),
    ("check_ms_p50", "check p50 ms"), ("generate_ms_p50", "generate p50 ms"),
    ("first_token_ms_p50", "first token p50 ms"),
    ("total_ms_p50", "total p50 ms"), ("total_ms_p95", "total p95 ms"),
    ("prompt_tokens_mean", "prompt tokens / question"), ("completion_tokens_mean", "completion tokens / question"),
    ("wall_s", "wall time s"),
]


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float) and abs(v) < 10 and v != int(v):
        return f"{v:.3f}"
    return f"{v:,.0f}" if isinstance(v, int | float) else str(v)


def headline_table(runs: dict[str, dict]) -> str:
    names = list(runs)
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for key, label in HEADLINE:
        lines.append(f"| {label} | " + " | ".join(_fmt(runs[n]["summary"].get(key)) for n in names) + " |")
    n = runs[names[0]]["summary"]
    lines.append(f"\n{n['questions']} questions ({n['answerable_questions']} answerable, "
                 f"{n['unanswerable_questions']} unanswerable).")
    if n.get("by_shape"):
        lines.append("\n" + shape_table(n["by_shape"]))
    return "\n".join(lines)


SWEEP = [("f1", "F1"), ("em", "EM"), ("grounded", "grounded"), ("citation_precision", "citation precision"),
         ("refusal_recall", "refusal recall"), ("false_refusal_rate", "false refusals"),
         ("recall@5", "recall@5"), ("total_ms_p50", "total p50 ms")]


def sweep_table(runs: dict[str, dict]) -> str:
    """One row per swept run (`rag eval --set`): the values it set, then its headline metrics."""
    swept = [run for run in runs.values() if run.get("config", {}).get("set")]
    paths = list(dict.fromkeys(path for run in swept for path in run["config"]["set"]))
    modes = {run["config"]["retrieval"]["mode"] for run in swept}
    by_mode = len(modes) > 1 and "retrieval.mode" not in paths  # --mode beside --set: one more column
    cols = paths + (["retrieval.mode"] if by_mode else []) + [label for _, label in SWEEP]
    lines = ["| " + " | ".join(cols) + " |", "|---" * len(cols) + "|"]
    for run in swept:
        values = [run["config"]["set"].get(path, "") for path in paths]
        values += [run["config"]["retrieval"]["mode"]] if by_mode else []
        values += [_fmt(run["summary"].get(key)) for key, _ in SWEEP]
        lines.append("| " + " | ".join(values) + " |")
    return "\n".join(lines)


def shape_table(by_shape: dict[str, dict]) -> str:
    """One row per question shape: what a change to one shape does to the others."""
    cols = [("questions", "n"), ("f1", "F1"), ("false_refusal_rate", "false refusals"),
            ("refusal_recall", "refusal recall"), ("context_recall", "context recall"),
            ("total_ms_p50", "total p50 ms"), ("first_token_ms_p50", "first token p50 ms")]
    lines = ["| shape | " + " | ".join(label for _, label in cols) + " |", "|---|" + "---|" * len(cols)]
    for shape, row in by_shape.items():
        lines.append(f"| {shape} | " + " | ".join(_fmt(row.get(key)) for key, _ in cols) + " |")
    return "\n".join(lines)


def _charts(runs: dict[str, dict], stem: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def chart(suffix: str, draw, **labels) -> Path:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for name, run in runs.items():
            draw(ax, name, run)
        ax.set(**labels)
        ax.legend()
        fig.tight_layout()
        path = stem.with_name(f"{stem.name}-{suffix}.png")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return path

    def f1_hist(ax, name: str, run: dict) -> None:
        vals = [r["scores"]["f1"] for r in run["rows"] if "f1" in r["scores"]]
        ax.hist(vals, bins=[i / 10 for i in range(11)], alpha=0.6, label=name)

    def latency_hist(ax, name: str, run: dict) -> None:
        ax.hist([r["timings"].get("total_ms", 0) / 1000 for r in run["rows"]], bins=20, alpha=0.6, label=name)

    def recall_curve(ax, name: str, run: dict) -> None:
        ks = sorted(int(k.split("@")[1]) for k, v in run["summary"].items()
                    if k.startswith("recall@") and v is not None)
        if ks:
            ax.plot(ks, [run["summary"][f"recall@{k}"] for k in ks], marker="o", label=name)

    return [chart("f1", f1_hist, xlabel="answer F1", ylabel="questions", title="Score distribution"),
            chart("latency", latency_hist, xlabel="seconds per question", ylabel="questions", title="Latency"),
            chart("recall", recall_curve, xlabel="k (chunks retrieved)", ylabel="evidence recall@k",
                  title="Recall@k", ylim=(0, 1.02))]


def _worst(run: dict, n: int = 8) -> str:
    def badness(r: dict) -> float:
        if r["unanswerable"]:
            return 1.0 if r["answerable"] else -1.0  # answered what cannot be answered: worst
        return 1.0 - r["scores"].get("f1", 0.0)

    rows = sorted(run["rows"], key=badness, reverse=True)[:n]
    out = []
    for r in rows:
        if badness(r) <= 0:
            break
        gold = "(unanswerable)" if r["unanswerable"] else " / ".join(r["gold_answers"])
        out.append(f"- **{r['question']}** — gold: {gold}; answer: “{r['answer']}” "
                   f"(F1 {r['scores'].get('f1', 0):.2f})")
        for i, x in enumerate(r["retrieved"][:3], start=1):
            snippet = " ".join(x["text"].split())[:160]
            out.append(f"  {i}. {'✅' if x.get('hit') else '·'} {Path(x['source']).name} "
                       f"(score {x['score']:.2f}): {snippet}…")
    return "\n".join(out) or "No wrong answers."


def write_report(runs: dict[str, dict], out_json: Path, title: str) -> Path:
    stem = out_json.with_suffix("")
    charts = _charts(runs, stem)
    parts = [f"# {title}", "", headline_table(runs), ""]
    if any(run.get("config", {}).get("set") for run in runs.values()):
        parts += ["## Sweep", "", sweep_table(runs), ""]
    parts += [f"![{p.stem}]({p.name})" for p in charts]
    for name, run in runs.items():
        parts += ["", f"## Worst questions: {name}", "", _worst(run)]
    md = out_json.with_suffix(".md")
    md.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return md


_CORPUS_COLS = [("f1", "F1"), ("false_refusal_rate", "false ref."), ("refusal_recall", "unans. refused"),
                ("total_ms_p50", "p50 ms"), ("first_token_ms_p50", "1st token ms")]


def _pooled(rows: list[dict]) -> dict[str, Any]:
    """F1, false refusals and refusal recall over the rows of several corpora, each question counting once."""
    from rag.eval.runner import by_shape

    merged = by_shape([r | {"shape": "all"} for r in rows])
    return merged.get("all", {})


def corpus_table(results: dict[str, dict]) -> str:
    """One row per corpus (all its shapes), then per corpus and shape, each system's F1, false refusals,
    unanswerable refused and latency side by side; last, every corpus pooled question by question."""
    systems = list(dict.fromkeys(name for r in results.values() for name in
                                 [r["config"]["system"], *r.get("baselines", {})]))
    head = ["corpus", "shape", "n"] + [f"{label} ({s})" for s in systems for _, label in _CORPUS_COLS]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    pooled: dict[str, list[dict]] = {s: [] for s in systems}
    for corpus, result in results.items():
        runs = {result["config"]["system"]: result} | result.get("baselines", {})
        for s in systems:
            pooled[s] += runs[s]["rows"] if s in runs else []
        shapes = ["all", *runs[systems[0]]["summary"]["by_shape"]]
        for shape in shapes:
            cells = [corpus, shape]
            for i, s in enumerate(systems):
                row = (_pooled(runs[s]["rows"]) if shape == "all" else runs[s]["summary"]["by_shape"].get(shape, {})
                       ) if s in runs else {}
                cells += [_fmt(row.get("questions"))] if i == 0 else []
                cells += [_fmt(row.get(key)) for key, _ in _CORPUS_COLS]
            lines.append("| " + " | ".join(cells) + " |")
    cells = ["pooled", "all", _fmt(len(pooled[systems[0]]))]
    for s in systems:
        row = _pooled(pooled[s])
        cells += [_fmt(row.get(key)) for key, _ in _CORPUS_COLS]
    lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
