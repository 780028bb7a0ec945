"""What a citation opens: a document's text around a span, rebuilt from its chunks, and a PDF page as an image.

The store keeps chunks, not whole documents; their exact offsets let the text be stitched back together, so a
span reads the same as in the document (characters no chunk holds, the white space between sentences, pages
and paragraphs, come back as white space of the same length, keeping every offset true).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from rag.index.store import ChunkStore
from rag.types import Chunk


class DocumentNotFound(LookupError):
    pass


def file_name(source: str) -> str:
    """The name a chat user sees: the file's name, never the server's folder path."""
    return Path(source.removeprefix("upload:")).name or source


@dataclass
class TextWindow:
    doc_id: str
    title: str
    file_name: str
    start: int  # offset of `text` in the document
    end: int
    span_start: int  # the requested span, in document offsets
    span_end: int
    page: int | None  # the span's page (PDF page, slide, sheet)
    pages: int
    text: str

    def dict(self) -> dict:
        return asdict(self)


def text_window(store: ChunkStore, doc_id: str, start: int, end: int, margin: int = 1200) -> TextWindow:
    """The document's text from `margin` characters before `start` to `margin` after `end`."""
    chunks, known_end = _window_chunks(store, doc_id, start, end, margin)
    if not chunks:
        raise DocumentNotFound(doc_id)
    lo, hi, start, end, text, page = _stitched(chunks, start, end, margin, known_end)
    first = chunks[0]
    rec = store.doc_record(doc_id)  # its page count; a store written without records counts the chunks' pages
    pages = rec.pages if rec and rec.pages is not None else max((c.page or 0) for c in store.get_chunks(doc_id))
    return TextWindow(doc_id, first.title, file_name(first.source), lo, hi, start, end, page, pages, text)


def _window_chunks(store: ChunkStore, doc_id: str, start: int, end: int, margin: int) -> tuple[list[Chunk], int]:
    """The chunks `_stitched` needs for this window, read by their offsets, and how far the document is known
    to reach (the window's end when a later chunk exists: white space at the window's edge is not its end).
    All of the document's chunks when none overlap the window (a span past the end is clamped to it)."""
    lo, hi = max(0, start - margin), max(start, end) + margin
    chunks = store.get_chunks(doc_id, lo, hi)
    if not chunks:
        return store.get_chunks(doc_id), 0
    if max(c.end for c in chunks) >= hi:  # a chunk runs past the window: no need to ask
        return chunks, hi
    return chunks, hi if store.has_chunk_from(doc_id, hi) else 0


def _stitched(chunks: list[Chunk], start: int, end: int, margin: int,
              known_end: int = 0) -> tuple[int, int, int, int, str, int | None]:
    """(lo, hi, start, end, text, page): the text of `chunks` (one document's, in order, or those overlapping
    the window) from `margin` before `start` to `margin` after `end`, both clamped to the document (which
    reaches at least `known_end`), and the page that holds `start`."""
    doc_end = max(known_end, max(c.end for c in chunks))
    start = max(0, min(start, doc_end))
    end = max(start, min(end, doc_end))
    lo, hi = max(0, start - margin), min(doc_end, end + margin)
    buf = ["\n"] * (hi - lo)  # what no chunk holds is the white space between sentences and paragraphs
    page = None
    for c in chunks:
        if c.end <= lo or c.start >= hi:
            continue
        a, b = max(c.start, lo), min(c.end, hi)
        buf[a - lo:b - lo] = c.text[a - c.start:b - c.start]
        if c.start <= start < c.end and page is None:
            page = c.page
    for i in range(1, len(buf) - 1):  # a lone gap between two sentences was a space, not a line break
        if buf[i] == "\n" and buf[i - 1] not in " \n" and buf[i + 1] not in " \n":
            buf[i] = " "
    return lo, hi, start, end, "".join(buf), page


def paragraph_around(store: ChunkStore, doc_id: str, start: int, end: int, margin: int = 1200) -> str:
    """The paragraph of the document that holds the span (between blank lines, at most `margin` characters on
    either side): what a cited passage's sentences were cut from. Empty when the document is gone, or when no
    blank line or end of the document bounds it on either side within `margin` (a PDF page's text has no blank
    lines: its "paragraph" would be any stretch of the page, and `unstated_terms` would read too much). Stitched
    as `text_window` stitches, from the chunks that overlap the window."""
    chunks, known_end = _window_chunks(store, doc_id, start, end, margin)
    if not chunks:
        return ""
    lo, hi, start, end, text, _ = _stitched(chunks, start, end, margin, known_end)
    s, e = start - lo, end - lo
    before = text.rfind("\n\n", 0, s)
    after = text.find("\n\n", e)
    cut_before, cut_after = lo > 0, hi == end + margin  # by the margin, not an end of the document
    if before < 0 and after < 0 and cut_before and cut_after:
        return ""
    return text[before + 2 if before >= 0 else 0:after if after >= 0 else len(text)]


def document_file(store: ChunkStore, doc_id: str) -> Path | None:
    """The document's file on this server: a kept upload or the path it was ingested from."""
    rec = store.doc_record(doc_id)
    for value in (rec.file, rec.path) if rec else ():
        if value and Path(value).is_file():
            return Path(value)
    return None
