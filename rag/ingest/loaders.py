"""One loader per file format. Each returns a normalised `Document` or raises `LoadError` with a reason."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from rag.config import IngestSettings
from rag.ingest.limits import Budget, check_file_size
from rag.ingest.loaded import Loaded, LoadError, decode_bytes, join_pages, title_from_text
from rag.text.normalize import normalize_text
from rag.types import Document

SUPPORTED_SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".pptx", ".xlsx", ".csv"}


def page_list(numbers: list[int]) -> str:
    """'page 3' or 'pages 1, 4–6': runs of consecutive pages folded, for messages."""
    runs: list[list[int]] = []
    for n in sorted(numbers):
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    text = ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}–{r[-1]}" for r in runs)
    return f"page {text}" if len(numbers) == 1 else f"pages {text}"


def make_doc_id(name: str, source_key: str) -> str:
    """Readable and stable: a slug of the file name plus a hash of where it came from."""
    stem = Path(name).stem.lower()
    slug = re.sub(r"[^a-z0-9]+", "-", stem).strip("-")[:48] or "doc"
    return f"{slug}-{hashlib.sha1(source_key.encode()).hexdigest()[:8]}"


def _load_text(data: bytes, name: str, budget: Budget) -> Loaded:
    warnings: list[str] = []
    text = normalize_text(decode_bytes(data, name, warnings))
    return Loaded(text, title_from_text(text, Path(name).stem), warnings=warnings)


def _load_html(data: bytes, name: str, budget: Budget) -> Loaded:
    from bs4 import BeautifulSoup

    warnings: list[str] = []
    soup = BeautifulSoup(decode_bytes(data, name, warnings), "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    title = soup.title.get_text(strip=True) if soup.title else ""
    if soup.head:
        soup.head.decompose()
    raw = soup.get_text(separator="\n")
    lines = [re.sub(r"[ \t\u00a0]+", " ", ln).strip() for ln in raw.splitlines()]
    text = normalize_text(re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip())
    return Loaded(text, title or title_from_text(text, Path(name).stem), warnings=warnings)


def _load_pdf(data: bytes, name: str, budget: Budget) -> Loaded:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        budget.tick(len(reader.pages), "pages")
        page_texts = []
        for p in reader.pages:
            page_texts.append(normalize_text(p.extract_text() or "").strip())
            budget.check_time()
        meta_title = (reader.metadata.title if reader.metadata else None) or ""
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise LoadError(f"{name}: unreadable PDF ({exc})") from exc
    warnings = _fill_textless_pages(data, name, page_texts, budget)
    text, pages = join_pages(page_texts)
    if not text.strip():
        raise LoadError(f"{name}: the PDF has no extractable text")
    return Loaded(text, str(meta_title).strip() or title_from_text(text, Path(name).stem), pages, warnings)


def _fill_textless_pages(data: bytes, name: str, page_texts: list[str], budget: Budget) -> list[str]:
    """Pages with no text layer are read by OCR when tesseract is installed, else named in a warning (or an
    error, when no page has text). Changes `page_texts` in place; returns the warnings."""
    blank = [n for n, t in enumerate(page_texts, start=1) if not t]
    if not blank:
        return []
    from rag.ingest import ocr

    one = len(blank) == 1
    if not ocr.available():
        what = f"{name}: {page_list(blank)} of {len(page_texts)} {'has' if one else 'have'} no text layer " \
               f"(scanned {'image' if one else 'images'}?)"
        hint = f"install tesseract (Debian: tesseract-ocr) to read {'it' if one else 'them'} by OCR"
        if len(blank) == len(page_texts):
            raise LoadError(f"{what}; {hint}")
        return [f"{what}: left out; {hint}"]
    for n, text in ocr.ocr_pdf_pages(data, blank, name, budget=budget).items():
        page_texts[n - 1] = normalize_text(text).strip()
    read = [n for n in blank if page_texts[n - 1]]
    unread = [n for n in blank if not page_texts[n - 1]]
    warnings = []
    if read:
        one = len(read) == 1
        warnings.append(f"{name}: {page_list(read)} had no text layer and {'was' if one else 'were'} read by OCR "
                        f"(tesseract); quotes from {'it' if one else 'them'} may hold OCR errors")
    if unread:
        warnings.append(f"{name}: {page_list(unread)} had no text layer and OCR found no text on "
                        f"{'it' if len(unread) == 1 else 'them'}")
    return warnings


def _load_office(data: bytes, name: str, budget: Budget) -> Loaded:
    """Word, PowerPoint, Excel and CSV live in their own module, imported only when such a file comes."""
    from rag.ingest import office

    return office.LOADERS[Path(name).suffix.lower()](data, name, budget)


_LOADERS = {
    ".txt": _load_text,
    ".md": _load_text,
    ".markdown": _load_text,
    ".html": _load_html,
    ".htm": _load_html,
    ".pdf": _load_pdf,
    ".docx": _load_office,
    ".pptx": _load_office,
    ".xlsx": _load_office,
    ".csv": _load_office,
}


def load_bytes(data: bytes, name: str, source: str, source_key: str | None = None,
               limits: IngestSettings | None = None) -> Document:
    """Load a document from bytes; `name` picks the format, `source` is what citations show. `limits` (the
    ingest settings; their defaults when None) bound what reading it may cost: `OverLimit` past one."""
    suffix = Path(name).suffix.lower()
    loader = _LOADERS.get(suffix)
    if loader is None:
        raise LoadError(f"{name}: unsupported file type {suffix or '(none)'}; "
                        f"supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}")
    got = loader(data, name, Budget(name, limits or IngestSettings()))
    return Document(doc_id=make_doc_id(name, source_key or source), source=source, title=got.title,
                    text=got.text, pages=got.pages, warnings=got.warnings)


def read_file(path: Path, max_bytes: int | None = None) -> bytes:
    """The file's bytes; too large or unreadable files raise `LoadError` naming the file and the cause."""
    path = Path(path)
    try:
        if max_bytes is not None:
            check_file_size(str(path), path.stat().st_size, max_bytes)
        return path.read_bytes()
    except OSError as exc:
        raise LoadError(f"{path}: cannot read ({exc.strerror or exc})") from exc


def load_file(path: Path, max_bytes: int | None = None, limits: IngestSettings | None = None) -> Document:
    path = Path(path)
    data = read_file(path, max_bytes)
    return load_bytes(data, path.name, source=display_source(path), source_key=str(path.resolve()), limits=limits)


def display_source(path: Path, resolved: Path | None = None) -> str:
    """The path relative to the working folder when it lies below it; pass `resolved` if already known."""
    resolved = resolved or path.resolve()
    try:
        return str(resolved.relative_to(Path.cwd()))
    except ValueError:
        return str(resolved)


def iter_files(paths: list[Path]) -> list[Path]:
    """Expand folders into the supported files below them (sorted, hidden files skipped)."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.extend(
                f for f in sorted(p.rglob("*"))
                if f.is_file() and f.suffix.lower() in SUPPORTED_SUFFIXES
                and not any(part.startswith(".") for part in f.relative_to(p).parts)
            )
        else:
            out.append(p)
    return out
