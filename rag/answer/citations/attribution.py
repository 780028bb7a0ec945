"""Attribution policy: which retrieved passages a sentence of the answer is cited to.

- markers that point at no retrieved passage are dropped;
- a marker whose passage holds at most `miscited_max` of the sentence's words moves to the passage that
  holds the most, when that one holds at least `attribute_min`;
- a sentence without a valid marker is cited to its best passage when that holds `attribute_min`;
- judged on the sentence's own words (those the question did not supply): when the cited passages hold less
  than `support_min` of them and another passage holds at least that, the sentence is cited to that one.

Scores are the share of the sentence's content words a passage holds; a terse answer ("Five times.") is
also read together with the question's words.
"""

from __future__ import annotations

from collections.abc import Sequence

from rag.answer.citations.evidence import PassageWords
from rag.config import AnswerSettings
from rag.text.words import overlap


class Attribution:
    def __init__(self, evidence: PassageWords, question: set[str], policy: AnswerSettings) -> None:
        self.evidence = evidence
        self.question = question
        self.policy = policy

    def cite(self, words: set[str], markers: Sequence[int], read: bool = False) -> list[int]:
        """The passage numbers (1-based, in order, no repeats) a sentence with these content words and the
        markers its writer gave it is cited to; [] leaves it uncited. With `read` (a shape whose answer stands
        on the passages the model read) an unmarked sentence goes to its best passage however little it
        holds, if anything."""
        if not words:
            return []
        passages = self.evidence.whole
        scores = [max(overlap(words, ev), overlap(words | self.question, ev)) for ev in passages]
        best = max(range(len(scores)), key=lambda j: scores[j]) + 1 if scores else 0
        policy = self.policy
        valid: list[int] = []
        for m in markers:
            if not 1 <= m <= len(passages):
                continue  # points at no retrieved passage
            if scores[m - 1] <= policy.miscited_max and scores[best - 1] >= policy.attribute_min:
                m = best  # miscited: the sentence's words are elsewhere
            if m not in valid:
                valid.append(m)
        if not valid and best and (scores[best - 1] >= policy.attribute_min or read and scores[best - 1] > 0):
            valid = [best]
        own_words = words - self.question
        if valid and own_words:
            # a passage that shares the question's words but not the answer's ("Turkish president ... talks in
            # Tehran" without "Erdogan") is miscited, when another passage holds the answer's words
            own = [overlap(own_words, ev) for ev in passages]
            j = max(range(len(own)), key=lambda i: own[i])
            if overlap(own_words, self.evidence.cited(valid)) < policy.support_min <= own[j]:
                valid = [j + 1]
        return valid
