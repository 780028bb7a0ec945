"""Logs: one structured line per answer (`rag.answer`) and per ingest (`rag.ingest`), and a warning per file
refused at upload, with the values the refusal thresholds and the grounding check acted on.

`configure(settings)` sets up the `rag` logger hierarchy from `RAG_LOG__LEVEL` and `RAG_LOG__FORMAT`; each entry
point (the `rag` command, the server's app, `app.py`) calls it once, next to `offline_environment()`. The
lines go to stderr, so `rag ask --json` keeps stdout to its one JSON object. Without `configure` (a program
that embeds `rag`), the records propagate to the root logger as any library's do; their message is the
key=value text.

A record's message is a `Fields` dict: the key=value formatter writes it as `key=value` pairs, the JSON
formatter as the object itself, and a test reads `record.msg["check"]`."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from rag.config import Settings
    from rag.types import Answer, AnswerSentence

ROOT = "rag"
answer_log = logging.getLogger("rag.answer")
ingest_log = logging.getLogger("rag.ingest")
R = TypeVar("R", bound="Report")
TEXT_CHARS = 200  # a question or query is cut to this many characters
LIST_ITEMS = 50  # the sources, skipped files and warnings of one ingest line
_BARE = re.compile(r"[^\s=\"]+")
# upload refusals the API answers (rag/web/api): logged as warnings; other errors are the caller's business
_REFUSED_FILE = {"unsupported_file_type", "file_too_large", "unreadable_file", "too_many_files"}


class Chain(Protocol):
    """What the answer line reads of `rag.answer.chain.AnswerChain` (which imports this module)."""

    settings: Settings
    coverage: Callable[[str, list[str]], float] | None


class Report(Protocol):
    """What the ingest line reads of `rag.ingest.pipeline.IngestReport` (whose module imports this one)."""

    documents: Sequence[Any]  # DocResult: unchanged, removed, warnings
    skipped: list[tuple[str, str]]
    deleted: list[str]
    seconds: float

    @property
    def unchanged(self) -> int: ...

    @property
    def chunks(self) -> int: ...

    @property
    def embedded(self) -> int: ...


class Fields(dict):
    """A record's fields; as text, `key=value` pairs (strings quoted when they hold spaces, lists as JSON)."""

    def __str__(self) -> str:
        return " ".join(f"{key}={_text(value)}" for key, value in self.items())


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value if _BARE.fullmatch(value) else json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


