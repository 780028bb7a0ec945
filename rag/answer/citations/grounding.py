"""Grounding checker: how well the passages a sentence cites support it.

Support is the share of the sentence's own content words (those the question did not supply) that the
cited passages hold; "Sunny" for "what was the weather in Tehran?" is not backed by a passage that only
mentions Tehran, and an answer that only repeats the question supports nothing. A sentence is supported at
`support_min`. A verdict ("Yes, Khamenei warned that ...", shapes yesno and comparison) may restate the
question: it is judged on all its words at `restated_support_min`, and the cited passages must name every
name and number it states. The passage sentence holding the claim must also be about the question.
"""

from __future__ import annotations

from rag.answer.citations.evidence import PassageWords
from rag.answer.rules.key_terms import missing_from
from rag.config import AnswerSettings
from rag.text.words import overlap
from rag.types import Passage


class Grounding:
    def __init__(self, passages: list[Passage], evidence: PassageWords, question: set[str], restates: bool,
                 policy: AnswerSettings) -> None:
        self.passages = passages
        self.evidence = evidence
        self.question = question
        self.restates = restates
        self.policy = policy

    def check(self, sentence: str, words: set[str], cited: list[int]) -> tuple[float, bool]:
        """(support, supported) of a sentence with these content words, citing these passages."""
        claim = words - self.question
        needed = self.policy.support_min
        if self.restates and len(claim) < 2:
            # "Yes, Putin was welcomed by Ebrahim Raisi" fails on "Raisi"
            claim, needed = words, self.policy.restated_support_min
            names_found = not missing_from(sentence, [self.passages[m - 1] for m in cited])
        else:
            names_found = True
        backed = round(overlap(claim, self.evidence.cited(cited)), 3) if cited and claim and names_found else 0.0
        if backed and not self.about_question(claim, cited):
            backed = 0.0
        return backed, backed >= needed

    def naming(self, sentence: str, cited: list[int]) -> tuple[list[int], list[str]]:
        """The cited passages, then those naming a name or number of the sentence that the cited ones never
        state (a verdict on two films cites the passage about each); and the names none of them states."""
        missing = missing_from(sentence, [self.passages[m - 1] for m in cited])
        out = list(cited)
        for i, passage in enumerate(self.passages, 1):
            if not missing:
                break
            if i not in out and any(t not in (unsaid := set(missing_from(sentence, [passage]))) for t in missing):
                out.append(i)
                missing = [t for t in missing if t in unsaid]
        return out, missing

    def about_question(self, claim: set[str], cited: list[int]) -> bool:
        """The passage sentence that holds the claim shares a word with the question (or it and its neighbours
        two words): "Russia" in a sentence about trade is no answer to "who won the World Cup?"."""
        if not self.question:
            return True
        for m in cited:
            sents = self.evidence.sentences[m - 1]
            best = max(range(len(sents)), key=lambda i: len(claim & sents[i]))
            window = set().union(*sents[max(0, best - 1):best + 2])
            if sents[best] & self.question or len(window & self.question) >= 2:
                return True
        return False
