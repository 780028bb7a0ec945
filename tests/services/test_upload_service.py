"""Uploads through both front ends go through one use case (`rag.services.documents`): the HTTP API (through
FastAPI's TestClient) and the chat page's upload handler refuse the same files with the same words, before any
ingest work, and leave the collection as it was; an accepted upload is ingested as one batch."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rag.components import Components
from rag.config import Settings
from rag.ingest.pipeline import Ingestor
from rag.services import documents
from rag.web.server import create_app
from rag.web.ui import panels
from tests.answer.test_stream_truth import OneReplyLLM
from tests.conftest import HashEmbedder

PEARS = b"Pears grow on trees in the orchard at Anzali.\n"
PLUMS = b"Plums ripen in August on the hills above Rasht.\n"


@pytest.fixture
def comps(tmp_path) -> Components:
    return Components(
        Settings(_env_file=None,
                 store={"persist_dir": tmp_path / "store", "collection": "main", "seeds_dir": tmp_path / "none"}),
        embedder=HashEmbedder(), llm=OneReplyLLM("x"))


@pytest.fixture
def http(comps):
    with TestClient(create_app(comps, with_ui=False)) as client:
        yield client


@pytest.fixture
def ingest_calls(monkeypatch) -> list[str]:
    """Every load and batch ingest the pipeline is asked for."""
    calls: list[str] = []
    load, batch = Ingestor.load_upload, Ingestor.ingest_documents
    monkeypatch.setattr(Ingestor, "load_upload", lambda self, data, name: calls.append(f"load {name}")
                        or load(self, data, name))
    monkeypatch.setattr(Ingestor, "ingest_documents", lambda self, docs, *a, **k: calls.append("ingest")
                        or batch(self, docs, *a, **k))
    return calls


def _files(tmp_path: Path, named: dict[str, bytes]) -> list[Path]:
    out = []
    for name, data in named.items():
        (tmp_path / name).write_bytes(data)
        out.append(tmp_path / name)
    return out


def _post(http: TestClient, named: dict[str, bytes]):
    return http.post("/v1/documents", files=[("files", (n, d, "text/plain")) for n, d in named.items()])


def test_an_oversized_file_refuses_the_whole_upload_in_both_front_ends(comps, http, tmp_path, monkeypatch,
                                                                       ingest_calls) -> None:
    monkeypatch.setattr(comps.settings.ingest, "max_file_mb", 0.001)
    batch = {"pears.txt": PEARS, "big.txt": b"word " * 1000}
    r = _post(http, batch)
    assert r.status_code == 413
    assert r.json() == {"error": {"message": "big.txt: larger than the 0.001 MB limit",
                                  "type": "invalid_request_error", "code": "file_too_large"}}
    shown = panels.upload_files(comps, "main", _files(tmp_path, batch))
    assert shown.split("\n\n") == [
        "⏸️ pears.txt: not added, because another file of this upload was refused; add it again without that file",
        "❌ big.txt: larger than the 0.001 MB limit"]
    assert "ingest" not in ingest_calls and comps.store.count() == 0 and comps.embedder.calls == 0


def test_too_many_files_are_refused_before_any_file_is_read(comps, http, tmp_path, monkeypatch,
                                                            ingest_calls) -> None:
    monkeypatch.setattr(documents, "MAX_FILES", 2)
    batch = {"a.txt": PEARS, "b.txt": PLUMS, "c.txt": PEARS}
    r = _post(http, batch)
    assert r.status_code == 413
    err = r.json()["error"]
    assert err["code"] == "too_many_files" and err["message"] == "3 files: one upload takes at most 2 files"
    assert panels.upload_files(comps, "main", _files(tmp_path, batch)) == f"❌ {err['message']}"
    assert ingest_calls == [] and comps.store.count() == 0


def test_every_refused_file_is_named_on_the_page_and_the_api_answers_with_the_first(comps, http, tmp_path,
                                                                                     ingest_calls) -> None:
    batch = {"../../etc/passwd": b"root:x:0:0", "image.txt": b"\x89PNG\x00\x00\x01", "pears.txt": PEARS}
    r = _post(http, batch)
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_file_type"
    message = r.json()["error"]["message"]
    assert message.startswith("passwd: unsupported file type; supported: .csv, .docx")
    folder = tmp_path / "page"
    folder.mkdir()
    lines = panels.upload_files(comps, "main", _files(folder, {"passwd": b"root:x:0:0", "image.txt":
                                                               batch["image.txt"], "pears.txt": PEARS})).split("\n\n")
    assert lines[0] == f"❌ {message}"
    assert lines[1].startswith("❌ image.txt:") and "binary" in lines[1]
    assert lines[2].startswith("⏸️ pears.txt: not added")
    assert "ingest" not in ingest_calls and comps.store.count() == 0


def test_an_accepted_upload_is_one_batch_with_a_line_per_file(comps, http, tmp_path, ingest_calls) -> None:
    shown = panels.upload_files(comps, "main", _files(tmp_path, {"pears.txt": PEARS, "plums.txt": PLUMS}))
    assert shown.split("\n\n") == ["✅ pears.txt: 1 chunks (1 new)", "✅ plums.txt: 1 chunks (1 new)"]
    assert ingest_calls.count("ingest") == 1
    r = _post(http, {"pears.txt": PEARS})  # the same name again replaces it; its chunk is reused
    assert r.status_code == 201
    assert [(d["source"], d["embedded"]) for d in r.json()["data"]] == [("upload:pears.txt", 0)]
    assert sorted(d["file_name"] for d in http.get("/v1/documents").json()["data"]) == ["pears.txt", "plums.txt"]


def test_delete_and_reingest_of_an_unknown_document_answer_alike(comps, http) -> None:
    for r in (http.delete("/v1/documents/nope"), http.post("/v1/documents/nope/reingest")):
        assert r.status_code == 404 and r.json() == {"error": {
            "message": "no document with id 'nope'", "type": "invalid_request_error", "code": "document_not_found"}}
    assert panels.delete_document(comps, "main", "nope") == "❌ nope: not in the collection."
    assert panels.reingest_document(comps, "main", "nope") == "❌ nope: not in the collection."
