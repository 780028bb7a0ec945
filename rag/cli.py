"""The `rag` command: ingest, ask, ui."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rag.settings import Settings

app = typer.Typer(help="Answer questions from your documents, with every claim cited.", no_args_is_help=True,
                  add_completion=False)
console = Console(stderr=True)


def _components():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from rag.components import Components

    return Components(Settings())


@app.command()
def ingest(paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders (default: seeds/)")] = None,
           ) -> None:
    """Add documents to the collection; ingesting the same file again changes nothing."""
    comps = _components()
    targets = paths or [comps.settings.seeds_dir]
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:

        def on_file(path: Path):
            task = bar.add_task(f"embedding {path.name}", total=None)

            def advance(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            return advance

        report = comps.ingestor.ingest_paths(targets, on_file=on_file)
    for name, reason in report.skipped:
        console.print(f"[yellow]skipped[/yellow] {name}: {reason}")
    console.print(f"{len(report.documents)} documents, {report.chunks} chunks "
                  f"({report.embedded} newly embedded), {len(report.skipped)} skipped, "
                  f"{report.seconds:.1f} s; collection '{comps.store.name}' now holds "
                  f"{comps.store.count()} chunks")
    if report.skipped and not report.documents:
        raise typer.Exit(1)


@app.command()
def ask(question: str,
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
        top_k: Annotated[int | None, typer.Option(help="Passages to retrieve.")] = None) -> None:
    """Answer a question from the collection, with verified citations."""
    from rag.chain import QuestionError, validate_question
    from rag.models.llm import LLMError
    from rag.schemas import Answer

    comps = _components()
    try:
        validate_question(question, comps.settings.max_question_chars)
        comps.seed_if_empty()
        final: Answer | None = None
        for item in comps.chain.stream(question, top_k=top_k):
            if isinstance(item, Answer):
                final = item
            elif not as_json:
                console.print(item, end="", highlight=False, markup=False)
    except (QuestionError, LLMError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    assert final is not None
    if as_json:
        sys.stdout.write(json.dumps(final.public(), ensure_ascii=False) + "\n")
        return
    console.print()
    print(final.answer)
    for c in final.citations:
        page = f", page {c.page}" if c.page else ""
        print(f"  [{c.marker}] {c.source}{page} @{c.start}-{c.end} (score {c.score:.2f}): \"{c.quote}\"")
    t = final.timings
    console.print(f"[dim]{final.model} · retrieve {t.retrieve_ms:.0f} ms · generate {t.generate_ms:.0f} ms"
                  f" · total {t.total_ms:.0f} ms[/dim]")


@app.command()
def serve(host: Annotated[str | None, typer.Option(help="Default: RAG_HOST (127.0.0.1)")] = None,
          port: Annotated[int | None, typer.Option(help="Default: RAG_PORT (7860)")] = None) -> None:
    """Serve the chat UI and the HTTP API in one process (ingesting seeds/ first when the store is empty)."""
    from rag.ui import launch

    comps = _components()
    launch(comps, host=host or comps.settings.host, port=port or comps.settings.port)


@app.command()
def ui(host: Annotated[str | None, typer.Option()] = None, port: Annotated[int | None, typer.Option()] = None,
       ) -> None:
    """Same as `rag serve`."""
    serve(host, port)


if __name__ == "__main__":
    app()
