"""Text normalisation applied to every document before chunking, so offsets refer to one canonical text."""

from __future__ import annotations

import re
import unicodedata

# Non-breaking, thin, ideographic and other odd spaces (plus tabs) become plain spaces; zero-width
# characters and the BOM disappear. Line structure is kept: paragraphs matter to the chunker.
_ODD_SPACES = re.compile(r"[\t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_ZERO_WIDTH = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def normalize_text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFC", text)
    text = _ZERO_WIDTH.sub("", text)
    text = _CONTROL.sub("", text)
    return _ODD_SPACES.sub(" ", text)
