"""What every format's loader shares: the result (`Loaded`), the error (`LoadError`), pages joined with their
spans, text decoding and a title from the first line. `loaders.py` dispatches by file type to its own
loaders and to `office.py` and `ocr.py`, which import these from here, not from the dispatcher."""

from __future__ import annotations

from dataclasses import dataclass, field

from charset_normalizer import from_bytes

Pages = list[tuple[int, int, int]]


class LoadError(Exception):
    """A file that cannot be ingested; the message says why, for the user."""


@dataclass
class Loaded:
    """What a format's loader returns: normalised text, a title, (page, start, end) spans and notes for the
    user about parts that could not be read as they are (pages without a text layer, OCR)."""

    text: str
    title: str
    pages: Pages = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def join_pages(page_texts: list[str]) -> tuple[str, Pages]:
    """Pages (already normalised) joined by a blank line, each with its exact (number, start, end) span."""
    parts: list[str] = []
    pages: Pages = []
    pos = 0
    for number, page_text in enumerate(page_texts, start=1):
        if parts:
            parts.append("\n\n")
            pos += 2
        parts.append(page_text)
        pages.append((number, pos, pos + len(page_text)))
        pos += len(page_text)
    return "".join(parts), pages


def decode_bytes(data: bytes, name: str, warnings: list[str] | None = None) -> str:
    """A BOM decides (UTF-8, UTF-16, UTF-32); then UTF-8; then UTF-8 with its few bad bytes replaced, when
    the rest holds valid UTF-8 letters; otherwise the most likely encoding; binary data is refused. Whatever
    was not plain UTF-8 is said in `warnings`: a Latin-1 file used to become "crčme brűlée" unannounced."""
    for bom, codec in ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
                       (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError as exc:
                raise LoadError(f"{name}: starts as {codec.upper()} but is not valid {codec.upper()}") from exc
    if b"\x00" in data[:8192]:
        raise LoadError(f"{name}: looks like a binary file (NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    notes = warnings if warnings is not None else []
    replaced = data.decode("utf-8-sig", errors="replace")
    bad = replaced.count("\ufffd") - data.decode("utf-8-sig", errors="ignore").count("\ufffd")
    letters = sum(1 for ch in replaced if ord(ch) > 127 and ch != "\ufffd")
    if letters > bad:  # mostly UTF-8: a guess would turn its many good letters into mojibake
        notes.append(f"{name}: {bad} {'byte was' if bad == 1 else 'bytes were'} not valid UTF-8 and "
                     f"{'was' if bad == 1 else 'were'} replaced by U+FFFD")
        return replaced
    best = from_bytes(data).best()
    if best is None:
        raise LoadError(f"{name}: cannot detect the text encoding")
    notes.append(f"{name}: not UTF-8; decoded as {best.encoding} (a guess: if letters look wrong, save the file "
                 "as UTF-8)")
    return str(best)


def title_from_text(text: str, fallback: str) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line[:200] if len(line) <= 200 else fallback
    return fallback
