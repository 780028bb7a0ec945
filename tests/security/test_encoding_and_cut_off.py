"""Issue #32, item 8 (part): a guessed text encoding is reported, mostly-UTF-8 data stays UTF-8 (bad bytes
replaced, with a warning); a document cut off mid-write is listed as such, an upload killed before its chunks
leaves a record saying "writing", and the next sync finishes it from the kept bytes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from rag.components import Components
from rag.config import Settings
from rag.ingest import pipeline
from rag.ingest.loaders import load_bytes
from rag.types import DocState
from rag.web.server import create_app
from tests.answer.test_stream_truth import OneReplyLLM
from tests.conftest import HashEmbedder

FRENCH = "La crème brûlée du café à Genève, façon grand-mère, est servie tiède. " * 5


def test_a_guessed_encoding_is_reported() -> None:
    doc = load_bytes(FRENCH.encode("latin-1"), "dessert.txt", source="dessert.txt")
    assert doc.warnings and "not UTF-8" in doc.warnings[0] and "decoded as" in doc.warnings[0], doc.warnings


def test_mostly_utf8_stays_utf8_with_a_warning() -> None:
    data = FRENCH.encode() + b"\xe9t\xe9 " + FRENCH.encode()  # two stray Latin-1 bytes in UTF-8 text
    doc = load_bytes(data, "mixed.txt", source="mixed.txt")
    assert "crème brûlée" in doc.text and "\ufffd" in doc.text
    assert any("2 bytes" in w and "UTF-8" in w for w in doc.warnings), doc.warnings


def test_utf8_gives_no_warning() -> None:
    assert load_bytes(FRENCH.encode(), "ok.txt", source="ok.txt").warnings == []


@pytest.fixture
def comps(tmp_path) -> Components:
    return Components(Settings(_env_file=None, store={"persist_dir": tmp_path / "store", "collection": "main",
                                                      "seeds_dir": tmp_path / "none"}),
                      embedder=HashEmbedder(), llm=OneReplyLLM("x"))


def test_a_document_cut_off_mid_write_is_listed_as_incomplete(comps) -> None:
    result = comps.ingestor.ingest_upload(FRENCH.encode(), "dessert.txt")
    record = comps.store.doc_record(result.doc_id)
    assert record is not None
    comps.store.put_doc_record(record.model_copy(update={"state": DocState.writing}))
    assert comps.store.list_documents()[0]["state"] == "writing"
    with TestClient(create_app(comps, with_ui=False)) as client:
        assert client.get("/v1/documents").json()["data"][0]["state"] == "writing"


class Killed(BaseException):
    """Stands in for kill -9: nothing after it runs."""


def test_an_upload_killed_before_its_chunks_is_recorded_and_sync_finishes_it(comps, tmp_path, monkeypatch) -> None:
    def killed(*_: object, **__: object) -> None:
        raise Killed

    monkeypatch.setattr(pipeline, "chunk_document", killed)
    with pytest.raises(Killed):
        comps.ingestor.ingest_upload(FRENCH.encode(), "dessert.txt")
    monkeypatch.undo()
    (listed,) = comps.store.list_documents()
    assert listed["state"] == "writing" and listed["chunks"] == 0, listed
    assert "upload:dessert.txt" in comps.unfinished_documents()
    folder = tmp_path / "empty"
    folder.mkdir()
    report = comps.ingestor.sync(folder)
    assert [d.source for d in report.documents] == ["upload:dessert.txt"], report
    (listed,) = comps.store.list_documents()
    assert listed["state"] == "complete" and listed["chunks"] > 0
    record = comps.store.doc_record(listed["doc_id"])
    assert record is not None and record.complete and record.file.endswith(listed["doc_id"] + ".txt")
    assert [p.name for p in comps.ingestor.uploads_dir().iterdir()] == [listed["doc_id"] + ".txt"]
