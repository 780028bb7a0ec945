"""Sentence-aligned, token-sized chunks whose offsets are exact: `text[chunk.start:chunk.end] == chunk.text`.

Hand-written on top of nltk's span tokenizer because llama-index's splitters re-join and strip text,
so their character offsets are only approximate; citations need exact ones.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator

from rag.text.sentences import sentence_spans
from rag.text.tokens import count_tokens
from rag.types import Chunk, Document

Span = tuple[int, int]
_WORD = re.compile(r"\S+")


def chunk_id(doc_id: str, start: int, end: int, text: str) -> str:
    """Derived from content and position, so re-ingesting the same file yields the same ids."""
    digest = hashlib.sha256(f"{doc_id}\x00{start}\x00{end}\x00{text}".encode()).hexdigest()
    return digest[:32]


def _split_long(text: str, start: int, end: int, size: int, count: Callable[[str], int]) -> Iterator[Span]:
    """Cut a unit that exceeds `size` tokens: at word boundaries, else by shrinking a character window."""
    words = [(start + m.start(), start + m.end()) for m in _WORD.finditer(text[start:end])]
    i = 0
    while i < len(words):
        s = words[i][0]
        j = i
        # grow by words while it fits
        while j + 1 < len(words) and count(text[s:words[j + 1][1]]) <= size:
            j += 1
        e = words[j][1]
        if count(text[s:e]) <= size:
            yield (s, e)
            i = j + 1
            continue
        # one "word" longer than the budget: halve a character window until it fits
        pos = s
        while pos < e:
            width = min(e - pos, size * 4)
            while width > 1 and count(text[pos:pos + width]) > size:
                width //= 2
            yield (pos, pos + width)
            pos += width
        i = j + 1


def _units(text: str, lo: int, hi: int, size: int, count: Callable[[str], int]) -> list[tuple[int, int, int]]:
    """Sentences of text[lo:hi] as (start, end, tokens), long ones pre-split to fit `size`."""
    units: list[tuple[int, int, int]] = []
    for s, e in sentence_spans(text, lo, hi):
        n = count(text[s:e])
        if n <= size:
            units.append((s, e, n))
        else:
            units.extend((a, b, count(text[a:b])) for a, b in _split_long(text, s, e, size, count))
    return units


def chunk_spans(text: str, size: int, overlap: int, lo: int = 0, hi: int | None = None,
                count: Callable[[str], int] = count_tokens) -> list[Span]:
    """Greedy packing of whole sentences into chunks of at most `size` tokens, `overlap` tokens shared."""
    hi = len(text) if hi is None else hi
    units = _units(text, lo, hi, size, count)
    spans: list[Span] = []
    i = 0
    while i < len(units):
        j = i
        total = units[i][2]
        while j + 1 < len(units) and total + units[j + 1][2] + 1 <= size:
            j += 1
            total += units[j][2] + 1
        # the estimate can be off by a token or two at the joins: check the real span
        while j > i and count(text[units[i][0]:units[j][1]]) > size:
            j -= 1
        spans.append((units[i][0], units[j][1]))
        if j + 1 >= len(units):
            break
        # step back over trailing sentences worth at most `overlap` tokens, but always move forward
        k, shared = j + 1, 0
        while k - 1 > i and shared + units[k - 1][2] <= overlap:
            k -= 1
            shared += units[k][2]
        i = k
    return spans


def chunk_document(doc: Document, size: int, overlap: int) -> list[Chunk]:
    sections = [(p, s, e) for p, s, e in doc.pages] or [(None, 0, len(doc.text))]
    chunks: list[Chunk] = []
    for page, lo, hi in sections:
        for s, e in chunk_spans(doc.text, size, overlap, lo, hi):
            body = doc.text[s:e]
            chunks.append(Chunk(id=chunk_id(doc.doc_id, s, e, body), doc_id=doc.doc_id, source=doc.source,
                                title=doc.title, page=page, start=s, end=e, text=body))
    return chunks
