"""`rag audit` (show, replay and erase the answers' records) and `rag feedback` (feedback as gold items)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

audit_app = typer.Typer(help="The answers' audit trail: show a record, replay it, erase a user's records.",
                        no_args_is_help=True)
feedback_app = typer.Typer(help="Feedback on answers, as gold items that `rag eval` reads.", no_args_is_help=True)
console = Console(stderr=True)


def _components():
    from rag.components import Components
    from rag.config import Settings

    return Components(Settings())


def _record(comps, answer_id: str) -> dict:  # noqa: ANN001 - Components, imported lazily
    from rag.state.answers import AnswerNotFound

    try:
        return comps.answers.get(answer_id, any_user=True)
    except AnswerNotFound as exc:
        console.print(f"[red]error:[/red] no recorded answer with id {answer_id!r}", highlight=False)
        raise typer.Exit(2) from exc


@audit_app.command("show")
def show(answer_id: Annotated[str, typer.Argument(help="The answer's id (`id` in its JSON, `answer_id` in "
                                                        "its log line)")],
         as_json: Annotated[bool, typer.Option("--json", help="The whole record as one JSON object.")] = False
         ) -> None:
    """Print an answer's record: who asked, when, the question and query, the passages, model, settings
    digest, the answer, its citations and any refusal reason."""
    from rag.services import audit

    record = _record(_components(), answer_id)
    if as_json:
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    else:
        print(audit.show(record))


@audit_app.command("replay")
def replay(answer_id: Annotated[str, typer.Argument(help="The answer's id")]) -> None:
    """Answer again from the recorded passages, history and settings, at temperature 0, and print the diff
    of the answer and its citations: exit 0 when the same, 1 when different."""
    from rag.services import audit

    comps = _components()
    record = _record(comps, answer_id)
    again = audit.replay(comps, record)
    if again.model != record["model"]:
        console.print(f"[yellow]recorded with {record['model']}, replayed with {again.model}[/yellow]",
                      highlight=False)
    diff = audit.replay_diff(record, again)
    if diff:
        print("\n".join(diff))
        raise typer.Exit(1)
    print(f"identical: answer {answer_id} replayed from its {len(record['retrieved'])} recorded passages")


@audit_app.command("erase")
def erase(user: Annotated[str, typer.Option("--user", help="The user's id or name")]) -> None:
    """Delete every answer record of a user, with its feedback, and the feedback the user gave (a deletion
    request)."""
    from rag.services import audit

    comps = _components()
    ids = comps.answers.user_ids(user)
    erased = sum(audit.erase_user_records(comps, i) for i in ids)
    print(f"erased {erased} answer records of {user}")


@feedback_app.command("export")
def export(gold: Annotated[Path, typer.Option("--gold", help="The gold JSONL file to write")],
           collection: Annotated[str | None, typer.Option(help="Only answers from this collection")] = None
           ) -> None:
    """Write the thumbs-down answers that have a correction, and the thumbs-up ones (to keep), as gold items:
    `rag eval FILE --compare OLD.json` then fails when a change breaks one."""
    from rag.services.feedback import gold_items

    items = gold_items(_components(), collection)
    gold.parent.mkdir(parents=True, exist_ok=True)
    gold.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    keep = sum(i["confirmed"] == "keep" for i in items)
    print(f"wrote {len(items)} gold items to {gold}: {len(items) - keep} corrections, {keep} to keep")
