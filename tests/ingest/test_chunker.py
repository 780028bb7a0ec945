from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import IngestSettings
from rag.ingest.chunker import chunk_document, chunk_spans
from rag.ingest.loaders import iter_files, load_bytes, load_file
from rag.text.normalize import normalize_text
from rag.text.tokens import count_tokens
from rag.types import Document
from tests.conftest import SEED_DOC, SEEDS

SIZE, OVERLAP = IngestSettings().chunk_size, IngestSettings().chunk_overlap


def check_chunks(doc: Document, size: int = SIZE, overlap: int = OVERLAP) -> list:
    chunks = chunk_document(doc, size, overlap)
    covered = [False] * len(doc.text)
    for c in chunks:
        assert doc.text[c.start:c.end] == c.text, "offsets must be exact"
        assert c.text == c.text.strip() and c.text, "chunks are trimmed and non-empty"
        assert count_tokens(c.text) <= size
        for i in range(c.start, c.end):
            covered[i] = True
    missed = [i for i, ch in enumerate(doc.text) if not ch.isspace() and not covered[i]]
    assert not missed, f"text not covered by any chunk at offsets {missed[:5]}"
    return chunks


@pytest.mark.parametrize("path", iter_files([SEEDS]), ids=lambda p: p.name)
def test_every_seed_file_has_exact_offsets(path: Path) -> None:
    chunks = check_chunks(load_file(path))
    assert len(chunks) >= 3


def test_seed_chunks_fit_the_embedders_window() -> None:
    from transformers import AutoTokenizer

    from rag.backends.embedder import packaged_minilm_path

    tok = AutoTokenizer.from_pretrained(packaged_minilm_path())
    for c in chunk_document(load_file(SEED_DOC), SIZE, OVERLAP):
        assert len(tok(c.text)["input_ids"]) <= 256


def test_empty_and_blank_files_give_no_chunks() -> None:
    for data in (b"", b"   \n\n\t  \n"):
        doc = load_bytes(data, "empty.txt", source="empty.txt")
        assert chunk_document(doc, SIZE, OVERLAP) == []


def test_one_huge_paragraph_without_punctuation() -> None:
    words = " ".join(f"word{i} alpha beta gamma" for i in range(3000))
    chunks = check_chunks(load_bytes(words.encode(), "huge.txt", source="huge.txt"))
    assert len(chunks) > 50


def test_one_giant_token_run_without_spaces() -> None:
    blob = "x9Q" * 20000
    chunks = check_chunks(load_bytes(blob.encode(), "blob.txt", source="blob.txt"))
    assert "".join(c.text for c in chunks) == blob


def test_bytes_that_are_not_utf8_are_decoded_and_chunked() -> None:
    text = "Le café était très naïve. Über die Brücke – sagte er. " * 40
    doc = load_bytes(text.encode("cp1252"), "latin.txt", source="latin.txt")
    assert "café" in doc.text and "Brücke" in doc.text
    check_chunks(doc)


def test_non_breaking_and_odd_spaces_become_plain_spaces() -> None:
    raw = "Tehran\u00a0is the capital.\u2009It\u202fhas\u3000many people.\r\nNew line.\ufeff"
    text = normalize_text(raw)
    assert text == "Tehran is the capital. It has many people.\nNew line."
    doc = load_bytes(raw.encode(), "spaces.txt", source="spaces.txt")
    assert doc.text == text
    check_chunks(doc)


def test_nfc_normalisation() -> None:
    assert normalize_text("Cafe\u0301") == "Café"


def test_ids_are_stable_and_content_derived() -> None:
    a = chunk_document(load_file(SEED_DOC), SIZE, OVERLAP)
    b = chunk_document(load_file(SEED_DOC), SIZE, OVERLAP)
    assert [c.id for c in a] == [c.id for c in b]
    assert len({c.id for c in a}) == len(a)
    other = load_bytes(SEED_DOC.read_bytes(), "other.txt", source="other.txt")
    assert not {c.id for c in a} & {c.id for c in chunk_document(other, SIZE, OVERLAP)}


def test_overlap_shares_sentences_between_neighbours() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(200))
    spans = chunk_spans(text, 40, 12)
    assert any(spans[i][1] > spans[i + 1][0] for i in range(len(spans) - 1))
    assert all(spans[i][0] < spans[i + 1][0] for i in range(len(spans) - 1)), "always moves forward"


def test_chunks_do_not_cross_pdf_pages() -> None:
    doc = Document(doc_id="d", source="d.pdf", title="d",
                   text="Page one text. More of one.\n\nPage two text.", pages=[(1, 0, 27), (2, 29, 43)])
    chunks = chunk_document(doc, SIZE, OVERLAP)
    assert [(c.page, c.text) for c in chunks] == [(1, "Page one text. More of one."), (2, "Page two text.")]
