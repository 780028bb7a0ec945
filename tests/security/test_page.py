"""Issue #32, items 3 and 8 on the chat page: with the token set, nothing private is served before login (no
collection names, document or conversation ids in the page or Gradio's config), the choices and the documents
panel are filled as a page loads, a UI upload over the file limit is refused as it streams in, and Gradio's
copies of uploaded files do not outlive their ingest."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from rag.web.server import create_app
from rag.web.ui import build_ui, panels
from tests.security.conftest import TOKEN, login, make_comps

PRIVATE = "privatecoll"


def _loaded(demo) -> str:
    """What the page's load events put in its components, as text."""
    shown = []
    for fn in demo.fns.values():
        if any(event == "load" for _, event in fn.targets):
            for out in fn.fn(None):  # no gr.Request: the single user
                shown.append(out if isinstance(out, str) else f"{getattr(out, 'choices', '')} "
                             f"{getattr(out, 'value', '')}")
    return "\n".join(shown)


def test_the_page_serves_nothing_private_before_login(tmp_path) -> None:
    comps = make_comps(tmp_path, server={"api_token": TOKEN}, store={"persist_dir": tmp_path / "s",
                                                                      "collection": PRIVATE,
                                                                      "seeds_dir": tmp_path / "none"})
    doc_id = comps.store.list_documents()[0]["doc_id"]
    cid = comps.conversations.create(PRIVATE, "a private chat")
    with TestClient(create_app(comps)) as client:
        for path in ("/", "/config", "/gradio_api/info", "/gradio_api/config", "/info"):
            body = client.get(path).text
            for secret in (PRIVATE, doc_id, cid, "a private chat"):
                assert secret not in body, (path, secret)
        assert login(client).status_code == 200
        assert client.get("/config").status_code == 200  # logged in, the page works


def test_the_page_load_fills_the_choices_and_the_documents_panel(tmp_path) -> None:
    comps = make_comps(tmp_path, seed=False)
    demo = build_ui(comps)
    from tests.conftest import SEED_DOC

    comps.ingestor.ingest_paths([SEED_DOC])  # after the page was built: the panel must show it
    cid = comps.conversations.create("main", "made later")
    shown = _loaded(demo)
    assert "Putin Meets Khamenei" in shown  # the documents table and picker
    assert cid in shown and "main" in shown


def test_a_ui_upload_over_the_file_limit_is_refused_as_it_streams(tmp_path) -> None:
    comps = make_comps(tmp_path, seed=False, ingest={"max_file_mb": 0.01})
    with TestClient(create_app(comps)) as client:
        r = client.post("/gradio_api/upload", files=[("files", ("big.txt", b"word " * 10_000, "text/plain"))])
    assert r.status_code in (400, 413), r.text


def test_gradios_copy_of_an_upload_is_removed_after_its_ingest(tmp_path) -> None:
    comps = make_comps(tmp_path, seed=False)
    copy = tmp_path / "gradio" / "abc123" / "notes.txt"
    copy.parent.mkdir(parents=True)
    copy.write_text("Pears grow on trees in the orchard at Anzali.\n")
    refused = tmp_path / "gradio" / "def456" / "bad.exe"
    refused.parent.mkdir(parents=True)
    refused.write_bytes(b"MZ")
    assert "✅" in panels.upload_files(comps, "main", [copy])
    assert "❌" in panels.upload_files(comps, "main", [refused])
    assert not copy.exists() and not refused.exists()
    assert [d["title"] for d in comps.store.list_documents()] and Path(tmp_path / "gradio").is_dir()
