"""The `rag` command: ingest, ask, ui."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rag.config import Settings, overridden
from rag.logs import configure, held

app = typer.Typer(help="Answer questions from your documents, with every claim cited.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)
console = Console(stderr=True)


def _components():
    from rag.components import Components

    return Components(Settings())


def _print_problems(report) -> None:
    """Skipped files, and the parts of ingested ones that were not read as they are (pages without text)."""
    for doc in report.documents:
        for warning in doc.warnings:
            console.print(f"[yellow]warning[/yellow] {warning}", highlight=False)
    for name, reason in report.skipped:
        console.print(f"[yellow]skipped[/yellow] {name}: {reason}", highlight=False)


def _bar() -> Progress:
    """One bar for a whole ingest: chunks embedded of the chunks queued so far (files are grouped)."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True)


@app.command()
def ingest(paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders (default: seeds/)")] = None,
           ) -> None:
    """Add documents to the collection; ingesting the same file again changes nothing."""
    comps = _components()
    targets = paths or [comps.settings.store.seeds_dir]
    with held(), _bar() as bar:  # the ingest's log line after the bar, not through it
        task = bar.add_task("embedding chunks", total=None)
        report = comps.ingestor.ingest_paths(
            targets, progress=lambda done, queued: bar.update(task, completed=done, total=queued))
    _print_problems(report)
    console.print(f"{len(report.documents)} documents, {report.chunks} chunks "
                  f"({report.embedded} newly embedded, {report.unchanged} files unchanged), "
                  f"{len(report.skipped)} skipped, "
                  f"{report.seconds:.1f} s; collection '{comps.store.name}' now holds "
                  f"{comps.store.count()} chunks")
    if report.skipped and not report.documents:
        raise typer.Exit(1)


@app.command()
def sync(folder: Annotated[Path, typer.Argument(help="The folder the collection should match")]) -> None:
    """Make the collection match a folder: add new files, replace changed ones, remove deleted ones, and skip
    unchanged ones by content hash (nothing re-embedded). Re-run it after a crash to repair the store."""
    from rag.ingest.loaders import LoadError

    comps = _components()
    with held(), _bar() as bar:
        task = bar.add_task("embedding chunks", total=None)
        try:
            report = comps.ingestor.sync(
                folder, on_file=lambda path: console.print(f"ingesting {path.name}", highlight=False),
                progress=lambda done, queued: bar.update(task, completed=done, total=queued))
        except LoadError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
    _print_problems(report)
    changed = [d for d in report.documents if not d.unchanged]
    console.print(f"{len(changed)} added or changed ({report.embedded} chunks embedded, "
                  f"{sum(d.removed for d in changed)} stale removed), {report.unchanged} unchanged, "
                  f"{len(report.deleted)} deleted, {len(report.skipped)} skipped, {report.seconds:.1f} s; "
                  f"collection '{comps.store.name}' now holds {comps.store.count()} chunks")


