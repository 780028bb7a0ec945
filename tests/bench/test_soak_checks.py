"""The soak benchmark's checks (`benchmarks/soak.py`), each shown to catch what it is for: the store, BM25 and
record consistency check against a real Chroma store and BM25 index, damaged behind their backs in the ways a
race would; the citation check against a log of uploads and deletes; the stream parsing."""

from __future__ import annotations

import pytest

from benchmarks.soak import (
    Call,
    DocEvent,
    FakeLLM,
    _final_answer,
    check_citations,
    check_store,
    chunk_ids,
    expected_chunks,
    upload_doc,
)
from rag.components import Components
from rag.config import Settings
from rag.types import DocRecord, DocState
from tests.conftest import SEED_DOC, HashEmbedder

NOTE = ("The medlar harvest starts in November, after the first frost. "
        "Medlars are eaten bletted, soft and brown. The orchard at Anzali keeps forty trees.\n")


@pytest.fixture
def comps(tmp_path) -> Components:
    c = Components(Settings(_env_file=None, store={"persist_dir": tmp_path / "store", "collection": "soak"}))
    c.__dict__["embedder"] = HashEmbedder()
    c.ingestor.ingest_paths([SEED_DOC])
    c.ingestor.ingest_upload(NOTE.encode(), "note.txt")
    return c


def seed_doc_id(comps: Components) -> str:
    return next(d for d, r in comps.store.doc_records().items() if r.source.endswith(SEED_DOC.name))


def expected(comps: Components) -> dict[str, frozenset[str]]:
    return {d: frozenset(comps.store.ids_for_document(d)) for d in comps.store.doc_records()}


def test_a_consistent_store_passes(comps, tmp_path) -> None:
    note = upload_doc("note.txt", NOTE.encode())
    want = expected(comps)
    assert want[note.doc_id] == chunk_ids(note, comps.settings)  # the benchmark predicts the server's ids
    got = check_store(tmp_path / "store", "soak", want)
    assert got["ok"], got["problems"]
    assert got["chunks"] == comps.store.count() == got["bm25_chunks"] and got["records"] == 2


def test_a_chunk_lost_from_the_store_is_caught(comps, tmp_path) -> None:
    want = expected(comps)
    lost = sorted(comps.store.ids_for_document(seed_doc_id(comps)))[0]
    comps.store._col.delete(ids=[lost])  # behind the index's and the records' backs
    got = check_store(tmp_path / "store", "soak", want)
    assert not got["ok"]
    text = "\n".join(got["problems"])
    assert "chunks the store does not hold" in text  # BM25 still has it
    assert "record says" in text and "chunks lost" in text


def test_a_stale_chunk_and_an_index_left_behind_are_caught(comps, tmp_path) -> None:
    want = expected(comps)
    note = upload_doc("note.txt", NOTE.encode())
    stale = comps.store.get_chunks(note.doc_id)[0].model_copy(update={"id": "stale-chunk", "start": 1, "end": 5,
                                                                     "text": "medl"})
    comps.store.write_chunks([stale], [[0.1] * 64], {note.doc_id: "x"})  # moves the revision; BM25 not told
    got = check_store(tmp_path / "store", "soak", want)
    text = "\n".join(got["problems"])
    assert not got["ok"]
    assert "bm25: saved at revision" in text and "stored chunks missing" in text
    assert "chunks that its last version does not have" in text and "record says" in text


def test_a_record_left_writing_and_a_deleted_documents_record_are_caught(comps, tmp_path) -> None:
    note = upload_doc("note.txt", NOTE.encode())
    want = expected(comps)
    record = comps.store.doc_record(note.doc_id)
    assert record is not None
    left = {"state": DocState.writing, "n_chunks": len(want[note.doc_id])}
    comps.store.put_doc_record(record.model_copy(update=left))
    got = check_store(tmp_path / "store", "soak", want)
    assert any("left 'writing'" in p for p in got["problems"])
    comps.ingestor.delete_document(note.doc_id)
    comps.store.put_doc_record(DocRecord(doc_id=note.doc_id, state=DocState.complete, n_chunks=0))
    got = check_store(tmp_path / "store", "soak", {d: v for d, v in want.items() if d != note.doc_id})
    assert got["problems"] == [f"{note.doc_id}: deleted, yet its record remains"]


