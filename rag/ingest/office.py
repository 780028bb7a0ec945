"""Word (.docx), PowerPoint (.pptx), Excel (.xlsx) and CSV files as normalised text.

Tables become one line per row, each value preceded by its column header ("Region: North; Sales: 12"), so
a chunk cut from the middle of a table still says what each value is. Slides and sheets are "pages", with
exact (number, start, end) spans like a PDF's.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from rag.ingest.limits import Budget, check_zip
from rag.ingest.loaded import Loaded, LoadError, decode_bytes, join_pages, title_from_text
from rag.text.normalize import normalize_text

_SPACES = re.compile(r"\s+")


def cell_text(value: Any) -> str:
    """One cell on one line: normalised, inner white space (line breaks too) folded; whole floats as
    integers and midnight datetimes as dates, as a spreadsheet shows them."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, dt.datetime):
        value = value.date() if value.time() == dt.time() else value.replace(microsecond=0)
    if isinstance(value, dt.date | dt.time):
        value = value.isoformat()
    return _SPACES.sub(" ", normalize_text(str(value))).strip()


def lines(text: str) -> str:
    """A paragraph's text normalised, white space folded inside each line, empty lines dropped. python-pptx
    writes a soft line break as a vertical tab, which normalisation would delete: it becomes a line break."""
    folded = (_SPACES.sub(" ", ln).strip() for ln in normalize_text(text.replace("\v", "\n")).split("\n"))
    return "\n".join(ln for ln in folded if ln)


def render_rows(rows: Iterable[Sequence[Any]], budget: Budget | None = None) -> list[str]:
    """The first non-empty row is the header; each later row becomes 'Header: value; Header2: value2'.
    Empty cells are left out; a column without a header is named 'Column N'. Every row costs the `budget` its
    width (at least 1: a sheet may claim a million empty rows)."""
    header: list[str] | None = None
    out: list[str] = []
    for row in rows:
        if budget is not None:
            budget.tick(max(len(row), 1), "cells (rows x columns)")
        cells = [cell_text(v) for v in row]
        if not any(cells):
            continue
        if header is None:
            header = cells
            continue
        pairs: list[str] = []
        for i, value in enumerate(cells):
            if not value:
                continue
            name = header[i] if i < len(header) and header[i] else f"Column {i + 1}"
            pair = f"{name}: {value}"
            if not pairs or pairs[-1] != pair:  # a merged cell repeats itself across the columns it spans
                pairs.append(pair)
        out.append("; ".join(pairs))
    if header is not None and not out:  # a single row has no header to repeat: its values alone
        out.append("; ".join(c for c in header if c))
    return out


def _open(name: str, what: str, opener: Callable[[], Any]) -> Any:
    # These libraries raise a dozen exception types for a damaged file (zip, XML, package, key and value
    # errors); each one means "unreadable", so each becomes a LoadError with its cause.
    try:
        return opener()
    except Exception as exc:
        raise LoadError(f"{name}: unreadable {what} file ({type(exc).__name__}: {exc})") from exc


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def count_elements(data: bytes, name: str, budget: Budget, skip: tuple[str, ...] = ()) -> None:
    """Stream every XML part of an Office file (zip directory checked first) through the budget before the
    format's library builds its tree: a 205 KB docx of empty paragraphs cost that tree 400 MB. A table cell
    spanning N columns counts N (python-docx repeats it per column). Parts whose names start with `skip` are
    counted as they are read instead (Excel sheets, streamed)."""
    import zipfile

    from lxml import etree

    check_zip(data, name, budget.settings)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        parts = [i.filename for i in archive.infolist()
                 if i.filename.endswith((".xml", ".rels")) and not i.filename.startswith(skip)]
        for part in parts:
            with archive.open(part) as stream:
                for _, elem in etree.iterparse(stream, events=("end",), resolve_entities=False, no_network=True,
                                               huge_tree=False):
                    span = elem.get(f"{_W}val") if elem.tag == f"{_W}gridSpan" else None
                    budget.tick(int(span) if span and span.isdigit() else 1, "XML elements or table cells")
                    elem.clear()
                    while elem.getprevious() is not None:
                        del elem.getparent()[0]
    except (zipfile.BadZipFile, etree.XMLSyntaxError, ValueError, OSError, EOFError):
        return  # damaged: the format's own loader says so, with its own message


def _style_name(paragraph: Any, names: dict[str | None, str]) -> str:
    """The paragraph's style name, looked up once per style id: python-docx scans every style for each
    paragraph (1.4 ms each: a 150,000-paragraph file took 126 s)."""
    style_id = paragraph._p.style  # None: the default paragraph style
    if style_id not in names:
        style = paragraph.style
        names[style_id] = (style.name if style is not None else "") or ""
    return names[style_id]


