"""PDF pages as images, for the page viewer and for OCR alike, never larger than `max_page_pixels`: a 612-byte
PDF whose page is 300 x 14,400 points cost 773 MB rendered 2,000 pixels wide."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from rag.ingest.limits import capped_scale


def render(page: Any, scale: float, max_pixels: int) -> Any:
    """A pypdfium2 page as a PIL image at `scale` (pixels per point), or smaller to stay under `max_pixels`."""
    width, height = page.get_size()
    return page.render(scale=capped_scale(width, height, scale, max_pixels)).to_pil()


def render_pdf_page(path: Path, page: int, width: int = 900, max_pixels: int = 10_000_000) -> bytes:
    """PNG of a 1-based PDF page, `width` pixels wide (narrower when the page would pass `max_pixels`).
    Raises IndexError for a page the PDF lacks."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        if not 1 <= page <= len(pdf):
            raise IndexError(page)
        p = pdf[page - 1]
        image = render(p, width / max(p.get_width(), 1.0), max_pixels)
        p.close()
    finally:
        pdf.close()
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
