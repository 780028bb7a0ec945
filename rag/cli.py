"""The `rag` command: ingest, sync, ask, eval, serve; audit and feedback (rag/cli_audit.py)."""

from __future__ import annotations

import json
import logging
import os
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
        comps.warmup.start(log_level=logging.DEBUG, documents=False)
        seeded = comps.seed_if_empty()
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
    global _quick_exit
    _quick_exit = seeded is None  # nothing was written to the store (the answer's record is committed)
    if as_json:
        sys.stdout.write(json.dumps(final.public(), ensure_ascii=False) + "\n")
        return
    print(final.answer)
    for c in final.citations:
        page = f", page {c.page}" if c.page else ""
        print(f"  [{c.marker}] {c.source}{page} @{c.start}-{c.end} (score {c.score:.2f}): \"{c.quote}\"")
    t = final.timings
    console.print(f"[dim]{final.model} · retrieve {t.retrieve_ms:.0f} ms · generate {t.generate_ms:.0f} ms"
                  f" · total {t.total_ms:.0f} ms · answer id {final.id}[/dim]")


@app.command("eval")
def evaluate(
    gold: Annotated[list[Path] | None, typer.Argument(help="Gold JSONL file(s) (id, question, answers, evidence, "
                                                     "doc; optional shape, split, supporting)")] = None,
    docs: Annotated[Path | None, typer.Option(help="Ingest these documents into a temporary collection "
                                                   "first (default: use the current collection)")] = None,
    corpus: Annotated[list[str] | None, typer.Option(
        help="A corpus, each in a collection of its own: a folder with gold.jsonl and docs/, or "
        "DOCS=GOLD[,GOLD...]. Repeated: one result per corpus, one table row per corpus and shape")] = None,
    store: Annotated[Path | None, typer.Option(help="With --corpus: keep each corpus's collection under this "
                                                    "folder, so the next run ingests nothing new")] = None,
    out: Annotated[Path | None, typer.Option(help="Results JSON; a Markdown report and PNG charts "
                                                  "are written beside it")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N questions")] = None,
    sample: Annotated[int | None, typer.Option(help="A fixed random subset of N questions (per gold file)")] = None,
    seed: Annotated[int, typer.Option(help="Seed for --sample")] = 13,
    baseline: Annotated[str | None, typer.Option(help="Also run 'simple': whole chunks, first-stage top-4, "
                                                      "one prompt, the same models (the floor); 'llamaindex': "
                                                      "the plain llama-index pipeline with the same models; or "
                                                      "'llamaindex-synth': llama-index's response synthesiser "
                                                      "over our retriever")] = None,
    compare_to: Annotated[Path | None, typer.Option("--compare", help="An earlier results JSON: print "
                                                    "each metric's change; exit 1 on a regression, or when a case a "
                                                    "user confirmed (rag feedback export) passed then and fails "
                                                    "now")] = None,
    against: Annotated[Path | None, typer.Option(help="With --compare and no GOLD: compare this results "
                                                 "JSON instead of running")] = None,
    max_drop: Annotated[float, typer.Option(help="Largest tolerated drop of a quality metric")] = 0.02,
    mode: Annotated[str | None, typer.Option(help="Retrieval mode(s), comma-separated: dense, bm25, hybrid "
                                                  "or all (default: RAG_RETRIEVAL__MODE)")] = None,
    retrieval_only: Annotated[bool, typer.Option(help="Score retrieval only; ask the LLM nothing")] = False,
    split: Annotated[str | None, typer.Option(help="Only the gold items of this split: tune or test (a set "
                                                   "without splits is halved by a hash of its ids)")] = None,
    sweep: Annotated[list[str] | None, typer.Option(
        "--set", help="Run once per value of a retrieval or answer setting: --set answer.check_min=0.3,0.35,0.4. "
        "Repeated, a grid of every combination; one summary row per run")] = None,
) -> None:
    """Score answers, retrieval, citations, refusals and cost against a gold question set."""
    from rag.eval.compare import broken_confirmed, compare

    if corpus:
        if gold or docs or compare_to:
            raise typer.BadParameter("--corpus runs on its own: no GOLD, --docs or --compare beside it")
        _evaluate_corpora(corpus, store, out, limit, sample, seed, baseline, mode, retrieval_only, split, sweep)
        return
    if not gold:
        if not (compare_to and against):
            raise typer.BadParameter("give a GOLD file, a --corpus, or --compare OLD.json --against NEW.json")
        new = json.loads(against.read_text())
    else:
        new = _evaluate_gold(gold, docs, out, limit, sample, seed, baseline, compare_to, mode, retrieval_only,
                             split, sweep)
    if compare_to:
        before = json.loads(compare_to.read_text())
        lines, regressed = compare(before["summary"], new["summary"], max_drop)
        print("\n".join(lines))
        broken = broken_confirmed(before.get("rows", []), new.get("rows", []))
        for row in broken:
            console.print(f"[red]confirmed case broken:[/red] {row['id']} ({row['confirmed']}): {row['question']!r} "
                          f"expected {row['gold_answers'] or 'a refusal'}, got {row['answer']!r}", highlight=False)
        if regressed:
            console.print(f"[red]regressed by more than {max_drop}:[/red] {', '.join(regressed)}")
        if regressed or broken:
            raise typer.Exit(1)


def _plan(settings: Settings, baseline: str | None, mode: str | None, retrieval_only: bool,
          sweep: list[str] | None):
    from rag.eval.session import Plan
    from rag.eval.sweep import grid

    try:
        points = grid(sweep or [], settings) if sweep else [{}]
        modes = ["dense", "bm25", "hybrid"] if mode == "all" else (mode.split(",") if mode else None)
        return Plan(points, modes, baseline, retrieval_only)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


def _progress():
    """A progress bar per system, showing the running F1."""
    from rich.progress import Progress as Bar

    bar = Bar(console=console, transient=True)
    tasks: dict[str, object] = {}

    def update(name: str, done: int, total: int, summary: dict) -> None:
        if name not in tasks:
            tasks[name] = bar.add_task(name, total=total)
        f1 = summary.get("f1")
        bar.update(tasks[name], completed=done, description=f"{name} F1 {f1:.3f}" if f1 is not None else name)  # type: ignore[arg-type]
        if done == total:
            bar.remove_task(tasks.pop(name))  # type: ignore[arg-type]

    return bar, update


def _evaluate_gold(gold: list[Path], docs: Path | None, out: Path | None, limit: int | None, sample: int | None,
                   seed: int, baseline: str | None, compare_to: Path | None, mode: str | None,
                   retrieval_only: bool, split: str | None, sweep: list[str] | None) -> dict:
    import tempfile

    from rag.components import Components
    from rag.eval.gold import default_docs_dir, load_gold
    from rag.eval.report import headline_table, sweep_table, write_report
    from rag.eval.session import all_runs, run_systems, systems

    items = [i for g in gold for i in load_gold(g, limit=limit, sample=sample, seed=seed, split=split)]
    if not items:
        raise typer.BadParameter(f"{', '.join(map(str, gold))} hold no questions"
                                 + (f" in split {split!r}" if split else ""))
    settings = Settings()
    plan = _plan(settings, baseline, mode, retrieval_only, sweep)
    if compare_to and len(plan.points) > 1:
        raise typer.BadParameter("--compare gates one run: sweep with --set first, then compare the value chosen")
    tmp = tempfile.TemporaryDirectory() if docs else None
    if tmp is not None:
        settings = overridden(settings, {"store.persist_dir": Path(tmp.name), "store.collection": "eval"})
    comps = Components(settings)
    if docs:
        report = comps.ingestor.ingest_paths([docs])
        console.print(f"ingested {len(report.documents)} documents ({report.chunks} chunks) in {report.seconds:.1f} s")
    elif comps.store.count() == 0:
        raise typer.BadParameter("the collection is empty: ingest documents or pass --docs")
    try:
        runs_of = systems(comps, plan, docs or default_docs_dir(gold[0]))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    config = {"gold": [str(g) for g in gold], "split": split, "docs": str(docs) if docs else None,
              "limit": limit, "sample": sample, "seed": seed,
              "model": None if retrieval_only else comps.llm.name, "chunk_size": settings.ingest.chunk_size}
    bar, update = _progress()
    with bar:
        new = run_systems(items, runs_of, config, update)
    out = out or Path("eval-results") / f"{gold[0].stem}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(new, indent=1, ensure_ascii=False))
    runs = all_runs(new)
    md = write_report(runs, out, f"Evaluation: {', '.join(g.name for g in gold)}")
    print(sweep_table(runs) if "sweep" in new else headline_table(runs))
    console.print(f"results: {out} · report: {md}")
    if tmp is not None:
        tmp.cleanup()
    return new


def _evaluate_corpora(specs: list[str], store: Path | None, out: Path | None, limit: int | None,
                      sample: int | None, seed: int, baseline: str | None, mode: str | None,
                      retrieval_only: bool, split: str | None, sweep: list[str] | None) -> None:
    from rag.eval.report import corpus_table
    from rag.eval.session import Corpus, run_corpora

    settings = Settings()
    plan = _plan(settings, baseline, mode, retrieval_only, sweep)
    try:
        corpora = [Corpus.parse(spec) for spec in specs]
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc

    def ingested(name: str, report) -> None:
        console.print(f"{name}: {len(report.documents)} documents ({report.chunks} chunks) in {report.seconds:.1f} s")

    bar, update = _progress()
    try:
        with bar:
            results = run_corpora(settings, corpora, plan, split, sample, seed, limit, store, update, ingested)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    out = out or Path("eval-results") / "corpora.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"corpora": results}, indent=1, ensure_ascii=False))
    table = corpus_table(results)
    out.with_suffix(".md").write_text(f"# Evaluation by corpus and shape\n\n{table}\n", encoding="utf-8")
    print(table)
    console.print(f"results: {out} · table: {out.with_suffix('.md')}")


@app.command()
def serve(host: Annotated[str | None, typer.Option(help="Default: RAG_SERVER__HOST (127.0.0.1)")] = None,
          port: Annotated[int | None, typer.Option(help="Default: RAG_SERVER__PORT (7860)")] = None,
          insecure_no_token: Annotated[bool, typer.Option(
              "--insecure-no-token", help="Serve on a host other than loopback without RAG_SERVER__API_TOKEN "
              "(refused otherwise)")] = False) -> None:
    """Serve the chat UI and the HTTP API in one process (ingesting seeds/ first when the store is empty)."""
    from rag.web.server import launch

    comps = _components()
    launch(comps, host=host or comps.settings.server.host, port=port or comps.settings.server.port,
           insecure_no_token=insecure_no_token)


@app.command()
def ui(host: Annotated[str | None, typer.Option()] = None, port: Annotated[int | None, typer.Option()] = None,
       insecure_no_token: Annotated[bool, typer.Option("--insecure-no-token")] = False) -> None:
    """Same as `rag serve`."""
    serve(host, port, insecure_no_token)


users_app = typer.Typer(help="Users of the instance (accounts: on once the first user exists).",
                        no_args_is_help=True)
collections_app = typer.Typer(help="Collections: who may read them.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(collections_app, name="collections")


def _password(stdin: bool) -> str:
    """From stdin (one line), or asked twice without echo: never a command-line argument (ps shows those)."""
    if stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise typer.BadParameter("the password is empty")
    return password


def _user_errors(run):  # noqa: ANN001, ANN202 - a command body
    """The store's refusals (unknown or taken name, not the owner) as one plain line and exit status 1."""
    from rag.components import CollectionError
    from rag.state.errors import StateError
    from rag.state.users import UserError

    try:
        return run()
    except (UserError, CollectionError, StateError) as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from exc


@users_app.command("add")
def users_add(name: str, role: Annotated[str, typer.Option(help="admin or member")] = "member",
              password_stdin: Annotated[bool, typer.Option("--password-stdin",
                                                           help="Read the password from stdin")] = False) -> None:
    """Add a user; the first one turns account mode on (every API call then needs a key, the page a login)."""
    from rag.state.users import ROLES

    if role not in ROLES:
        raise typer.BadParameter(f"role {role!r}: choose admin or member")
    password = _password(password_stdin)
    comps = _components()
    user = _user_errors(lambda: comps.users.add(name, role, password))
    console.print(f"added {user.role} {user.name}", highlight=False)


@users_app.command("list")
def users_list() -> None:
    """Every user and their role."""
    for user in _user_errors(lambda: _components().users.list()):
        print(f"{user.name}\t{user.role}")


@users_app.command("delete")
def users_delete(name: str) -> None:
    """Delete a user with their keys, conversations, answer records and feedback (a deletion request);
    collections they owned stay (an admin's to manage)."""
    from rag.services import access

    erased = _user_errors(lambda: access.delete_user(_components(), name))
    console.print(f"deleted {name} and {erased} answer record(s) of theirs", highlight=False)


@users_app.command("password")
def users_password(name: str, password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False) -> None:
    """Set a user's password."""
    password = _password(password_stdin)
    _user_errors(lambda: _components().users.set_password(name, password))
    console.print(f"password of {name} set", highlight=False)


@users_app.command("key")
def users_key(name: str, label: Annotated[str, typer.Option(help="What the key is for")] = "") -> None:
    """Make an API key for a user and print it, once (only its hash is kept): the bearer key of /v1."""
    print(_user_errors(lambda: _components().users.create_api_key(name, label)))


@users_app.command("revoke-keys")
def users_revoke_keys(name: str) -> None:
    """Revoke every API key of a user (a key that leaked); `rag users key` makes a new one."""
    n = _user_errors(lambda: _components().users.revoke_api_keys(name))
    console.print(f"revoked {n} key{'s' * (n != 1)} of {name}", highlight=False)


@collections_app.command("list")
def collections_list() -> None:
    """Every collection and who may read it."""
    from rag.services.access import describe_access

    comps = _components()
    for name in comps.collection_names():
        print(f"{name}\t{_user_errors(lambda n=name: describe_access(comps, n))}")


@collections_app.command("share")
def collections_share(
        name: str,
        with_user: Annotated[list[str] | None, typer.Option("--with", help="A user who may read it (repeatable)")]
        = None,
        without: Annotated[list[str] | None, typer.Option("--without", help="A user who no longer may")] = None,
        public: Annotated[bool, typer.Option("--public", help="Every user may read it")] = False,
        private: Annotated[bool, typer.Option("--private", help="Only its owner and admins")] = False) -> None:
    """Set who may read a collection (run as the admin of the instance)."""
    from rag.services import access
    from rag.types import SINGLE_USER

    if public and private:
        raise typer.BadParameter("--public or --private, not both")
    comps = _components()

    def run() -> str:
        access.require_collection(comps, SINGLE_USER, name)  # an unknown name: 404's message
        if public or private:
            access.set_visibility(comps, SINGLE_USER, name, "public" if public else "private")
        for user in with_user or []:
            access.share(comps, SINGLE_USER, name, user)
        for user in without or []:
            access.unshare(comps, SINGLE_USER, name, user)
        return access.describe_access(comps, name)

    print(f"{name}\t{_user_errors(run)}")
def _add_state_commands() -> None:
    from rag.cli_audit import audit_app, feedback_app

    app.add_typer(audit_app, name="audit")
    app.add_typer(feedback_app, name="feedback")


_add_state_commands()


_quick_exit = False  # set by a command that has nothing left to write when it returns (`rag ask`)


def _leave_now() -> None:
    """End the process without the interpreter's teardown: freeing the model, Chroma's bindings and every module
    took 0.34 s of each `rag ask` on 2 cores (issue #34), after the answer was printed and its record
    committed. The output and the log are flushed first."""
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(0)


def main() -> None:
    """The `rag` entry point: expected failures (store, model, LLM server) end with one plain line."""
    from rag.components import offline_environment

    offline_environment()
    configure(Settings())  # RAG_LOG__LEVEL, RAG_LOG__FORMAT: the lines go to stderr
    from rag.backends.llm import LLMError
    from rag.backends.weights import ModelWeightsError
    from rag.index.store import StoreError
    from rag.state.errors import StateError

    try:
        app()
    except SystemExit as done:
        if _quick_exit and done.code in (0, None):
            _leave_now()
        raise
    except (StoreError, LLMError, ModelWeightsError, StateError) as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