def load_docx(data: bytes, name: str, budget: Budget) -> Loaded:
    """Paragraphs and tables in document order, a blank line between blocks."""
    import docx
    from docx.table import Table

    count_elements(data, name, budget)
    budget.used = 0  # the XML is within the limit; now count the blocks and cells read
    document = _open(name, "Word", lambda: docx.Document(io.BytesIO(data)))
    blocks: list[str] = []
    heading = ""
    styles: dict[str | None, str] = {}
    for item in document.iter_inner_content():
        budget.tick(1, "paragraphs, tables and cells")
        if isinstance(item, Table):
            block = "\n".join(render_rows(([cell.text for cell in row.cells] for row in item.rows), budget))
        else:
            block = lines(item.text)
            if block and not heading and _style_name(item, styles).startswith(("Title", "Heading")):
                heading = block
        if block.strip():
            blocks.append(block.strip())
    text = "\n\n".join(blocks)
    title = (document.core_properties.title or "").strip() or heading or title_from_text(text, Path(name).stem)
    return Loaded(text, title[:200])


def _shape_blocks(shapes: Iterable[Any], budget: Budget) -> list[str]:
    """Text of a slide's shapes, top to bottom then left to right (reading order), groups opened."""
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    blocks: list[str] = []
    for shape in sorted(shapes, key=lambda s: (s.top or 0, s.left or 0)):
        budget.tick(1, "shapes and cells")
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            blocks.extend(_shape_blocks(shape.shapes, budget))
        elif shape.has_text_frame:
            blocks.append(lines(shape.text_frame.text))
        elif getattr(shape, "has_table", False):
            blocks.append("\n".join(render_rows(([c.text for c in row.cells] for row in shape.table.rows), budget)))
    return [b for b in blocks if b]


def load_pptx(data: bytes, name: str, budget: Budget) -> Loaded:
    """One page per slide: its shapes' text in reading order, then its speaker notes."""
    import pptx

    count_elements(data, name, budget)
    budget.used = 0
    deck = _open(name, "PowerPoint", lambda: pptx.Presentation(io.BytesIO(data)))
    slides: list[str] = []
    first_title = ""
    for slide in deck.slides:
        blocks = _shape_blocks(slide.shapes, budget)
        title_shape = slide.shapes.title
        if not first_title and title_shape is not None and title_shape.has_text_frame:
            first_title = cell_text(title_shape.text_frame.text)
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            notes = cell_text(slide.notes_slide.notes_text_frame.text)
            if notes:
                blocks.append(f"Notes: {notes}")
        slides.append("\n\n".join(blocks))
    text, pages = join_pages(slides)
    title = (deck.core_properties.title or "").strip() or first_title or title_from_text(text, Path(name).stem)
    return Loaded(text, title[:200], pages)


def load_xlsx(data: bytes, name: str, budget: Budget) -> Loaded:
    """One page per sheet: 'Sheet: <name>', then its rows with their headers. Cached formula results are
    read, not formulas (read-only mode: a large workbook is streamed). A sheet's `<dimension>` is ignored: a
    1.6 KB file claiming A1:XFD1048576 made openpyxl pad 17 billion empty cells; rows are as wide as their
    last cell, and rows x columns are counted against the budget as they are read."""
    import openpyxl

    count_elements(data, name, budget, skip=("xl/worksheets/",))  # shared strings, styles: read whole
    budget.used = 0
    book = _open(name, "Excel", lambda: openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True))
    try:
        sheets = []
        for sheet in book.worksheets:
            if hasattr(sheet, "reset_dimensions"):  # read-only sheets (a chart sheet has no rows)
                sheet.reset_dimensions()
            rows = render_rows(sheet.iter_rows(values_only=True), budget)
            sheets.append("\n".join([f"Sheet: {cell_text(sheet.title)}", *rows]))
        title = (book.properties.title or "").strip() if book.properties else ""
    finally:
        book.close()
    text, pages = join_pages(sheets)
    return Loaded(text, title[:200] or Path(name).stem, pages)


def csv_delimiter(sample: str) -> str:
    """The delimiter among comma, semicolon, tab and bar that splits the first rows into the same number of
    columns (more than one), most often; comma when none does. Hand-written because csv.Sniffer guesses
    wrong on quoted fields that hold the delimiter or line breaks."""
    best, best_score = ",", (0, 0)
    for delimiter in ",;\t|":
        rows = list(itertools.islice(csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter), 50))
        width = len(rows[0]) if rows else 0
        if width < 2:
            continue
        score = (sum(len(r) == width for r in rows), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def load_csv(data: bytes, name: str, budget: Budget) -> Loaded:
    """Decoded like a text file (BOM, UTF-8, else the detected encoding), then read as rows."""
    warnings: list[str] = []
    raw = decode_bytes(data, name, warnings)
    try:
        rows = render_rows(csv.reader(io.StringIO(raw, newline=""), delimiter=csv_delimiter(raw[:65536])), budget)
    except csv.Error as exc:
        raise LoadError(f"{name}: unreadable CSV ({exc})") from exc
    return Loaded("\n".join(rows), Path(name).stem, warnings=warnings)


LOADERS: dict[str, Callable[[bytes, str, Budget], Loaded]] = {
    ".docx": load_docx,
    ".pptx": load_pptx,
    ".xlsx": load_xlsx,
    ".csv": load_csv,
}
