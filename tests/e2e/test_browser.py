"""The chat page in a real browser: Debian's chromium driven by Playwright. Most tests use the real store with
a hash embedder and an extractive scripted LLM (seconds, not minutes); one asks the real default models."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest

from rag.backends.fakes import ScriptedLLM
from rag.components import Components
from rag.config import Settings
from rag.web.server import create_app
from tests.conftest import ROOT, SEEDS, HashEmbedder
from tests.e2e.browser import CHROMIUM, launch_chromium
from tests.e2e.conftest import serve
from tests.pdfgen import make_pdf

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install chromium)")

REACTOR_PAGES = ["The Zorblat reactor in Vellmar produces forty megawatts of power.",
                 "The Zorblat reactor was commissioned by engineer Ilsa Brandt in 1998.",
                 "The reactor was closed for repairs in the winter of 2004."]
BRIDGE_PAGES = ["The Quintor bridge in Ostwick spans three hundred metres.",
                "The Quintor bridge was designed by architect Tomas Gruber in 1987."]
TIMEOUT = 60_000  # ms; the first page load compiles Gradio's front end in the browser


RECORD_BOT_TEXT = """() => {
  window.ragSeen = [];
  new MutationObserver(() => {
    const last = [...document.querySelectorAll('#rag-chat .message.bot')].pop();
    if (last) window.ragSeen.push(last.innerText);
  }).observe(document.querySelector('#rag-chat'), {subtree: true, childList: true, characterData: true});
}"""


def _serve(comps: Components):
    url, server, thread = serve(create_app(comps))
    return url, server, thread


@pytest.fixture(scope="module")
def fast_comps(tmp_path_factory) -> Components:
    """The seeds in the default collection, the hash embedder and the scripted LLM (rag/backends/testing.py):
    its answers copy a passage's sentence, so they are grounded in the passages it is given."""
    store = tmp_path_factory.mktemp("browser") / "store"
    comps = Components(Settings(_env_file=None, store={"persist_dir": store, "collection": "main", "seeds_dir": SEEDS}),
                       embedder=HashEmbedder(256), llm=ScriptedLLM(p_yes=0.95))
    comps.seed_if_empty()
    return comps


@pytest.fixture(scope="module")
def fast_url(fast_comps):
    url, server, thread = _serve(fast_comps)
    yield url
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


@pytest.fixture
def page(browser, fast_url):
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT)
    pg.goto(fast_url + "/")
    pg.wait_for_selector("#rag-question textarea")
    yield pg
    context.close()


def ask(page, question: str) -> str:
    """Ask and wait for the finished answer (its details line); return the last assistant message's text."""
    done = page.locator("#rag-chat").get_by_text(re.compile(r"total \d+ ms")).count()
    page.fill("#rag-question textarea", question)
    page.click("#rag-ask")
    page.locator("#rag-chat").get_by_text(re.compile(r"total \d+ ms")).nth(done).wait_for()
    return page.locator("#rag-chat .message.bot").last.inner_text()


def choose(page, elem_id: str, label: str) -> None:
    """Pick an option of a Gradio dropdown by (part of) its label."""
    page.click(f"#{elem_id} input")
    page.get_by_role("option", name=re.compile(re.escape(label))).first.click()


def upload(page, path: Path) -> str:
    page.set_input_files("#rag-upload input[type=file]", str(path))
    status = page.locator("#rag-doc-status")
    status.get_by_text(re.compile(f"[✅❌] {re.escape(path.name)}")).first.wait_for()  # after the progress bar
    return status.inner_text()


def open_first_source(page):
    """Click the last answer's first marker; wait until the viewer shows that citation's span."""
    link = page.locator("#rag-chat .message.bot").last.locator("a.rag-open").first
    req = json.loads(unquote(link.get_attribute("href").split("#rag-open=")[1]))
    link.click()
    page.locator("#rag-viewer").get_by_text(f"characters {req['start']}–{req['end']}").wait_for()
    return page.locator("#rag-viewer mark#rag-quote")


