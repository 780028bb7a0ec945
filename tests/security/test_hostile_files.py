"""Issue #32, item 4: Office files and PDF pages are bounded before and while they are read: a zip's inflated
size and ratio from its directory, XML elements and table cells, rows x columns whatever a sheet claims,
rendered pixels, and a time budget per file. A file over a limit is refused with 413 (or 422 for time) and a
message naming the limit's setting; a page over the pixel cap is rendered smaller."""

from __future__ import annotations

import io
import random
import string
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rag.components import Components
from rag.config import IngestSettings, Settings
from rag.ingest.limits import OverLimit, OverTime, capped_scale
from rag.ingest.loaders import load_bytes
from rag.ingest.pages import render_pdf_page
from rag.web.server import create_app
from tests.answer.test_stream_truth import OneReplyLLM
from tests.conftest import HashEmbedder
from tests.pdfgen import make_pdf

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def docx_with(body: str | bytes, chunks: int = 1) -> bytes:
    """A real docx (python-docx's template) whose document.xml body is `body`, repeated `chunks` times."""
    import docx

    base = io.BytesIO()
    docx.Document().save(base)
    src = zipfile.ZipFile(base)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != "word/document.xml":
                dst.writestr(info, src.read(info))
                continue
            xml = src.read(info).decode()
            head, tail = xml.split("<w:body>")[0] + "<w:body>", "</w:body></w:document>"
            with dst.open("word/document.xml", "w", force_zip64=True) as f:
                f.write(head.encode())
                piece = body.encode() if isinstance(body, str) else body
                for _ in range(chunks):
                    f.write(piece)
                f.write(tail.encode())
    return out.getvalue()


def paragraphs(n: int, seed: int = 1) -> str:
    rnd = random.Random(seed)
    return "".join(f"<w:p><w:r><w:t>{''.join(rnd.choices(string.ascii_letters, k=6))}</w:t></w:r></w:p>"
                   for _ in range(n))


def spanned_table(span: int) -> str:
    return (f'<w:tbl><w:tblGrid><w:gridCol w:w="100"/></w:tblGrid><w:tr><w:tc><w:tcPr><w:gridSpan w:val="{span}"/>'
            '</w:tcPr><w:p><w:r><w:t>wide</w:t></w:r></w:p></w:tc></w:tr>'
            '<w:tr><w:tc><w:p><w:r><w:t>cell</w:t></w:r></w:p></w:tc></w:tr></w:tbl><w:p/>')


def xlsx_claiming(ref: str, wide_rows: int = 0) -> bytes:
    """A one-cell workbook whose sheet claims the dimension `ref`; with `wide_rows`, that many rows also hold a
    cell in the last column (XFD), so each is 16,384 cells wide."""
    import openpyxl

    book = openpyxl.Workbook()
    book.active["A1"] = "Port"
    book.active["A2"] = "Anzali"
    raw = io.BytesIO()
    book.save(raw)
    src = zipfile.ZipFile(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                xml = data.decode()
                start = xml.index('<dimension ref="') + len('<dimension ref="')
                xml = xml[:start] + ref + xml[xml.index('"', start):]
                if wide_rows:
                    rows = "".join(f'<row r="{r}"><c r="XFD{r}" t="inlineStr"><is><t>x</t></is></c></row>'
                                   for r in range(3, 3 + wide_rows))
                    xml = xml.replace("</sheetData>", rows + "</sheetData>")
                data = xml.encode()
            dst.writestr(info, data)
    return out.getvalue()


def tall_pdf() -> bytes:
    """612 bytes or so: one page 300 x 14,400 points, which at 2,000 pixels wide is 192 million pixels."""
    return make_pdf(["A very tall page."], media_box=(300, 14400))


def _limits(**kw: object) -> IngestSettings:
    return IngestSettings(**kw)


def test_a_docx_inflating_past_the_limit_is_refused_from_its_directory() -> None:
    data = docx_with(paragraphs(2000), chunks=30)  # ~6 MB of XML inflated
    with pytest.raises(OverLimit, match=r"RAG_INGEST__MAX_INFLATED_MB"):
        load_bytes(data, "bomb.docx", source="bomb.docx", limits=_limits(max_inflated_mb=2))


def test_a_zip_bomb_is_refused_for_its_ratio() -> None:
    data = docx_with("<w:p/>" * 100_000, chunks=20)  # 12 MB of XML in a few KB
    with pytest.raises(OverLimit, match=r"times their compressed size.*RAG_INGEST__MAX_INFLATE_RATIO"):
        load_bytes(data, "ratio.docx", source="ratio.docx")


def test_a_docx_with_too_many_elements_is_refused() -> None:
    data = docx_with(paragraphs(3000))  # 12,000 elements
    with pytest.raises(OverLimit, match=r"more than 5,000 .*RAG_INGEST__MAX_ELEMENTS"):
        load_bytes(data, "many.docx", source="many.docx", limits=_limits(max_elements=5000))


def test_a_cell_spanning_many_columns_counts_each() -> None:
    data = docx_with(spanned_table(20_000))  # python-docx repeats the cell 20,000 times per row
    with pytest.raises(OverLimit, match=r"RAG_INGEST__MAX_ELEMENTS"):
        load_bytes(data, "span.docx", source="span.docx", limits=_limits(max_elements=10_000))


def test_an_xlsx_claiming_every_cell_is_read_by_what_it_holds(tmp_path) -> None:
    # openpyxl pads every row of the claimed dimension: minutes of CPU for a 1.6 KB file. Run apart, so the
    # old behaviour fails by its timeout instead of holding the suite.
    path = tmp_path / "claims.xlsx"
    path.write_bytes(xlsx_claiming("A1:XFD1048576"))
    code = ("import sys; from rag.ingest.loaders import load_bytes; "
            "d = load_bytes(open(sys.argv[1], 'rb').read(), 'claims.xlsx', source='claims.xlsx'); print(d.text)")
    t0 = time.monotonic()
    try:
        out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=30,
                             cwd=Path(__file__).resolve().parents[2])
    except subprocess.TimeoutExpired:
        pytest.fail("a 2-cell workbook claiming A1:XFD1048576 was still being read after 30 s")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Port: Anzali" in out.stdout and time.monotonic() - t0 < 30


