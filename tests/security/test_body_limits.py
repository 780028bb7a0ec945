"""Issue #32, item 1: the token is checked before any body is read, and a body's size is capped: on its
Content-Length, on the bytes actually streamed (chunked, no Content-Length), and for an upload on its file count
and total bytes (sized from ingest.max_file_mb); JSON bodies get a much smaller cap."""

from __future__ import annotations

from fastapi.testclient import TestClient

from rag.web.server import create_app
from tests.security.conftest import QUESTION, TOKEN, call, json_chunks, make_comps

MB = 1024 * 1024


def test_a_body_without_the_token_is_refused_before_it_is_read(tmp_path) -> None:
    app = create_app(make_comps(tmp_path, seed=False, server={"api_token": TOKEN}), with_ui=False)
    chunks = [b"x" * MB] * 50  # 50 MB of upload, no token
    reply = call(app, "POST", "/v1/documents", {"content-type": "multipart/form-data; boundary=b"}, chunks)
    assert reply.status == 401
    assert reply.chunks_read == 0


def test_a_content_length_over_the_json_limit_is_413_naming_it_unread(tmp_path) -> None:
    app = create_app(make_comps(tmp_path, seed=False, server={"max_json_kb": 64}), with_ui=False)
    chunks = json_chunks({"question": QUESTION, "history": [{"role": "user", "content": "y" * 90_000}] * 4})
    size = sum(map(len, chunks))
    reply = call(app, "POST", "/v1/answer", {"content-type": "application/json", "content-length": str(size)},
                 chunks)
    assert reply.status == 413
    assert reply.json()["error"]["code"] == "body_too_large"
    assert "64 KiB" in reply.json()["error"]["message"]
    assert reply.chunks_read == 0


def test_a_chunked_json_body_is_cut_off_at_the_limit(tmp_path) -> None:
    app = create_app(make_comps(tmp_path, seed=False, server={"max_json_kb": 64}), with_ui=False)
    chunks = json_chunks({"question": QUESTION, "history": [{"role": "user", "content": "y" * 90_000}] * 100},
                         size=16 * 1024)  # 9 MB, no Content-Length
    reply = call(app, "POST", "/v1/answer", {"content-type": "application/json"}, chunks)
    assert reply.status == 413
    assert reply.json()["error"]["code"] == "body_too_large"
    assert reply.chunks_read <= 64 // 16 + 1  # stopped at the limit, not read to the end


def test_a_chunked_upload_over_the_request_limit_is_413(tmp_path) -> None:
    # max_file_mb 1: one request takes twice that, all files together
    app = create_app(make_comps(tmp_path, seed=False, ingest={"max_file_mb": 1.0}), with_ui=False)
    head = b'--b\r\nContent-Disposition: form-data; name="files"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\n'
    chunks = [head] + [b"words and more words\n" * 10_000] * 30  # about 6 MB, no Content-Length
    reply = call(app, "POST", "/v1/documents", {"content-type": "multipart/form-data; boundary=b"}, chunks)
    assert reply.status == 413
    assert "2 MB" in reply.json()["error"]["message"]
    assert reply.chunks_read < 30


def test_an_upload_of_more_files_than_the_setting_is_413_before_ingest(tmp_path) -> None:
    comps = make_comps(tmp_path, seed=False, server={"max_upload_files": 3})
    with TestClient(create_app(comps, with_ui=False)) as client:
        files = [("files", (f"f{i}.txt", f"Pears number {i} grow in Anzali.\n".encode(), "text/plain"))
                 for i in range(4)]
        r = client.post("/v1/documents", files=files)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "too_many_files"
    assert "3 files" in r.json()["error"]["message"]
    assert comps.store.list_documents() == []