def in_view(page, selector: str, box: str) -> bool:
    """The element lies inside the scrolled box's visible area."""
    return page.evaluate("""([sel, box]) => {
        const a = document.querySelector(sel).getBoundingClientRect();
        const b = document.querySelector(box).getBoundingClientRect();
        return a.top >= b.top - 1 && a.bottom <= b.bottom + 1; }""", [selector, box])


def test_a_citation_opens_the_document_with_the_quote_highlighted(page, tmp_path) -> None:
    text = ask(page, "Who welcomed Putin at the airport?")
    assert "Owji" in text
    mark = open_first_source(page)
    assert "Javad Owji" in mark.inner_text()
    viewer = page.locator("#rag-viewer").inner_text()
    assert "putin-tehran-visit-iran-russia-nato-july-2022.txt" in viewer and str(SEEDS) not in viewer
    assert in_view(page, "#rag-quote", ".rag-viewer-text")
    # a PDF source shows its page number and the rendered page
    pdf = tmp_path / "reactor.pdf"
    pdf.write_bytes(make_pdf(REACTOR_PAGES, title="Reactor notes"))
    assert "✅ reactor.pdf" in upload(page, pdf)
    assert "Ilsa Brandt" in ask(page, "Which engineer commissioned the Zorblat reactor?")
    mark = open_first_source(page)
    assert "Ilsa Brandt" in mark.inner_text()
    assert "page 2 of 3" in page.locator("#rag-viewer").inner_text()
    page.locator("#rag-page img").wait_for()


def test_a_thumbs_down_with_a_correction_is_stored_with_its_answer(page, fast_comps) -> None:
    text = ask(page, "Who welcomed Putin at the airport?")
    answer_id = re.search(r"answer id ([0-9a-f]{16})", text).group(1)
    page.locator("#rag-chat .message.bot").last.hover()
    page.locator("#rag-chat").get_by_role("button", name="Dislike").last.click()
    page.locator("#rag-feedback-status").get_by_text("👎 saved").wait_for()
    assert [f["rating"] for f in fast_comps.answers.feedback(answer_id)] == [-1]
    page.fill("#rag-feedback-comment textarea", "wrong person")
    page.fill("#rag-feedback-correction textarea", "Ebrahim Raisi")
    page.click("#rag-feedback-send")
    page.locator("#rag-feedback-status").get_by_text("with your correction").wait_for()
    [stored] = fast_comps.answers.feedback(answer_id)
    assert (stored["rating"], stored["comment"], stored["correction"]) == (-1, "wrong person", "Ebrahim Raisi")
    assert stored["question"] == "Who welcomed Putin at the airport?" and stored["citations"]


def test_upload_a_docx_ask_and_delete_it(page, fast_url, tmp_path) -> None:
    import docx

    path = tmp_path / "ferry-notes.docx"
    d = docx.Document()
    d.add_paragraph("The ferry Neptune Star carries 340 passengers between Baku and Aktau.")
    d.add_paragraph("It was built in 2011 in Croatia.")
    d.save(path)
    assert "✅ ferry-notes.docx" in upload(page, path)
    table = page.locator("#rag-documents")
    table.get_by_text("ferry-notes.docx").wait_for()
    assert "340" in ask(page, "How many passengers does the Neptune Star carry?")
    choose(page, "rag-doc-pick", "ferry-notes.docx")
    page.click("#rag-reingest")
    page.locator("#rag-doc-status").get_by_text("Re-ingested ferry-notes.docx").wait_for()
    choose(page, "rag-doc-pick", "ferry-notes.docx")
    page.click("#rag-doc-delete")
    page.get_by_text("from the collection?").wait_for()  # asks first
    page.click("#rag-doc-delete-yes")
    page.locator("#rag-doc-status").get_by_text("Deleted ferry-notes.docx").wait_for()
    assert "ferry-notes.docx" not in table.inner_text()
    listed = httpx.get(fast_url + "/v1/documents", timeout=30).json()["data"]
    assert all(d["file_name"] != "ferry-notes.docx" for d in listed)