def test_the_last_known_version_decides_what_a_document_must_hold() -> None:
    a = DocEvent("a.txt", "a", "upload", 0, 1, True, "v1", frozenset({"a1"}))
    b = DocEvent("a.txt", "a", "upload", 2, 3, True, "v2", frozenset({"a2"}))
    gone = DocEvent("b.txt", "b", "delete", 4, 5, True)
    failed = DocEvent("c.txt", "c", "upload", 6, 7, False, "v1", frozenset({"c1"}))
    want, unknown = expected_chunks([b, a, gone, failed], {"base": frozenset({"x"})})
    assert want == {"base": frozenset({"x"}), "a": frozenset({"a2"})} and unknown == {"c"}


def _cite(doc_id: str, text: str, quote: str) -> dict:
    start = text.index(quote)
    return {"doc_id": doc_id, "start": start, "end": start + len(quote), "quote": quote}


def test_citations_must_point_at_a_version_live_during_the_request() -> None:
    v1, v2 = "Version one. The medlar ripens in November.", "Version two. The quince ripens in October."
    events = [DocEvent("n.txt", "n", "upload", 0.0, 1.0, True, v1),
              DocEvent("n.txt", "n", "upload", 5.0, 6.0, True, v2),
              DocEvent("n.txt", "n", "delete", 10.0, 11.0, True)]
    base = {"seed": "Putin landed in Tehran."}
    route = "POST /v1/answer"

    def call(start: float, end: float, *cites: dict) -> Call:
        return Call(route, start, end, 200, citations=list(cites))

    ok = [call(2, 3, _cite("n", v1, "The medlar ripens")),
          call(5.5, 7, _cite("n", v1, "The medlar ripens")),  # v1 until v2's upload ended
          call(10.5, 12, _cite("n", v2, "The quince ripens")),  # the delete was under way
          call(20, 21, _cite("seed", base["seed"], "landed in Tehran"))]
    got = check_citations(ok, events, base)
    assert got["ok"], got["problems"]
    assert got["citations"] == 4 and got["to_writers_documents"] == 3

    bad = [call(12, 13, _cite("n", v2, "The quince ripens")),  # deleted before the request began
           call(2, 3, _cite("n", v2, "The quince ripens")),  # v2 did not exist yet
           call(2, 3, {"doc_id": "n", "start": 0, "end": 5, "quote": "medlar"}),  # wrong offsets
           call(2, 3, _cite("ghost", "a ghost", "ghost")),
           call(20, 21, {"doc_id": "seed", "start": 0, "end": 3, "quote": "Tehran"})]
    got = check_citations(bad, events, base)
    assert len(got["problems"]) == 5
    assert "did not exist during the request" in got["problems"][0]
    assert "no version live during the request" in got["problems"][1]
    assert "no one uploaded" in got["problems"][3]


def test_a_failed_upload_may_have_been_stored() -> None:
    text = "Version three. Pears ripen in September."
    events = [DocEvent("n.txt", "n", "upload", 0.0, 1.0, False, text)]
    got = check_citations([Call("POST /v1/answer", 5, 6, 200, citations=[_cite("n", text, "Pears ripen")])],
                          events, {})
    assert got["ok"]


def test_streams_are_read_as_a_client_shows_them() -> None:
    answer = ('event: delta\ndata: {"text": "Sunny"}\n\nevent: replace\ndata: {"text": "No."}\n\n'
              'event: answer\ndata: {"answer": "No.", "citations": []}\n\n')
    assert _final_answer("POST /v1/answer (stream)", answer)["answer"] == "No."
    with pytest.raises(ValueError, match="differs"):
        _final_answer("POST /v1/answer (stream)", answer.replace('"No."}\n\nevent: answer', '"Nope"}\n\nevent: answer'))
    with pytest.raises(ValueError, match="without an answer"):
        _final_answer("POST /v1/answer (stream)", 'event: delta\ndata: {"text": "x"}\n\n')
    chat = ('data: {"choices": [{"delta": {"content": "Owji "}}]}\n\n'
            'data: {"choices": [{"delta": {}}], "citations": [{"doc_id": "d"}]}\n\ndata: [DONE]\n\n')
    assert _final_answer("POST /v1/chat/completions (stream)", chat)["citations"] == [{"doc_id": "d"}]
    with pytest.raises(ValueError, match="DONE"):
        _final_answer("POST /v1/chat/completions (stream)", chat.replace("data: [DONE]\n\n", ""))
    error = 'data: {"error": {"message": "down"}}\n\ndata: [DONE]\n\n'
    assert "error" in _final_answer("POST /v1/chat/completions (stream)", error)


def test_the_stand_in_llm_answers_with_the_first_passages_first_sentence() -> None:
    user = "Passages:\n[1] Putin landed in Tehran. He met Raisi.\n\n[2] Other.\n\nQuestion: Where?"
    assert FakeLLM.reply([{"role": "user", "content": user}]) == "Putin landed in Tehran [1]."
