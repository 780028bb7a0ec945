"""Queries beyond the first: one per option of a choice question, and a second hop for bridge questions.

"Who was born first, Tesla or Edison?" needs a passage about each; one query finds the one its words
favour. "When was the university where Tesla studied founded?" needs the passage that names the
university, then the passage about it: the second query adds the names the first passages gave.
"""

from __future__ import annotations

import re

from rag.text.words import content_words, sentence_spans
from rag.types import Passage

# a run of capitalised words (with inner "of", "the", "and", "de"...), or a number: the names a second hop
# searches for
_NAME = re.compile(r"\b(?:[A-Z][\w'’.-]*(?:\s+(?:of|the|and|de|von|van|for|upon|on)\s+[A-Z][\w'’.-]*|"
                   r"\s+[A-Z][\w'’.-]*)*|\d{3,4})\b")


def option_queries(query: str, options: tuple[str, ...]) -> list[str]:
    """One query per option: the option with the rest of the question (the other options left out)."""
    if len(options) < 2:
        return []
    rest = query
    for o in options:
        rest = rest.replace(o, " ")
    rest = re.sub(r"\bor\b|[,:?]", " ", rest)
    rest = " ".join(rest.split())
    return [f"{o} {rest}".strip() for o in options]


def bridge_names(query: str, passages: list[Passage], limit: int = 3) -> list[str]:
    """Names in the first passages' best-matching sentences that the query does not already say."""
    q_words = content_words(query)
    q_low = query.lower()
    scored: list[tuple[float, int, str]] = []
    seen: set[str] = set()
    for rank, p in enumerate(passages[:2]):
        text = p.chunk.text
        for s, e in sentence_spans(text) or [(0, len(text))]:
            sentence = text[s:e]
            overlap = len(q_words & content_words(sentence)) / len(q_words) if q_words else 0.0
            if overlap == 0:
                continue
            for m in _NAME.finditer(sentence):
                name = m.group(0).strip()
                key = name.lower()
                if key in seen or key in q_low or len(name) < 3 or not (content_words(name) - q_words):
                    continue
                if m.start() == 0 and " " not in name and not name.isdigit():
                    continue  # a capitalised first word is usually just the sentence's start
                seen.add(key)
                scored.append((overlap - 0.1 * rank, -m.start(), name))
    scored.sort(reverse=True)
    return [name for _, _, name in scored[:limit]]


def bridge_query(query: str, passages: list[Passage]) -> str | None:
    names = bridge_names(query, passages)
    return f"{query} {' '.join(names)}" if names else None


def merge(first: list[Passage], *more: list[Passage], limit: int | None = None) -> list[Passage]:
    """The first list, then unseen passages from the others in turn (one from each, round robin)."""
    out = list(first)
    ids = {p.chunk.id for p in out}
    queues = [list(m) for m in more]
    while any(queues):
        for q in queues:
            while q:
                p = q.pop(0)
                if p.chunk.id not in ids:
                    ids.add(p.chunk.id)
                    out.append(p)
                    break
        if limit is not None and len(out) >= limit:
            break
    return out[:limit] if limit is not None else out
