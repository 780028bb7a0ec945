"""Logs: one `rag.answer` line per answer and one `rag.ingest` line per ingest, holding the values the
refusal and grounding decisions acted on; RAG_LOG__LEVEL and RAG_LOG__FORMAT; `rag ask --json` keeps stdout
to its JSON object."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from rag import logs
from rag.components import Components
from rag.config import Settings
from rag.index.store import ChunkStore
from rag.ingest.pipeline import Ingestor
from rag.web.server import create_app
from tests.answer.test_chain import FixedRetriever, ScriptedLLM, chain
from tests.answer.test_stream_truth import OneReplyLLM
from tests.conftest import ROOT, HashEmbedder


class Captured:
    """The `rag` loggers configured to write into a string, the logger's state put back afterwards."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    def configure(self, **settings: object) -> None:
        logs.configure(Settings(_env_file=None, **settings), stream=self.stream)  # type: ignore[arg-type]

    def lines(self, logger: str | None = None) -> list[str]:
        out = self.stream.getvalue().splitlines()
        return [line for line in out if logger is None or f" {logger} " in line or f'"{logger}"' in line]

    def records(self, logger: str) -> list[dict]:
        return [json.loads(line) for line in self.lines(logger)]


@pytest.fixture
def captured():
    root = logging.getLogger(logs.ROOT)
    saved = root.handlers[:], root.level, root.propagate
    yield Captured()
    root.handlers[:], root.level, root.propagate = saved[0], saved[1], saved[2]


def test_an_answer_logs_one_json_line_with_the_values_its_decisions_used(captured) -> None:
    captured.configure(log={"format": "json"})
    llm = ScriptedLLM("Javad Owji welcomed Putin [1].", p_yes=0.9)
    ans = chain(llm, coverage=lambda query, texts: 0.8125).answer("Who welcomed Putin?")
    assert ans.answerable
    [line] = captured.records("rag.answer")
    assert line["level"] == "INFO" and line["logger"] == "rag.answer" and line["time"].endswith("Z")
    assert line["question"] == "Who welcomed Putin?" and line["query"] == "Who welcomed Putin?"
    assert line["collection"] == "documents" and line["mode"] == "hybrid" and line["shape"] == "factoid"
    assert line["top_dense"] == 0.7 and line["coverage"] == 0.8125 and line["check"] == 0.9
    assert line["support"] == [round(s.support, 3) for s in ans.sentences] and line["support"]
    assert line["grounded"] == ans.grounded == 1.0
    assert line["answerable"] is True and line["refusal_reason"] is None and line["verdict"] is None
    assert line["citations"] == 1 and line["passages"] == 1 and line["missing_terms"] == []
    t = ans.timings
    assert (line["retrieve_ms"], line["check_ms"], line["queue_ms"], line["generate_ms"], line["total_ms"]) == (
        t.retrieve_ms, t.check_ms, t.queue_ms, t.generate_ms, t.total_ms)
    assert line["prompt_tokens"] == 100 and line["completion_tokens"] == len("Javad Owji welcomed Putin [1].") // 5
    assert line["model"] == "scripted"


def test_a_rejected_reply_logs_the_support_the_check_rejected(captured) -> None:
    captured.configure(log={"format": "json"})
    ans = chain(ScriptedLLM("Vladimir Lenin greeted the crowd at the Kremlin [1].", p_yes=0.9)).answer(
        "Who greeted the crowd at the Kremlin?")
    assert not ans.answerable and ans.refusal_reason == "unsupported" and ans.sentences == []
    [line] = captured.records("rag.answer")
    assert line["refusal_reason"] == "unsupported" and line["answerable"] is False and line["citations"] == 0
    assert len(line["support"]) == 1 and line["support"][0] < 0.5 and line["grounded"] is None


def test_a_refusal_before_the_model_is_one_line_too(captured) -> None:
    captured.configure(log={"format": "json"})
    llm = ScriptedLLM()
    chain(llm, FixedRetriever(score=0.01)).answer("How do I bake bread?" + " and more" * 40)
    [line] = captured.records("rag.answer")
    assert line["refusal_reason"] == "weak_retrieval" and line["top_dense"] == 0.01 and line["check"] is None
    assert line["support"] == [] and line["coverage"] is None and llm.calls == []
    assert len(line["question"]) == logs.TEXT_CHARS and line["question"].endswith("…")


def test_the_readable_line_is_key_value_pairs(captured) -> None:
    captured.configure()
    chain(ScriptedLLM("Javad Owji welcomed Putin [1].", p_yes=0.9)).answer("Who welcomed Putin?")
    [line] = captured.lines("rag.answer")
    assert " INFO rag.answer " in line and line[:4].isdigit()
    assert 'question="Who welcomed Putin?"' in line and " mode=hybrid " in line and " answerable=true " in line
    assert " refusal_reason=null " in line and " check=0.9 " in line and " support=[" in line


