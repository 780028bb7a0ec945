"""Word, PowerPoint, Excel and CSV files built with the real libraries in tmp_path, loaded, chunked: the text
reads in document order, table rows carry their headers, slides and sheets are pages, offsets are exact."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from rag.index.store import ChunkStore
from rag.ingest.chunker import chunk_document
from rag.ingest.loaders import LoadError, iter_files, load_bytes, load_file
from rag.ingest.office import cell_text, render_rows
from rag.ingest.pipeline import Ingestor
from rag.types import Document
from tests.ingest.test_chunker import check_chunks


def write_docx(path: Path, filler: int = 0) -> Path:
    import docx

    d = docx.Document()
    d.add_heading("Caspian Ports", level=1)
    d.add_paragraph("The port of Anzali lies on the Caspian\u00a0Sea.\tIt is busy in summer.")
    table = d.add_table(rows=3, cols=3)
    for r, row in enumerate([["Port", "Country", "Cargo (t)"], ["Anzali", "Iran", "1200"],
                             ["Aktau", "Kazakhstan", ""]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    d.add_paragraph("After the table comes the closing paragraph.")
    for i in range(filler):
        d.add_paragraph(f"Filler paragraph {i} says the ferry to Baku left on time, with cargo number {i}.")
    d.save(path)
    return path


def write_pptx(path: Path) -> Path:
    import pptx
    from pptx.util import Inches

    deck = pptx.Presentation()
    one = deck.slides.add_slide(deck.slide_layouts[1])
    one.shapes.title.text = "Gas fields"
    one.placeholders[1].text = "North Pars is shared with Qatar.\nSouth Pars is the largest field."
    one.notes_slide.notes_text_frame.text = "Mention the Gazprom agreement."
    two = deck.slides.add_slide(deck.slide_layouts[5])
    two.shapes.title.text = "Prices"
    table = two.shapes.add_table(3, 2, Inches(1), Inches(2), Inches(4), Inches(1)).table
    for r, (a, b) in enumerate([("Fuel", "Price"), ("Gas", "3.1"), ("Oil", "80")]):
        table.cell(r, 0).text, table.cell(r, 1).text = a, b
    deck.slides.add_slide(deck.slide_layouts[6])  # a blank slide: an empty page, still numbered
    four = deck.slides.add_slide(deck.slide_layouts[6])
    box = four.shapes.add_textbox(Inches(1), Inches(1), Inches(6), Inches(2))
    box.text_frame.text = "Line one\vline two of the closing slide."
    deck.save(path)
    return path


def write_xlsx(path: Path) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    ports = book.active
    ports.title = "Ports"
    ports.append(["Port", "Opened", "Depth (m)", None])
    ports.append(["Anzali", dt.datetime(1990, 5, 1), 7.0, "deep-water berth"])
    ports.append([None, None, None, None])
    ports.append(["Aktau", None, 9.5, None])
    fields = book.create_sheet("Gas fields")
    fields.append(["Field", "Reserves (tcm)"])
    fields.append(["South Pars", 14])
    book.create_sheet("Empty")
    book.save(path)
    return path


def test_docx_paragraphs_and_tables_in_document_order(tmp_path) -> None:
    doc = load_file(write_docx(tmp_path / "ports.docx"))
    assert doc.title == "Caspian Ports"
    assert doc.pages == []
    assert doc.text == ("Caspian Ports\n\n"
                        "The port of Anzali lies on the Caspian Sea. It is busy in summer.\n\n"
                        "Port: Anzali; Country: Iran; Cargo (t): 1200\n"
                        "Port: Aktau; Country: Kazakhstan\n\n"
                        "After the table comes the closing paragraph.")
    check_chunks(doc)


def test_long_docx_chunks_have_exact_offsets(tmp_path) -> None:
    doc = load_file(write_docx(tmp_path / "long.docx", filler=120))
    chunks = check_chunks(doc)
    assert len(chunks) > 5
    assert any("Port: Aktau; Country: Kazakhstan" in c.text for c in chunks)


def test_pptx_one_page_per_slide_with_notes_and_tables(tmp_path) -> None:
    doc = load_file(write_pptx(tmp_path / "deck.pptx"))
    assert doc.title == "Gas fields"
    assert [p[0] for p in doc.pages] == [1, 2, 3, 4]
    slide = {n: doc.text[s:e] for n, s, e in doc.pages}
    assert slide[1] == ("Gas fields\n\nNorth Pars is shared with Qatar.\nSouth Pars is the largest field.\n\n"
                        "Notes: Mention the Gazprom agreement.")
    assert slide[2] == "Prices\n\nFuel: Gas; Price: 3.1\nFuel: Oil; Price: 80"
    assert slide[3] == ""
    assert slide[4] == "Line one\nline two of the closing slide."
    chunks = check_chunks(doc)
    for c in chunks:
        n, s, e = doc.pages[c.page - 1]
        assert s <= c.start <= c.end <= e, "a chunk never crosses a slide"
    assert {c.page for c in chunks} == {1, 2, 4}


def test_xlsx_one_page_per_sheet_rows_with_headers(tmp_path) -> None:
    doc = load_file(write_xlsx(tmp_path / "ports.xlsx"))
    assert doc.title == "ports"
    sheet = {n: doc.text[s:e] for n, s, e in doc.pages}
    assert sheet == {
        1: "Sheet: Ports\nPort: Anzali; Opened: 1990-05-01; Depth (m): 7; Column 4: deep-water berth\n"
           "Port: Aktau; Depth (m): 9.5",
        2: "Sheet: Gas fields\nField: South Pars; Reserves (tcm): 14",
        3: "Sheet: Empty",
    }
    chunks = check_chunks(doc)
    assert [c.page for c in chunks] == [1, 2, 3]


def test_csv_delimiter_quotes_and_encoding(tmp_path) -> None:
    rows = [["Port", "Country", "Note"]] + [
        [f"Bandar-e Anzalí {i}", "Irán", "quoted; with a\nline break"] for i in range(30)]
    buf = io.StringIO()
    csv.writer(buf, delimiter=";").writerows(rows)
    path = tmp_path / "ports.csv"
    path.write_bytes(buf.getvalue().encode("cp1252"))
    doc = load_file(path)
    assert doc.title == "ports" and doc.pages == []
    lines = doc.text.split("\n")
    assert len(lines) == 30
    assert lines[0] == "Port: Bandar-e Anzalí 0; Country: Irán; Note: quoted; with a line break"
    check_chunks(doc)


def test_csv_tab_separated_with_bom_and_a_header_only_file() -> None:
    doc = load_bytes("\ufeffcity\tpopulation\r\nTehran\t9,000,000\r\n".encode(), "c.csv", source="c.csv")
    assert doc.text == "city: Tehran; population: 9,000,000"
    assert load_bytes(b"only,a,header\n", "h.csv", source="h.csv").text == "only; a; header"


def test_render_rows_and_cells() -> None:
    assert render_rows([["", ""], ["A", "", "C"], [1.0, "x", None, "extra"], [None, None, None]]) == [
        "A: 1; Column 2: x; Column 4: extra"]
    assert render_rows([["Region", "Region", "Sales"], ["North", "North", 12]]) == [
        "Region: North; Sales: 12"], "a merged cell is said once"
    assert cell_text(" two\n lines\u00a0here ") == "two lines here"
    assert cell_text(True) == "TRUE" and cell_text(2.5) == "2.5" and cell_text(dt.time(9, 30)) == "09:30:00"


def test_damaged_office_files_are_refused_by_name(tmp_path) -> None:
    good = write_docx(tmp_path / "good.docx").read_bytes()
    for name, data in (("cut.docx", good[: len(good) // 2]), ("junk.pptx", b"PK\x03\x04junk"),
                       ("text.xlsx", b"just text, not a workbook")):
        with pytest.raises(LoadError, match=name.replace(".", r"\.")):
            load_bytes(data, name, source=name)
    with pytest.raises(LoadError, match="binary"):
        load_bytes(b"a,b\n\x00\x01\x02", "bin.csv", source="bin.csv")


def test_new_formats_are_found_in_folders_and_ingested(settings, hash_embedder, tmp_path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    write_docx(folder / "a.docx")
    write_pptx(folder / "b.pptx")
    write_xlsx(folder / "c.xlsx")
    (folder / "d.csv").write_text("name,role\nRaisi,host\nPutin,guest\n")
    assert [f.name for f in iter_files([folder])] == ["a.docx", "b.pptx", "c.xlsx", "d.csv"]
    store = ChunkStore(settings)
    report = Ingestor(settings, store, hash_embedder).ingest_paths([folder])
    assert not report.skipped and len(report.documents) == 4
    by_doc = {d.source.split("/")[-1]: store.get_chunks(d.doc_id) for d in report.documents}
    assert {c.page for c in by_doc["b.pptx"]} == {1, 2, 4}
    assert any("name: Putin; role: guest" in c.text for c in by_doc["d.csv"])
    for d in report.documents:
        source_doc = load_file(folder / Path(d.source).name)
        for c in by_doc[Path(d.source).name]:
            assert source_doc.text[c.start:c.end] == c.text


_cell = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=12)


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=st.lists(st.lists(_cell, min_size=1, max_size=4), min_size=1, max_size=12))
def test_any_csv_table_chunks_with_exact_offsets(table: list[list[str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf).writerows(table)
    try:
        doc = load_bytes(buf.getvalue().encode(), "t.csv", source="t.csv")
    except LoadError:
        return  # e.g. control characters only: refused with a reason, fine
    assert isinstance(doc, Document)
    for c in chunk_document(doc, 32, 8):
        assert doc.text[c.start:c.end] == c.text
    assert all(line.strip() == line for line in doc.text.split("\n"))


def test_the_api_accepts_the_new_formats_and_returns_warnings(tmp_path) -> None:
    from fastapi.testclient import TestClient

    from rag.components import Components
    from rag.config import Settings
    from rag.web.server import create_app
    from tests.conftest import HashEmbedder
    from tests.pdfgen import concat_pdfs, make_pdf, make_scanned_pdf

    comps = Components(Settings(_env_file=None, store={"persist_dir": tmp_path / "store", "collection": "formats"}),
                       embedder=HashEmbedder(), llm=type("NoLLM", (), {"name": "none", "loaded": True})())
    files = [("files", ("ports.docx", write_docx(tmp_path / "ports.docx").read_bytes(), "application/zip")),
             ("files", ("deck.pptx", write_pptx(tmp_path / "deck.pptx").read_bytes(), "application/zip")),
             ("files", ("ports.xlsx", write_xlsx(tmp_path / "ports.xlsx").read_bytes(), "application/zip")),
             ("files", ("ports.csv", b"port,country\nAnzali,Iran\n", "text/csv")),
             ("files", ("mixed.pdf", concat_pdfs(make_pdf(["Gazprom signed a deal in Tehran."]),
                                                 make_scanned_pdf([["The harbour of Anzali was dredged."]])),
                        "application/pdf"))]
    with TestClient(create_app(comps, with_ui=False)) as client:
        resp = client.post("/v1/documents", files=files)
        assert resp.status_code == 201, resp.text
        data = {d["source"]: d for d in resp.json()["data"]}
        assert set(data) == {f"upload:{f[1][0]}" for f in files}
        assert all(d["chunks"] >= 1 for d in data.values())
        warnings = data["upload:mixed.pdf"]["warnings"]
        assert len(warnings) == 1 and warnings[0].startswith("mixed.pdf: page 2 "), "named, OCR'd or not"
        assert data["upload:ports.docx"]["warnings"] == []
        bad = client.post("/v1/documents", files=[("files", ("cut.docx", b"PK\x03\x04cut", "application/zip"))])
        assert bad.status_code == 400 and "cut.docx: unreadable Word file" in bad.json()["error"]["message"]
        assert client.post("/v1/documents", files=[("files", ("a.odt", b"x", "text/plain"))]).status_code == 415
