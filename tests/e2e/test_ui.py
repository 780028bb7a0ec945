"""The real chat page served by uvicorn on loopback, driven through Gradio's own client."""

from __future__ import annotations

import time

import pytest

from rag.web.server import create_app
from rag.web.ui import _text
from tests.e2e.conftest import serve

COLLECTION = "e2e"  # the e2e_settings collection


@pytest.fixture(scope="module")
def ui_url(comps):
    url, server, thread = serve(create_app(comps))
    yield url + "/"
    server.should_exit = True
    thread.join(timeout=10)


def _last_text(chat) -> str:
    return _text(chat[-1]["content"])


def test_page_and_health(ui_url) -> None:
    import httpx

    page = httpx.get(ui_url, timeout=30)
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert "fonts.googleapis" not in page.text
    health = httpx.get(ui_url + "health", timeout=30).json()
    deadline = time.monotonic() + 300
    while health["status"] == "warming" and time.monotonic() < deadline:  # the models load in the background
        time.sleep(0.5)
        health = httpx.get(ui_url + "health", timeout=30).json()
    assert health["status"] == "ok" and health["chunks"] > 0


def test_chat_answer_shows_sources_with_highlighted_quote(ui_url) -> None:
    from gradio_client import Client

    client = Client(ui_url, verbose=False)
    chat, box, _ = client.predict("Which gas fields does the Gazprom agreement cover?", [], COLLECTION,
                                  api_name="/respond")
    html = _last_text(chat)
    assert "North Pars" in html and "[1]" in html
    assert '<details class="rag-source">' in html and "<mark>" in html
    assert box == ""


def test_uploaded_file_is_ingested_and_answerable(ui_url, tmp_path) -> None:
    from gradio_client import Client, handle_file

    doc = tmp_path / "ferry-notes.txt"
    doc.write_text("Caspian ferry notes\n\nThe ferry Neptune Star carries 340 passengers between Baku and "
                   "Aktau. It was built in 2011 in Croatia.\n")
    client = Client(ui_url, verbose=False)
    status, _, table, _, header = client.predict([handle_file(str(doc))], COLLECTION, api_name="/upload")
    assert "ferry-notes.txt" in status and "chunks" in status and "ferry-notes.txt" in table
    chat, _, _ = client.predict("How many passengers does the Neptune Star carry?", [], COLLECTION,
                                api_name="/respond")
    html = _last_text(chat)
    assert "340" in html and "ferry-notes.txt" in html


def test_follow_up_shows_the_rewritten_query_and_grounding(ui_url) -> None:
    from gradio_client import Client

    client = Client(ui_url, verbose=False)
    chat, _, _ = client.predict("Who visited Iran?", [], COLLECTION, api_name="/respond")
    first = _last_text(chat)
    assert "Putin" in first and "grounded 100%" in first
    # the history is the page's session state, kept by the client between calls
    chat, _, _ = client.predict("How many times had he been there?", chat, COLLECTION, api_name="/respond")
    html = _last_text(chat)
    assert "searched for:" in html and "Putin" in html.split("searched for:")[1], html
    assert any(w in html.lower() for w in ("fifth", "five", "5 [")), html