@app.command()
def ask(question: str,
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
        top_k: Annotated[int | None, typer.Option(help="Passages to retrieve.")] = None) -> None:
    """Answer a question from the collection, with verified citations."""
    from rag.answer.chain import QuestionError, validate_question
    from rag.backends.llm import LLMError
    from rag.services import asking
    from rag.types import Answer, Delta, Final, Replace, final_answer

    comps = _components()
    try:
        # before the store is seeded and the models are built
        validate_question(question, comps.settings.answer.max_question_chars)
        # the models load (and the shared prompt prefix comes back from disk) while the store opens
        comps.warmup.start(log_level=logging.DEBUG)
        comps.seed_if_empty()
        events = asking.ask(comps, question, top_k=top_k)
        final: Answer | None = None
        with held():  # the answer's log line after the streamed text, on a line of its own
            if as_json:
                final = final_answer(events)
            else:  # the text as the model writes it; the sources are printed with the citations, at the end
                for event in events:
                    match event:
                        case Delta(text=text):
                            console.print(text, end="", highlight=False, markup=False)
                        case Replace():
                            console.print("\n[dim](withdrawn: the passages do not support it)[/dim]")
                        case Final(answer=answer):
                            final = answer
                console.print()
    except (QuestionError, LLMError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    assert final is not None
    if as_json:
        sys.stdout.write(json.dumps(final.public(), ensure_ascii=False) + "\n")
        return
    print(final.answer)
    for c in final.citations:
        page = f", page {c.page}" if c.page else ""
        print(f"  [{c.marker}] {c.source}{page} @{c.start}-{c.end} (score {c.score:.2f}): \"{c.quote}\"")
    t = final.timings
    console.print(f"[dim]{final.model} · retrieve {t.retrieve_ms:.0f} ms · generate {t.generate_ms:.0f} ms"
                  f" · total {t.total_ms:.0f} ms[/dim]")


@app.command("eval")
def evaluate(
    gold: Annotated[list[Path] | None, typer.Argument(help="Gold JSONL file(s) (id, question, answers, evidence, "
                                                     "doc; optional shape, split, supporting)")] = None,
    docs: Annotated[Path | None, typer.Option(help="Ingest these documents into a temporary collection "
                                                   "first (default: use the current collection)")] = None,
    out: Annotated[Path | None, typer.Option(help="Results JSON; a Markdown report and PNG charts "
                                                  "are written beside it")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N questions")] = None,
    sample: Annotated[int | None, typer.Option(help="A fixed random subset of N questions")] = None,
    seed: Annotated[int, typer.Option(help="Seed for --sample")] = 13,
    baseline: Annotated[str | None, typer.Option(help="Also run 'simple': whole chunks, first-stage top-4, "
                                                      "one prompt, the same models (the floor); 'llamaindex': "
                                                      "the plain llama-index pipeline with the same models; or "
                                                      "'llamaindex-synth': llama-index's response synthesiser "
                                                      "over our retriever")] = None,
    compare_to: Annotated[Path | None, typer.Option("--compare", help="An earlier results JSON: print "
                                                    "each metric's change, exit 1 on a regression")] = None,
    against: Annotated[Path | None, typer.Option(help="With --compare and no GOLD: compare this results "
                                                 "JSON instead of running")] = None,
    max_drop: Annotated[float, typer.Option(help="Largest tolerated drop of a quality metric")] = 0.02,
    mode: Annotated[str | None, typer.Option(help="Retrieval mode(s), comma-separated: dense, bm25, hybrid "
                                                  "or all (default: RAG_RETRIEVAL__MODE)")] = None,
    retrieval_only: Annotated[bool, typer.Option(help="Score retrieval only; ask the LLM nothing")] = False,
    split: Annotated[str | None, typer.Option(help="Only the gold items of this split: tune or test")] = None,
    sweep: Annotated[list[str] | None, typer.Option(
        "--set", help="Run once per value of a retrieval or answer setting: --set answer.check_min=0.3,0.35,0.4. "
        "Repeated, a grid of every combination; one summary row per run")] = None,
) -> None:
    """Score answers, retrieval, citations, refusals and cost against a gold question set."""
    import tempfile

    from rich.progress import Progress as Bar

    from rag.eval.compare import compare
    from rag.eval.gold import default_docs_dir, load_gold
    from rag.eval.report import headline_table, sweep_table, write_report
    from rag.eval.runner import ours, run_eval
    from rag.eval.sweep import grid, variants

    if not gold:
        if not (compare_to and against):
            raise typer.BadParameter("give a GOLD file, or --compare OLD.json --against NEW.json")
        new = json.loads(against.read_text())
    else:
        items = [i for g in gold for i in load_gold(g, limit=limit, sample=sample, seed=seed, split=split)]
        if not items:
            raise typer.BadParameter(f"{', '.join(map(str, gold))} hold no questions"
                                     + (f" in split {split!r}" if split else ""))
        settings = Settings()
        try:
            points = grid(sweep or [], settings) if sweep else [{}]
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
        if compare_to and len(points) > 1:
            raise typer.BadParameter("--compare gates one run: sweep with --set first, then compare the value chosen")
        tmp = tempfile.TemporaryDirectory() if docs else None
        if tmp is not None:
            settings = overridden(settings, {"store.persist_dir": Path(tmp.name), "store.collection": "eval"})
        from rag.components import Components

        comps = Components(settings)
        if docs:
            report = comps.ingestor.ingest_paths([docs])
            console.print(f"ingested {len(report.documents)} documents ({report.chunks} chunks) "
                          f"in {report.seconds:.1f} s")
        elif comps.store.count() == 0:
            raise typer.BadParameter("the collection is empty: ingest documents or pass --docs")
        runs: dict[str, dict] = {}
        modes = ["dense", "bm25", "hybrid"] if mode == "all" else (mode.split(",") if mode else None)
        for bad in set(modes or []) - {"dense", "bm25", "hybrid"}:
            raise typer.BadParameter(f"unknown retrieval mode {bad!r}: choose dense, bm25, hybrid or all")
        systems = []  # (name, the values swept, the run's settings, the system)
        for name, point, overrides in variants(points, modes):
            parts = comps.with_settings(overrides)
            systems.append((name, point, parts.settings, lambda p=parts: ours(p, generate=not retrieval_only)))
        if baseline == "llamaindex":
            from rag.eval.baseline import llamaindex_baseline

            base_docs = docs or default_docs_dir(gold[0])
            systems.append(("llama-index", {}, settings, lambda: llamaindex_baseline(comps, base_docs)))
        elif baseline == "llamaindex-synth":
            from rag.eval.baseline import synthesiser_baseline

            for mode_used in modes or [None]:  # one per retrieval mode, with the first run's other settings
                parts = comps.with_settings(points[0] | ({"retrieval.mode": mode_used} if mode_used else {}))
                named = f" ({mode_used})" if modes and len(modes) > 1 else ""
                systems.append((f"llama-index synth{named}", {}, parts.settings,
                                lambda p=parts: synthesiser_baseline(p)))
        elif baseline == "simple":
            from rag.eval.simple import simple_baseline

            systems.append(("simple", {}, settings, lambda: simple_baseline(comps.with_settings(points[0]))))
        elif baseline:
            raise typer.BadParameter("--baseline takes 'simple', 'llamaindex' or 'llamaindex-synth'")
        for name, point, used, make in systems:
            with Bar(console=console, transient=True) as bar:
                task = bar.add_task(name, total=len(items))

                def progress(i: int, summary: dict, task=task, name=name) -> None:
                    f1 = summary.get("f1")
                    bar.update(task, completed=i, description=f"{name} F1 {f1:.3f}" if f1 is not None else name)

                runs[name] = run_eval(items, make(), progress)
                runs[name]["config"] = {"gold": [str(g) for g in gold], "split": split,
                                        "docs": str(docs) if docs else None,
                                        "limit": limit, "sample": sample, "seed": seed, "system": name,
                                        "model": None if retrieval_only else comps.llm.name,
                                        "chunk_size": settings.ingest.chunk_size, "set": point or None,
                                        "retrieval": used.retrieval.model_dump(),
                                        "answer": used.answer.model_dump()}
        out = out or Path("eval-results") / f"{gold[0].stem}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        first = next(iter(runs))
        new = runs[first] | ({"baselines": {k: v for k, v in runs.items() if k != first}}
                             if len(runs) > 1 else {})
        if sweep:  # one summary per swept run, beside the runs themselves
            new["sweep"] = [{"name": k, "set": v["config"]["set"], "summary": v["summary"]}
                            for k, v in runs.items() if v["config"]["set"]]
        out.write_text(json.dumps(new, indent=1, ensure_ascii=False))
        md = write_report(runs, out, f"Evaluation: {', '.join(g.name for g in gold)}")
        print(sweep_table(runs) if sweep else headline_table(runs))
        console.print(f"results: {out} · report: {md}")
        if tmp is not None:
            tmp.cleanup()
    if compare_to:
        lines, regressed = compare(json.loads(compare_to.read_text())["summary"], new["summary"], max_drop)
        print("\n".join(lines))
        if regressed:
            console.print(f"[red]regressed by more than {max_drop}:[/red] {', '.join(regressed)}")
            raise typer.Exit(1)


@app.command()
def serve(host: Annotated[str | None, typer.Option(help="Default: RAG_SERVER__HOST (127.0.0.1)")] = None,
          port: Annotated[int | None, typer.Option(help="Default: RAG_SERVER__PORT (7860)")] = None) -> None:
    """Serve the chat UI and the HTTP API in one process (ingesting seeds/ first when the store is empty)."""
    from rag.web.server import launch

    comps = _components()
    launch(comps, host=host or comps.settings.server.host, port=port or comps.settings.server.port)


@app.command()
def ui(host: Annotated[str | None, typer.Option()] = None, port: Annotated[int | None, typer.Option()] = None,
       ) -> None:
    """Same as `rag serve`."""
    serve(host, port)


def main() -> None:
    """The `rag` entry point: expected failures (store, model, LLM server) end with one plain line."""
    from rag.components import offline_environment

    offline_environment()
    configure(Settings())  # RAG_LOG__LEVEL, RAG_LOG__FORMAT: the lines go to stderr
    from rag.backends.llm import LLMError
    from rag.backends.weights import ModelWeightsError
    from rag.index.store import StoreError

    try:
        app()
    except (StoreError, LLMError, ModelWeightsError) as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