def test_rows_times_columns_are_bounded() -> None:
    data = xlsx_claiming("A1:XFD1048576", wide_rows=5)  # 5 rows of 16,384 cells
    with pytest.raises(OverLimit, match=r"cells \(rows x columns\).*RAG_INGEST__MAX_ELEMENTS"):
        load_bytes(data, "wide.xlsx", source="wide.xlsx", limits=_limits(max_elements=50_000))


def test_a_file_over_the_time_budget_is_refused() -> None:
    rows = "\n".join(f"{i},{i * 7},name {i}" for i in range(200_000))
    with pytest.raises(OverTime, match=r"longer than the 0.01 s limit \(RAG_INGEST__MAX_SECONDS\)"):
        load_bytes(f"id,value,name\n{rows}".encode(), "slow.csv", source="slow.csv",
                   limits=_limits(max_seconds=0.01))


def test_rendered_pages_are_capped_in_pixels(tmp_path) -> None:
    path = tmp_path / "tall.pdf"
    path.write_bytes(tall_pdf())
    from PIL import Image

    image = Image.open(io.BytesIO(render_pdf_page(path, 1, 2000, max_pixels=2_000_000)))
    assert image.size[0] * image.size[1] <= 2_000_000
    assert capped_scale(612, 792, 2.0, 10**9) == 2.0  # an ordinary page is rendered as asked


def test_ocr_renders_under_the_cap(monkeypatch) -> None:
    import pytesseract

    from rag.ingest import ocr

    sizes = []
    monkeypatch.setattr(pytesseract, "image_to_string", lambda image, **_: sizes.append(image.size) or "")
    monkeypatch.setattr(ocr, "available", lambda: True)
    pdf = make_pdf([""], media_box=(300, 14400))
    ocr.ocr_pdf_pages(pdf, [1], "tall.pdf", max_pixels=1_000_000)
    assert sizes and sizes[0][0] * sizes[0][1] <= 1_000_000


@pytest.fixture
def http(tmp_path):
    comps = Components(Settings(_env_file=None, store={"persist_dir": tmp_path / "store", "collection": "main",
                                                       "seeds_dir": tmp_path / "none"},
                                ingest={"max_inflated_mb": 2, "max_page_pixels": 1_000_000}),
                       embedder=HashEmbedder(), llm=OneReplyLLM("x"))
    with TestClient(create_app(comps, with_ui=False)) as client:
        yield client


def test_the_api_answers_413_naming_the_limit(http) -> None:
    r = http.post("/v1/documents", files=[("files", ("bomb.docx", docx_with(paragraphs(2000), chunks=30)))])
    assert r.status_code == 413, r.text
    assert "RAG_INGEST__MAX_INFLATED_MB" in r.json()["error"]["message"]
    assert r.json()["error"]["code"] == "over_limit"
    assert http.get("/v1/documents").json()["data"] == []


def test_the_page_route_renders_under_the_cap(http) -> None:
    from PIL import Image

    up = http.post("/v1/documents", files=[("files", ("tall.pdf", tall_pdf()))])
    assert up.status_code == 201, up.text
    png = http.get(f"/v1/documents/{up.json()['data'][0]['id']}/pages/1.png", params={"width": 2000})
    assert png.status_code == 200
    w, h = Image.open(io.BytesIO(png.content)).size
    assert w * h <= 1_000_000
