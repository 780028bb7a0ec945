"""The content words of the retrieved passages, whole and per sentence, computed once per answer."""

from __future__ import annotations

from dataclasses import dataclass

from rag.text.words import content_words, sentence_spans
from rag.types import Passage


@dataclass(frozen=True)
class PassageWords:
    whole: list[set[str]]  # passage i's content words (marker i + 1)
    sentences: list[list[set[str]]]  # passage i's sentences' content words (the whole, if it has none)

    @classmethod
    def of(cls, passages: list[Passage]) -> PassageWords:
        whole = [content_words(p.chunk.text) for p in passages]
        sentences = [[content_words(p.chunk.text[a:b]) for a, b in sentence_spans(p.chunk.text)] or [whole[i]]
                     for i, p in enumerate(passages)]
        return cls(whole, sentences)

    def cited(self, markers: list[int]) -> set[str]:
        """The union of the cited passages' words."""
        return set().union(*(self.whole[m - 1] for m in markers))