def test_a_second_collection_keeps_its_questions_apart(page, fast_url, tmp_path) -> None:
    page.fill("#rag-new-collection textarea", "bridges")
    page.click("#rag-create-collection")
    page.locator("#rag-collection-status").get_by_text("Created collection bridges").wait_for()
    page.locator("#rag-documents").get_by_text("No documents").wait_for()  # the new collection is selected
    pdf = tmp_path / "quintor.pdf"
    pdf.write_bytes(make_pdf(BRIDGE_PAGES))
    upload(page, pdf)
    question = "Which architect designed the Quintor bridge?"
    assert "Tomas Gruber" in ask(page, question)
    # the seed article is not in this collection
    assert "Owji" not in ask(page, "Who welcomed Putin at the airport?")
    choose(page, "rag-collection", "main")
    page.locator("#rag-documents").get_by_text("putin-tehran").wait_for()
    answer = ask(page, question)
    assert "Tomas Gruber" not in answer and "quintor.pdf" not in answer
    docs = httpx.get(fast_url + "/v1/documents", params={"collection": "bridges"}, timeout=30).json()["data"]
    assert [d["file_name"] for d in docs] == ["quintor.pdf"]
    # delete the collection, behind a confirmation
    choose(page, "rag-collection", "bridges")
    page.locator("#rag-documents").get_by_text("quintor.pdf").wait_for()
    page.click("#rag-drop-collection")
    page.click("#rag-drop-yes")
    page.locator("#rag-collection-status").get_by_text("Deleted collection bridges").wait_for()
    names = [c["name"] for c in httpx.get(fast_url + "/v1/collections", timeout=30).json()["data"]]
    assert names == ["main"]


def test_reload_and_reopen_a_conversation(page) -> None:
    assert "Mehrabad" in ask(page, "At which airport did Putin's plane land?")
    page.reload()
    page.wait_for_selector("#rag-question textarea")
    assert page.locator("#rag-chat .message.bot").count() == 0
    choose(page, "rag-conversations", "At which airport did Putin")
    page.locator("#rag-chat").get_by_text("Mehrabad").first.wait_for()
    follow_up = ask(page, "When did it land there?")
    # the follow-up was rewritten with the reopened conversation's question
    assert "searched for" in follow_up and "airport did Putin" in follow_up.split("searched for")[1]
    page.fill("#rag-conv-title textarea", "Airport")
    page.click("#rag-rename")
    page.click("#rag-conversations input")
    page.get_by_role("option", name=re.compile("^Airport")).first.wait_for()
    page.keyboard.press("Escape")
    page.click("#rag-conv-export")
    with page.expect_download() as download:
        page.locator("#rag-export-file a").first.click()
    md = Path(download.value.path()).read_text(encoding="utf-8")
    assert md.startswith("# Airport") and "[^1-1]: *Putin Meets Khamenei" in md


def screenshot_path(tmp_path: Path) -> Path:
    """Where the page's screenshot goes: a temporary file, so a test run leaves the repository as it was;
    RAG_SCREENSHOT_OUT=docs/screenshot.png (or `make screenshot`) refreshes the README's (a relative path is
    taken from the repository root)."""
    out = os.environ.get("RAG_SCREENSHOT_OUT")
    return ROOT / out if out else tmp_path / "screenshot.png"


def test_real_models_answer_in_the_browser(browser, comps, tmp_path) -> None:
    """The real MiniLM and Qwen2.5-Coder answer a seed question; the page is saved as a screenshot (the README's
    docs/screenshot.png only when RAG_SCREENSHOT_OUT asks for it)."""
    url, server, thread = _serve(comps)
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(300_000)  # the first question loads the model
        page.goto(url + "/")
        page.wait_for_selector("#rag-question textarea")
        page.wait_for_selector("#rag-chat", state="attached")  # the observer needs the chat's node in the page
        page.evaluate(RECORD_BOT_TEXT)
        text = ask(page, "Who welcomed Putin at the airport?")
        assert "Owji" in text
        seen = page.evaluate("window.ragSeen")
        # streamed: the answer's words were on the page before it was finished (no sources, no timings yet)
        assert any("Owji" in t and "Sources" not in t and "total" not in t for t in seen), seen[-3:]
        mark = open_first_source(page)
        assert mark.inner_text().strip()
        shot = screenshot_path(tmp_path)
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        context.close()
        server.should_exit = True
        thread.join(timeout=10)