def test_an_ingest_logs_one_line_naming_the_file_it_skipped(captured, tmp_path) -> None:
    captured.configure(log={"format": "json"})
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "good.txt").write_text("The Zorblat reactor in Vellmar produces 40 megawatts.")
    bad = folder / "bad.txt"
    bad.write_bytes(b"\x00\x01\x02binary")
    settings = Settings(_env_file=None, store={"persist_dir": tmp_path / "store", "collection": "test"})
    report = Ingestor(settings, ChunkStore(settings), HashEmbedder()).ingest_paths([folder])
    [line] = captured.records("rag.ingest")
    assert line["level"] == "WARNING" and line["kind"] == "ingest" and line["collection"] == "test"
    assert line["sources"] == [str(folder)] and line["documents"] == 1 == line["changed"]
    assert line["chunks"] == report.chunks > 0 and line["embedded"] == report.embedded
    [skipped] = line["skipped"]
    assert skipped["file"] == str(bad) and "binary" in skipped["reason"]
    assert line["seconds"] == round(report.seconds, 3)


def test_warning_level_silences_the_info_lines(captured, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RAG_LOG__LEVEL", "warning")
    assert Settings(_env_file=None).log.level == "WARNING"
    logs.configure(Settings(_env_file=None), stream=captured.stream)
    chain(ScriptedLLM("Javad Owji welcomed Putin [1].", p_yes=0.9)).answer("Who welcomed Putin?")
    (tmp_path / "good.txt").write_text("The Zorblat reactor in Vellmar produces 40 megawatts.")
    settings = Settings(_env_file=None, store={"persist_dir": tmp_path / "store", "collection": "test"})
    Ingestor(settings, ChunkStore(settings), HashEmbedder()).ingest_paths([tmp_path / "good.txt"])
    assert captured.lines() == []
    with pytest.raises(ValidationError, match="not a log level"):
        Settings(_env_file=None, log={"level": "chatty"})


def test_configure_again_replaces_its_handler_and_held_lines_come_after(captured) -> None:
    captured.configure()
    captured.configure(log={"format": "json"})
    root = logging.getLogger(logs.ROOT)
    assert sum(isinstance(h, logs._Handler) for h in root.handlers) == 1 and not root.propagate
    with logs.held():
        chain(ScriptedLLM("Javad Owji welcomed Putin [1].", p_yes=0.9)).answer("Who welcomed Putin?")
        assert captured.lines() == []
        captured.stream.write("streamed text\n")
    assert captured.stream.getvalue().startswith("streamed text\n") and len(captured.records("rag.answer")) == 1


def test_a_refused_upload_is_a_warning(captured, tmp_path) -> None:
    comps = Components(
        Settings(
            _env_file=None,
            store={"persist_dir": tmp_path / "store", "collection": "main", "seeds_dir": tmp_path / "none"},
        ),
        embedder=HashEmbedder(),
        llm=OneReplyLLM("x"),
    )
    with TestClient(create_app(comps, with_ui=False)) as client:
        captured.configure(log={"format": "json"})  # after create_app, which configures stderr
        bad = client.post("/v1/documents", files=[("files", ("tool.exe", b"MZ", "application/octet-stream"))])
        good = client.post("/v1/documents", files=[("files", ("a.txt", b"Pears grow on trees.", "text/plain"))])
        missing = client.get("/v1/documents/nope/text")
    assert (bad.status_code, good.status_code, missing.status_code) == (415, 201, 404)
    refused, upload = captured.records("rag.ingest")
    assert refused["level"] == "WARNING" and refused["refused"] == "unsupported_file_type"
    assert "tool.exe" in refused["reason"]
    assert upload["level"] == "INFO" and upload["kind"] == "upload" and upload["sources"] == ["upload:a.txt"]


def test_rag_ask_json_keeps_stdout_to_its_json_object(tmp_path) -> None:
    offline = {"HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "GRADIO_ANALYTICS_ENABLED", "TIKTOKEN_CACHE_DIR"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_") and k not in offline}
    env.update(RAG_LLM__BACKEND="scripted", RAG_EMBED__BACKEND="hash", RAG_STORE__PERSIST_DIR=str(tmp_path / "store"),
               RAG_LOG__FORMAT="json", PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p))
    proc = subprocess.run([sys.executable, "-m", "rag.cli", "ask", "--json", "Who welcomed Putin at the airport?"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    body = json.loads(proc.stdout)  # the whole of stdout: one JSON object
    assert body["answerable"] and "Javad Owji" in body["answer"]
    lines = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith('{"time"')]
    assert [x["logger"] for x in lines] == ["rag.ingest", "rag.answer"]  # the seeds, then the answer
    assert lines[0]["kind"] == "ingest" and lines[0]["documents"] > 0 and lines[0]["skipped"] == []
    assert lines[1]["question"] == "Who welcomed Putin at the airport?" and lines[1]["answerable"] is True
