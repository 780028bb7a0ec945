"""Scanned PDFs (pages that are images, no text layer): named in a clear message without tesseract, read by
OCR with it. The scans are drawn with Pillow; the OCR tests run the real `tesseract` (Debian: tesseract-ocr,
installed by .ci/run) and are skipped only where it is absent."""

from __future__ import annotations

import shutil

import pytest

from rag.index.store import ChunkStore
from rag.ingest.loaders import LoadError, load_bytes, page_list
from rag.ingest.ocr import unwrap
from rag.ingest.pipeline import Ingestor
from tests.ingest.test_chunker import check_chunks
from tests.pdfgen import concat_pdfs, make_pdf, make_scanned_pdf

SCAN = [["The harbour of Anzali was dredged in 1998.", "Caviar exports fell by half."]]
needs_tesseract = pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract is not installed")


@pytest.fixture
def no_tesseract(monkeypatch, tmp_path) -> None:
    """A PATH without the tesseract program, as on a machine that does not have it."""
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def mixed_pdf() -> bytes:
    """Page 1 has a text layer, pages 2 and 3 are scans."""
    return concat_pdfs(make_pdf(["Gazprom signed a deal in Tehran."]),
                       make_scanned_pdf([*SCAN, ["Page three mentions the Volga delta."]]))


def test_a_scanned_pdf_without_tesseract_is_refused_naming_its_pages(no_tesseract) -> None:
    with pytest.raises(LoadError) as err:
        load_bytes(make_scanned_pdf(SCAN + SCAN), "scan.pdf", source="scan.pdf")
    assert str(err.value) == ("scan.pdf: pages 1–2 of 2 have no text layer (scanned images?); "
                              "install tesseract (Debian: tesseract-ocr) to read them by OCR")


def test_textless_pages_without_tesseract_are_named_and_the_rest_loaded(no_tesseract, settings,
                                                                        hash_embedder) -> None:
    doc = load_bytes(mixed_pdf(), "mixed.pdf", source="mixed.pdf")
    assert doc.text == "Gazprom signed a deal in Tehran.\n\n\n\n"
    assert [(n, e - s) for n, s, e in doc.pages][1:] == [(2, 0), (3, 0)]
    assert doc.warnings == ["mixed.pdf: pages 2–3 of 3 have no text layer (scanned images?): left out; "
                            "install tesseract (Debian: tesseract-ocr) to read them by OCR"]
    result = Ingestor(settings, ChunkStore(settings), hash_embedder).ingest_upload(mixed_pdf(), "mixed.pdf")
    assert result.chunks == 1 and result.warnings == doc.warnings


@needs_tesseract
def test_scanned_pages_are_read_by_ocr_with_exact_offsets() -> None:
    doc = load_bytes(mixed_pdf(), "mixed.pdf", source="mixed.pdf")
    page = {n: doc.text[s:e] for n, s, e in doc.pages}
    assert page[1] == "Gazprom signed a deal in Tehran."
    assert "harbour of Anzali was dredged in 1998" in page[2] and "Caviar exports fell by half" in page[2]
    assert "Volga delta" in page[3]
    assert doc.warnings == ["mixed.pdf: pages 2–3 had no text layer and were read by OCR (tesseract); "
                            "quotes from them may hold OCR errors"]
    chunks = check_chunks(doc)
    assert {c.page for c in chunks} == {1, 2, 3}


@needs_tesseract
def test_a_blank_scan_is_named_when_ocr_finds_nothing() -> None:
    doc = load_bytes(concat_pdfs(make_pdf(["Some text."]), make_scanned_pdf([[]])), "b.pdf", source="b.pdf")
    assert doc.text == "Some text.\n\n"
    assert doc.warnings == ["b.pdf: page 2 had no text layer and OCR found no text on it"]


def test_ocr_lines_are_joined_into_paragraphs() -> None:
    assert unwrap("The harbour was\ndredged in 1998.\n\nA new para-\ngraph.\f") == (
        "The harbour was dredged in 1998.\n\nA new paragraph.")


def test_page_lists_fold_runs() -> None:
    assert page_list([3]) == "page 3"
    assert page_list([7, 1, 2, 3, 5]) == "pages 1–3, 5, 7"
