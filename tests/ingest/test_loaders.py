from __future__ import annotations

import pytest

from rag.ingest.chunker import chunk_document
from rag.ingest.loaders import LoadError, iter_files, load_bytes, load_file, make_doc_id
from tests.conftest import SEED_DOC, SEEDS
from tests.pdfgen import make_pdf


def test_seed_document_title_and_id() -> None:
    doc = load_file(SEED_DOC)
    assert doc.title.startswith("Putin Meets Khamenei in Tehran")
    assert doc.doc_id == load_file(SEED_DOC).doc_id
    assert doc.doc_id.startswith("putin-tehran-visit")


def test_iter_files_finds_supported_files_only() -> None:
    files = iter_files([SEEDS])
    assert SEED_DOC in files
    assert all(f.suffix != ".jsonl" for f in files)


def test_html_text_is_extracted_without_tags_or_scripts() -> None:
    page = (b"<html><head><title>Caspian Notes</title><style>p{color:red}</style></head><body>"
            b"<h1>Ports</h1><p>The port of <b>Anzali</b> lies on the Caspian&nbsp;Sea.</p>"
            b"<script>var x = '<p>hidden</p>';</script><ul><li>One</li><li>Two</li></ul></body></html>")
    doc = load_bytes(page, "notes.html", source="notes.html")
    assert doc.title == "Caspian Notes"
    assert "The port of" in doc.text and "Anzali" in doc.text and "Caspian Sea." in doc.text
    assert "<" not in doc.text and "color" not in doc.text and "hidden" not in doc.text
    assert "\u00a0" not in doc.text


def test_pdf_text_per_page_keeps_page_numbers() -> None:
    data = make_pdf(["Gazprom signed a deal in Tehran.", "The grain deal was signed in Istanbul."],
                    title="Two pages")
    doc = load_bytes(data, "two.pdf", source="two.pdf")
    assert doc.title == "Two pages"
    assert [p[0] for p in doc.pages] == [1, 2]
    chunks = chunk_document(doc, 160, 32)
    by_page = {c.page: c.text for c in chunks}
    assert "Tehran" in by_page[1] and "Istanbul" in by_page[2]
    for c in chunks:
        assert doc.text[c.start:c.end] == c.text


def test_truncated_pdf_is_a_clear_error() -> None:
    data = make_pdf(["Some text on a page."])
    with pytest.raises(LoadError, match="broken.pdf"):
        load_bytes(data[: len(data) // 3], "broken.pdf", source="broken.pdf")


def test_binary_and_unsupported_files_are_refused_by_name() -> None:
    with pytest.raises(LoadError, match="binary"):
        load_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image.txt", source="image.txt")
    with pytest.raises(LoadError, match="unsupported file type .odt"):
        load_bytes(b"PK\x03\x04", "report.odt", source="report.odt")


def test_missing_and_oversized_files(tmp_path) -> None:
    with pytest.raises(LoadError, match="cannot read"):
        load_file(tmp_path / "nope.txt")
    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * 2000)
    with pytest.raises(LoadError, match="larger than the 0.001 MB limit"):
        load_file(big, max_bytes=1000)


def test_doc_ids_are_readable_slugs() -> None:
    assert make_doc_id("My Report (final).PDF", "/x/y").startswith("my-report-final-")
    assert make_doc_id("a.txt", "/1") != make_doc_id("a.txt", "/2")
