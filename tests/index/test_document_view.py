"""What a citation opens: the text around a span (offsets exact, stitched from overlapping chunks), a PDF page
rendered to PNG, re-ingest, the documents list's file names and pages; and the viewer's HTML."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient

from rag.components import Components
from rag.config import Settings
from rag.index.documents import file_name, paragraph_around, text_window
from rag.ingest.loaders import load_file
from rag.types import DocRecord, DocState
from rag.web.server import create_app
from rag.web.ui.render import documents_table, viewer
from tests.answer.test_stream_truth import OneReplyLLM
from tests.conftest import SEED_DOC, HashEmbedder
from tests.pdfgen import make_pdf

PDF_PAGES = ["The Zorblat reactor produces forty megawatts of power.",
             "Engineer Ilsa Brandt commissioned the reactor in Vellmar.",
             "The reactor was closed for repairs in the winter."]


@pytest.fixture
def comps(tmp_path) -> Components:
    c = Components(
        Settings(
            _env_file=None,
            retrieval={"min_coverage": 0.0},
            store={"persist_dir": tmp_path / "store", "collection": "view", "seeds_dir": tmp_path / "none"},
            ingest={"chunk_size": 64, "chunk_overlap": 16},
        ),
        embedder=HashEmbedder(),
        llm=OneReplyLLM("x"),
    )
    return c


def test_text_window_matches_the_document_exactly(comps) -> None:
    comps.ingestor.ingest_paths([SEED_DOC])
    doc = load_file(SEED_DOC)
    doc_id = comps.store.list_documents()[0]["doc_id"]
    for start, end in [(0, 40), (1500, 1620), (len(doc.text.rstrip()) - 30, len(doc.text.rstrip()))]:
        w = text_window(comps.store, doc_id, start, end, margin=500)
        # stitched from overlapping chunks: offsets true, only the white space between chunks may differ
        assert len(w.text) == w.end - w.start and w.text.split() == doc.text[w.start:w.end].split()
        assert w.text[w.span_start - w.start:w.span_end - w.start] == doc.text[start:end]
        assert w.file_name == SEED_DOC.name and "/" not in w.file_name
    # the window reads only the chunks that overlap it, by their offsets
    every = comps.store.get_chunks(doc_id)
    some = comps.store.get_chunks(doc_id, 1500, 1620)
    assert 0 < len(some) < len(every)
    assert [c.id for c in some] == [c.id for c in every if c.end > 1500 and c.start < 1620]
    end = len(doc.text.rstrip())  # a span past the document's end is clamped to it
    assert text_window(comps.store, doc_id, end + 500, end + 600, margin=40).text.split() == doc.text[
        end - 40:end].split()


def test_the_paragraph_around_a_span_is_the_one_between_blank_lines(comps, tmp_path) -> None:
    """What `unstated_terms` reads besides a cited passage: its paragraph, stitched from several chunks."""
    paras = [" ".join(f"Paragraph {p} sentence {i} tells of the harbour of Vellmar." for i in range(12))
             for p in ("one", "two", "three")]
    path = tmp_path / "harbour.txt"
    path.write_text("\n\n".join(paras) + "\n", encoding="utf-8")
    comps.ingestor.ingest_paths([path])
    doc = load_file(path)
    doc_id = comps.store.list_documents()[0]["doc_id"]
    assert len([c for c in comps.store.get_chunks(doc_id) if "two" in c.text]) > 1  # the paragraph spans chunks
    s = doc.text.index("Paragraph two sentence 5")
    got = paragraph_around(comps.store, doc_id, s, s + 30)
    assert got.split() == paras[1].split()
    # bounded by a blank line on one side, by the margin on the other
    first = doc.text.index("Paragraph two sentence 0")
    assert paragraph_around(comps.store, doc_id, first, first + 30, margin=100).split() == doc.text[
        first:first + 130].split()
    # no blank line within the margin on either side (as in a PDF page's text): no paragraph to read
    assert paragraph_around(comps.store, doc_id, s, s + 30, margin=100) == ""
    assert paragraph_around(comps.store, "no-such-doc", 0, 10) == ""


class _WholeReads:
    """The store as the window read it before: every chunk of the document, nothing known past them."""

    def __init__(self, store) -> None:
        self.store = store

    def get_chunks(self, doc_id: str, lo: int | None = None, hi: int | None = None) -> list:
        return self.store.get_chunks(doc_id)

    def has_chunk_from(self, doc_id: str, offset: int) -> bool:
        return False

    def doc_record(self, doc_id: str) -> DocRecord | None:
        return self.store.doc_record(doc_id)


def test_a_window_read_by_offsets_is_the_window_of_the_whole_document(comps) -> None:
    """The window reads only the chunks that overlap it; white space no chunk holds at its edge (here 50
    characters between two chunks, as between a PDF's pages) is not mistaken for the document's end."""
    from rag.types import Chunk

    words = "the harbour of Vellmar was built in stone. "
    spans = [(0, 100), (60, 160), (210, 300), (300, 400)]  # overlapping, then a gap of 50, then touching
    chunks = [Chunk(id=f"c{i}", doc_id="d", source="d.txt", title="d", start=a, end=b,
                    text=(words * 10)[:b - a].replace(" ", "x", 1)) for i, (a, b) in enumerate(spans)]
    comps.store.replace_document(chunks, [[1.0] + [0.0] * 7] * len(chunks), "d", "h", keep={c.id for c in chunks})
    comps.store.put_doc_record(DocRecord(doc_id="d", source="d.txt", pages=0, state=DocState.complete))
    whole = _WholeReads(comps.store)
    for start in range(0, 400, 7):
        for margin in (30, 60):
            assert text_window(comps.store, "d", start, start + 5, margin) == text_window(
                whole, "d", start, start + 5, margin), (start, margin)
            assert paragraph_around(comps.store, "d", start, start + 5, margin) == paragraph_around(
                whole, "d", start, start + 5, margin), (start, margin)
    assert [c.id for c in comps.store.get_chunks("d", 150, 190)] == ["c1"]  # only the chunk before the gap


def test_an_unreadable_store_gives_the_chain_no_paragraph(comps, monkeypatch) -> None:
    """The paragraph is read after the reply streamed: a store error there refuses (no paragraph, the term stays
    unstated) instead of ending the stream without a final answer."""
    comps.ingestor.ingest_paths([SEED_DOC])
    chunk = comps.store.get_chunks(comps.store.list_documents()[0]["doc_id"])[0]
    assert comps.chain.paragraph is not None and comps.chain.paragraph(chunk)

    def broken(doc_id: str) -> list:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(comps.store, "get_chunks", broken)
    assert comps.chain.paragraph(chunk) == ""


def test_text_and_page_routes(comps) -> None:
    with TestClient(create_app(comps, with_ui=False)) as client:
        up = client.post("/v1/documents", files=[("files", ("reactor.pdf", make_pdf(PDF_PAGES), "application/pdf"))])
        assert up.status_code == 201, up.text
        doc_id = up.json()["data"][0]["id"]
        listed = client.get("/v1/documents").json()["data"][0]
        assert listed["file_name"] == "reactor.pdf" and listed["pages"] == 3
        chunk = next(c for c in comps.store.get_chunks(doc_id) if "Brandt" in c.text)
        s = chunk.start + chunk.text.index("Ilsa Brandt")
        r = client.get(f"/v1/documents/{doc_id}/text", params={"start": s, "end": s + 11})
        body = r.json()
        assert r.status_code == 200 and body["page"] == 2 and body["pages"] == 3
        assert body["text"][body["span_start"] - body["start"]:body["span_end"] - body["start"]] == "Ilsa Brandt"
        png = client.get(f"/v1/documents/{doc_id}/pages/2.png", params={"width": 300})
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        from PIL import Image

        assert Image.open(io.BytesIO(png.content)).size[0] == 300
        assert client.get(f"/v1/documents/{doc_id}/pages/9.png").status_code == 404
        assert client.get("/v1/documents/nope/text").status_code == 404
        assert client.get("/v1/documents/nope/pages/1.png").status_code == 404
        # re-ingest reads the kept upload again; delete removes it with the chunks
        again = client.post(f"/v1/documents/{doc_id}/reingest")
        assert again.status_code == 200 and again.json()["chunks"] == listed["chunks"]
        kept = comps.ingestor.uploads_dir() / f"{doc_id}.pdf"
        assert kept.is_file()
        assert client.delete(f"/v1/documents/{doc_id}").status_code == 200
        assert not kept.exists() and comps.store.doc_records() == {}
        assert comps.keyword_index.search("Brandt reactor", 3) == []
        assert client.post(f"/v1/documents/{doc_id}/reingest").status_code == 404


def test_a_text_file_has_no_page_image(comps) -> None:
    comps.ingestor.ingest_paths([SEED_DOC])
    doc_id = comps.store.list_documents()[0]["doc_id"]
    with TestClient(create_app(comps, with_ui=False)) as client:
        assert client.get(f"/v1/documents/{doc_id}/pages/1.png").status_code == 404


def test_file_names_never_show_server_paths() -> None:
    assert file_name("/srv/private/docs/report.pdf") == "report.pdf"
    assert file_name("upload:notes.md") == "notes.md"
    table = documents_table([{"doc_id": "d", "source": "/srv/private/a.txt", "title": "A", "pages": 0,
                              "chunks": 2, "ingested_at": 0.0}])
    assert "a.txt" in table and "/srv" not in table


def test_viewer_marks_the_quote(comps) -> None:
    comps.ingestor.ingest_paths([SEED_DOC])
    doc_id = comps.store.list_documents()[0]["doc_id"]
    w = text_window(comps.store, doc_id, 616, 700)
    html = viewer(w)
    assert '<mark id="rag-quote">' in html and SEED_DOC.name in html
