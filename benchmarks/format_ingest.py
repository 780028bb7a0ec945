"""Time to ingest one file of each new format: Word, PowerPoint, Excel, CSV, and a scanned PDF (OCR).

    python -m benchmarks.format_ingest [--repeat 3]

Each file is built here from the seed article (the same sentences, laid out the way the format holds them),
then timed twice: `load` (bytes → normalised Document, the format's own cost; median of --repeat runs) and
`ingest` (load, chunk, embed with the real MiniLM, store in a fresh embedded Chroma store, BM25 update).
The scanned PDF is two Letter pages drawn as images (150 dpi) and needs `tesseract` on the PATH.
"""

from __future__ import annotations

import argparse
import csv
import io
import shutil
import statistics
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import table, write
from rag.components import Components
from rag.config import Settings
from rag.ingest.loaders import load_bytes
from tests.conftest import SEED_DOC
from tests.pdfgen import make_scanned_pdf


def paragraphs() -> list[str]:
    return [p.strip() for p in SEED_DOC.read_text(encoding="utf-8").split("\n\n") if p.strip()]


def rows(n: int = 500) -> list[list[object]]:
    """A ledger-like table: numbers, dates and short text, as spreadsheets hold them."""
    cities = ["Tehran", "Moscow", "Ankara", "Baku", "Anzali", "Astrakhan", "Istanbul", "Tabriz"]
    goods = ["wheat", "gas", "steel", "turbines", "fertiliser", "timber"]
    return [["Shipment", "Date", "From", "To", "Goods", "Tonnes"]] + [
        [f"S-{i:05d}", f"2022-{1 + i % 12:02d}-{1 + i % 28:02d}", cities[i % 8], cities[(i * 3 + 1) % 8],
         goods[i % 6], round(10 + (i * 37) % 900 + 0.5 * (i % 2), 1)] for i in range(n)]


def make_docx() -> bytes:
    import docx

    d = docx.Document()
    paras = paragraphs()
    d.add_heading(paras[0], level=1)
    for p in paras[1:]:
        d.add_paragraph(p)
    table_rows = rows(40)
    t = d.add_table(rows=len(table_rows), cols=len(table_rows[0]))
    for r, row in enumerate(table_rows):
        for c, value in enumerate(row):
            t.cell(r, c).text = str(value)
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def make_pptx() -> bytes:
    import pptx

    deck = pptx.Presentation()
    for i, p in enumerate(paragraphs()[1:], start=1):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = f"Part {i}"
        slide.placeholders[1].text = p
        slide.notes_slide.notes_text_frame.text = f"Speaker notes for part {i}."
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def make_xlsx() -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Shipments"
    for row in rows():
        sheet.append(row)
    summary = book.create_sheet("Summary")
    summary.append(["Goods", "Shipments"])
    for g in ["wheat", "gas", "steel", "turbines", "fertiliser", "timber"]:
        summary.append([g, sum(1 for r in rows()[1:] if r[4] == g)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def make_csv() -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows())
    return out.getvalue().encode()


def make_scan() -> bytes:
    lines = [ln for p in paragraphs()[1:4] for ln in [*textwrap.wrap(p, 52), ""]]
    return make_scanned_pdf([lines[:22], lines[22:44]])


FORMATS: list[tuple[str, str, Callable[[], bytes]]] = [
    ("Word", "report.docx", make_docx),
    ("PowerPoint", "deck.pptx", make_pptx),
    ("Excel", "ledger.xlsx", make_xlsx),
    ("CSV", "ledger.csv", make_csv),
    ("scanned PDF (OCR)", "scan.pdf", make_scan),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        comps = Components(
            Settings(_env_file=None, store={"persist_dir": Path(tmp) / "store", "collection": "formats"})
        )
        comps.embedder.embed_documents(["warm up the model"])  # loading the model is not ingestion
        for label, name, make in FORMATS:
            if name.endswith(".pdf") and shutil.which("tesseract") is None:
                print(f"{label}: skipped, tesseract is not installed")
                continue
            data = make()
            loads = []
            for _ in range(max(1, args.repeat)):
                t0 = time.perf_counter()
                doc = load_bytes(data, name, source=name)
                loads.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            res = comps.ingestor.ingest_upload(data, name)
            ingest_s = time.perf_counter() - t0
            results.append({"format": label, "file": name, "bytes": len(data), "chars": len(doc.text),
                            "pages": len(doc.pages), "chunks": res.chunks,
                            "load_ms": round(statistics.median(loads) * 1000, 1), "ingest_s": round(ingest_s, 2)})
    headers = ["format", "file", "size", "text chars", "pages", "chunks", "load (median)", "ingest (all steps)"]
    md = table(headers,
               [[r["format"], r["file"], f"{r['bytes'] / 1024:.0f} KiB", r["chars"], r["pages"] or "—", r["chunks"],
                 f"{r['load_ms']:.0f} ms", f"{r['ingest_s']:.2f} s"] for r in results])
    write("format_ingest", {"repeat": args.repeat, "results": results},
          "# Time to ingest one file of each format\n\n" + md)


if __name__ == "__main__":
    main()
