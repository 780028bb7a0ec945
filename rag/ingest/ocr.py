"""Text for PDF pages that have none (scans): each page rendered by pypdfium2, read by tesseract.

pytesseract drives the `tesseract` program (the Debian package tesseract-ocr); OCR is used only when that
program is on the PATH, so the project installs and runs without it.
"""

from __future__ import annotations

import re
import shutil

from rag.ingest.limits import Budget
from rag.ingest.loaded import LoadError
from rag.ingest.pages import render

DPI = 300  # tesseract's own advice: below ~300 dpi its accuracy drops on ordinary body text
TIMEOUT_S = 120  # per page: a pathological page is reported, not waited on for ever


def available() -> bool:
    return shutil.which("tesseract") is not None


def ocr_pdf_pages(data: bytes, numbers: list[int], name: str, lang: str = "eng", max_pixels: int = 10_000_000,
                  budget: Budget | None = None) -> dict[int, str]:
    """{page number: recognised text} for the given 1-based pages of a PDF. A page is rendered at 300 dpi, or
    less when that would pass `max_pixels` (the budget's setting when given); the budget's clock is checked
    between pages."""
    if budget is not None:
        max_pixels = budget.settings.max_page_pixels
    import pypdfium2 as pdfium
    import pytesseract

    out: dict[int, str] = {}
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise LoadError(f"{name}: cannot render the PDF for OCR ({exc})") from exc
    try:
        for n in numbers:
            if budget is not None:
                budget.check_time()
            page = pdf[n - 1]
            image = render(page, DPI / 72, max_pixels)
            page.close()
            try:
                out[n] = unwrap(pytesseract.image_to_string(image, lang=lang, timeout=TIMEOUT_S))
            except (RuntimeError, pytesseract.TesseractError) as exc:  # RuntimeError: the timeout
                raise LoadError(f"{name}: OCR of page {n} failed ({exc})") from exc
    finally:
        pdf.close()
    return out


def unwrap(text: str) -> str:
    """Tesseract breaks lines where the scan did; join them inside a paragraph so sentences stay whole
    (blank lines, tesseract's paragraph breaks, are kept); a word hyphenated at a line end is joined."""
    text = re.sub(r"(\w)-[ \t]*\n[ \t]*(?=[a-z])", r"\1", text)
    paragraphs = [" ".join(line.strip() for line in block.splitlines() if line.strip())
                  for block in text.replace("\f", "\n\n").split("\n\n")]
    return "\n\n".join(p for p in paragraphs if p)
