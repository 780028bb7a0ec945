"""Citation checker: makes an answer's markers right by construction instead of trusting the model.

- markers that point at no retrieved passage are removed;
- a sentence without a marker is attributed to the passage that best supports it, or left uncited;
- a marker whose passage shares almost nothing with its sentence is moved to the passage that does;
- each citation's quote is the sentence(s) of the passage that support the answer, with exact offsets.

The thresholds are the answer policy's (`AnswerSettings`: support_min, restated_support_min, attribute_min,
miscited_max), on the share of a sentence's content words found in a passage.
"""

from __future__ import annotations

import re

from rag.answer.citations.attribution import Attribution
from rag.answer.citations.evidence import PassageWords
from rag.answer.citations.grounding import Grounding
from rag.answer.citations.lexer import MARKER, MarkerLexer, Sentence, Token
from rag.answer.citations.quotes import best_quote, citation
from rag.answer.shapes import verdict
from rag.config import AnswerSettings
from rag.text.words import content_words, sentence_spans
from rag.types import AnswerSentence, Citation, Passage

__all__ = ["MARKER", "CitationStream", "best_quote", "content_words", "grounded_share", "is_refusal", "verify"]

_REFUSAL = re.compile(
    r"\b(i\s+don[’']?t\s+know|i\s+do\s+not\s+know|(?:do|does)\s+not\s+(?:contain|mention|provide|include|say)"
    r"|no\s+information|not\s+(?:mentioned|stated|provided|specified|available)|cannot\s+(?:be\s+)?answer"
    r"|unable\s+to\s+(?:answer|determine|find))\b", re.IGNORECASE)


def is_refusal(answer: str) -> bool:
    """The model said it cannot answer (checked on the opening sentence, where such replies put it)."""
    spans = sentence_spans(MARKER.sub("", answer))
    first = answer if not spans else MARKER.sub("", answer)[spans[0][0]:spans[0][1]]
    return bool(_REFUSAL.search(first)) or not answer.strip()


# A capped answer has at most this many sentences, supported or not (an explanation is 1-3 sentences): an
# opening that only frames the answer may come before the sentences that answer. Set by hand, not measured.
MAX_CAPPED_SENTENCES = 3


class CitationStream:
    """Turns the model's text deltas into the cited answer's deltas, as they come.

    Text passes through at once; the model's own markers are taken out (`MarkerLexer`); at each sentence end
    the markers the `Attribution` policy decides on are written before the closing punctuation
    ("... Tehran [1]."), and the sentence's support is recorded (`Grounding`). So the deltas a client
    streams add up exactly to the final answer, markers included. `citations()` quotes each cited passage
    (`quotes.citation`).
    """

    def __init__(self, passages: list[Passage], question: str, shape: str = "factoid",
                 policy: AnswerSettings | None = None, max_sentences: int | None = None) -> None:
        self.passages = passages
        # the answer ends with this many supported sentences (or MAX_CAPPED_SENTENCES in all); later text is
        # dropped
        self.max_sentences = max_sentences
        self.policy = policy or AnswerSettings()
        evidence = PassageWords.of(passages)
        self._q_words = content_words(question)
        self._lexer = MarkerLexer()
        self._attribution = Attribution(evidence, self._q_words, self.policy)
        # a verdict ("Yes, Khamenei warned that ...") may restate the question: it is grounded on the fact it
        # states, words from the question included, not on its new words alone
        self._grounding = Grounding(passages, evidence, self._q_words, shape in ("yesno", "comparison"),
                                    self.policy)
        # an answer of a shape outside support_shapes stands on the passages the model read (a "No" rests on
        # what they leave out): it is cited to what it names, and not refused for its support
        self.must_support = shape in self.policy.support_shapes
        self._affirms_unstated = False
        self._out: list[str] = []
        self._claims: dict[int, set[str]] = {}  # per cited passage, the words of the sentences citing it
        self.sentences: list[AnswerSentence] = []

    @property
    def text(self) -> str:
        return "".join(self._out)

    def feed(self, delta: str) -> str:
        return self._write(self._lexer.feed(delta))

    def finish(self) -> str:
        return self._write(self._lexer.finish())

    @property
    def full(self) -> bool:
        """The answer has its `max_sentences` supported sentences, or MAX_CAPPED_SENTENCES in all: the caller
        may stop the model. Only supported sentences count, because an opening that only names what is asked
        about ("He treated them differently on Syria and on grain") is unsupported, and stopping there would
        refuse an answer whose next sentence holds it."""
        if self.max_sentences is None:
            return False
        supported = sum(x.supported for x in self.sentences)
        return (supported >= self.max_sentences
                or len(self.sentences) >= max(self.max_sentences, MAX_CAPPED_SENTENCES))

    def _write(self, tokens: list[Token]) -> str:
        parts = []
        for t in tokens:
            if self.full:
                break
            parts.append(t if isinstance(t, str) else self._close(t.sentence) + t.run)
        out = "".join(parts)
        self._out.append(out)
        return out

    def _close(self, sentence: Sentence) -> str:
        """Decide a sentence's markers; return the tags to write before its full stop."""
        words = content_words(sentence.text)
        if not words:
            return ""
        cited = self._attribution.cite(words, sentence.markers, read=not self.must_support)
        if cited and not self.must_support:
            cited, unstated = self._grounding.naming(sentence.text, cited)
            # a "Yes" affirms what it names: a name or number no passage states makes it a made-up fact
            self._affirms_unstated |= bool(unstated) and verdict(sentence.text) == "yes"
        for m in cited:
            self._claims.setdefault(m, set()).update(words)
        backed, supported = self._grounding.check(sentence.text, words, cited)
        self.sentences.append(AnswerSentence(text=sentence.text.strip(), citations=cited, support=backed,
                                             supported=supported))
        return (" " + "".join(f"[{m}]" for m in cited)) if cited else ""

    @property
    def answered(self) -> bool:
        """The reply is an answer: it cites a passage and, for a shape that must be supported, a sentence of it
        is supported by what it cites; for another shape, no "Yes" of it names what its passages never state."""
        if not (self.text and self._claims):
            return False
        return any(x.supported for x in self.sentences) if self.must_support else not self._affirms_unstated

    def citations(self) -> list[Citation]:
        return [citation(m, self.passages[m - 1], claim, self._q_words) for m, claim in self._claims.items()]


def grounded_share(sentences: list[AnswerSentence]) -> float | None:
    return round(sum(x.supported for x in sentences) / len(sentences), 3) if sentences else None


def verify(answer: str, passages: list[Passage], question: str,
           policy: AnswerSettings | None = None) -> tuple[str, list[Citation]]:
    """The whole answer at once: the answer with verified markers, and one citation per cited passage."""
    stream = CitationStream(passages, question, policy=policy)
    stream.feed(answer)
    stream.finish()
    return stream.text, stream.citations()