class LineFormatter(logging.Formatter):
    """`2026-11-28T17:40:01.123Z INFO rag.answer question="..." mode=hybrid ...` (UTC)."""

    converter = time.gmtime
    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format = "%s.%03dZ"

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level and logger, then the record's fields (or its `message`)."""

    converter = time.gmtime
    default_time_format = LineFormatter.default_time_format
    default_msec_format = LineFormatter.default_msec_format

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {"time": self.formatTime(record), "level": record.levelname, "logger": record.name}
        fields = record.msg if isinstance(record.msg, Fields) and not record.args else {"message": record.getMessage()}
        out.update((k, v) for k, v in fields.items() if k not in out)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class _Handler(logging.StreamHandler):
    """Writes to the stream it was given, or else to whatever `sys.stderr` is when a record comes: pytest's
    capture, or the proxy rich puts there while a progress bar is drawn."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        super().__init__(stream)
        self._given = stream

    @property  # type: ignore[override]
    def stream(self) -> IO[str]:
        return self._given if self._given is not None else sys.stderr

    @stream.setter
    def stream(self, value: IO[str]) -> None:
        self._given = value


def configure(settings: Settings, stream: IO[str] | None = None) -> logging.Logger:
    """Set up the `rag` loggers: level `settings.log.level`, one handler writing key=value lines (or JSON
    with `settings.log.format`) to `stream` (default: stderr). Calling it again replaces the handler, so
    every entry point may call it. The `rag` records then stop at this handler (no copy at the root)."""
    logger = logging.getLogger(ROOT)
    for old in [h for h in logger.handlers if isinstance(h, _Handler)]:
        logger.removeHandler(old)
    handler = _Handler(stream)
    handler.setFormatter(JsonFormatter() if settings.log.format == "json" else LineFormatter())
    logger.addHandler(handler)
    logger.setLevel(settings.log.level)
    logger.propagate = False
    return logger


class _Held(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def held() -> Iterator[None]:
    """The `rag` lines logged inside the block are written when it ends: the CLI streams an answer's text,
    or draws a progress bar, on the stderr the lines go to, and a line must not land in the middle."""
    logger = logging.getLogger(ROOT)
    ours = [h for h in logger.handlers if isinstance(h, _Handler)]
    if not ours:
        yield
        return
    buffer = _Held()
    for h in ours:
        logger.removeHandler(h)
    logger.addHandler(buffer)
    try:
        yield
    finally:
        logger.removeHandler(buffer)
        for h in ours:
            logger.addHandler(h)
            for record in buffer.records:
                h.handle(record)


def _clip(text: str, limit: int = TEXT_CHARS) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _capped(items: Iterable[Any], limit: int = LIST_ITEMS) -> list[Any]:
    items = list(items)
    return items if len(items) <= limit else [*items[:limit], f"+{len(items) - limit} more"]


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def answer_fields(answer: Answer, chain: Chain | None = None,
                  judged: Sequence[AnswerSentence] | None = None) -> Fields:
    """What the answer line holds. `chain` gives the settings (collection, retrieval mode) and the coverage
    function; `judged`, the sentences the support check scored: the answer's own, or those of a reply it
    rejected (the answer then has none)."""
    settings = chain.settings if chain is not None else None
    dense = [p.dense_score for p in answer.retrieved if p.dense_score is not None]
    coverage = None
    if chain is not None and chain.coverage is not None and answer.retrieved:
        # of the passages retrieved in the end (after any second hop); before one, what the refusal used
        coverage = chain.coverage(answer.query, [p.chunk.text for p in answer.retrieved])
    t, u = answer.timings, answer.usage
    return Fields(
        answer_id=answer.id, question=_clip(answer.question), query=_clip(answer.query),
        collection=settings.store.collection if settings else None, mode=settings.retrieval.mode if settings else None,
        shape=answer.shape, answerable=answer.answerable, refusal_reason=answer.refusal_reason,
        verdict=answer.verdict, passages=len(answer.retrieved), top_dense=_round(max(dense) if dense else None),
        coverage=_round(coverage), check=_round(answer.check), verify=_round(answer.verify),
        support=[round(s.support, 3) for s in (answer.sentences if judged is None else judged)],
        grounded=answer.grounded, citations=len(answer.citations), missing_terms=answer.missing_terms,
        retrieve_ms=t.retrieve_ms, context_ms=t.context_ms, check_ms=t.check_ms, verify_ms=t.verify_ms,
        queue_ms=t.queue_ms, generate_ms=t.generate_ms, total_ms=t.total_ms, first_token_ms=t.first_token_ms,
        prompt_tokens=u.prompt_tokens, completion_tokens=u.completion_tokens, model=answer.model)


def log_answer(answer: Answer, chain: Chain | None = None,
               judged: Sequence[AnswerSentence] | None = None) -> Answer:
    """One `rag.answer` line (INFO) for a final answer, which it returns as it is: the chain wraps the
    answer it yields. Logging never fails the answer: a field that cannot be computed is logged as an error."""
    if answer_log.isEnabledFor(logging.INFO):
        try:
            fields = answer_fields(answer, chain, judged)
        except Exception:  # the answer is made; the line is not worth failing it for
            answer_log.exception("could not build the answer line")
        else:
            answer_log.info(fields)
    return answer


def log_ingest(report: R, settings: Settings, kind: str, sources: Sequence[str | Path]) -> R:
    """One `rag.ingest` line for an ingest (`kind`: ingest, sync or upload), returned as it is: INFO, or
    WARNING when files were skipped (each named with its reason)."""
    changed = [d for d in report.documents if not d.unchanged]
    fields = Fields(
        kind=kind, collection=settings.store.collection, sources=_capped(str(s) for s in sources),
        documents=len(report.documents), changed=len(changed), unchanged=report.unchanged, chunks=report.chunks,
        embedded=report.embedded, removed=sum(d.removed for d in changed), deleted=_capped(report.deleted),
        skipped=_capped({"file": name, "reason": reason} for name, reason in report.skipped),
        warnings=_capped(w for d in report.documents for w in d.warnings), seconds=round(report.seconds, 3))
    ingest_log.log(logging.WARNING if report.skipped else logging.INFO, fields)
    return report


def log_refused(code: str, message: str) -> None:
    """A warning for a file refused at upload (API or chat page); other error codes are not logged."""
    if code in _REFUSED_FILE:
        ingest_log.warning(Fields(refused=code, reason=message))
