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

from rag.key_terms import missing_terms
from rag.schemas import AnswerSentence, Citation, Passage
from rag.settings import AnswerSettings
from rag.text import abbreviations, content_words, overlap, sentence_spans

__all__ = ["MARKER", "CitationStream", "best_quote", "content_words", "grounded_share", "is_refusal", "support",
           "verify"]

MARKER = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")
_REFUSAL = re.compile(
    r"\b(i\s+don[’']?t\s+know|i\s+do\s+not\s+know|(?:do|does)\s+not\s+(?:contain|mention|provide|include|say)"
    r"|no\s+information|not\s+(?:mentioned|stated|provided|specified|available)|cannot\s+(?:be\s+)?answer"
    r"|unable\s+to\s+(?:answer|determine|find))\b", re.IGNORECASE)

support = overlap  # share of the claim's content words that the evidence contains


def is_refusal(answer: str) -> bool:
    """The model said it cannot answer (checked on the opening sentence, where such replies put it)."""
    spans = sentence_spans(MARKER.sub("", answer))
    first = answer if not spans else MARKER.sub("", answer)[spans[0][0]:spans[0][1]]
    return bool(_REFUSAL.search(first)) or not answer.strip()


def best_quote(passage: Passage, claim: set[str], question: set[str]) -> tuple[int, int]:
    """Span (relative to the chunk) of the passage sentence(s) that carry the claim's new words."""
    text = passage.chunk.text
    spans = sentence_spans(text) or [(0, len(text))]
    weights = {w: (0.5 if w in question else 2.0) for w in claim}

    def score(s: int, e: int) -> float:
        words = content_words(text[s:e])
        return sum(wt for w, wt in weights.items() if w in words)

    scores = [score(s, e) for s, e in spans]
    i = max(range(len(spans)), key=lambda j: (scores[j], -j))
    best = (spans[i][0], spans[i][1])
    # a claim split across two sentences: take the neighbour too when it adds real evidence
    for j in (i - 1, i + 1):
        if 0 <= j < len(spans):
            lo, hi = min(spans[i][0], spans[j][0]), max(spans[i][1], spans[j][1])
            if score(lo, hi) >= scores[i] + 2.0:
                return lo, hi
    return best


def _numbers(text: str) -> list[int]:
    return [int(n) for m in MARKER.finditer(text) for n in re.split(r"\s*[,;]\s*", m.group(1).strip())]


_SENT_END = re.compile(r"[.!?…]+[\"'”’)]*")
_MARKER_PREFIX = re.compile(r"\[\s*(?:\d+(?:\s*[,;]\s*\d*)*)?\s*$")  # could still become a marker
_PLAIN = re.compile(r"[^\s\[.!?…]+")


class CitationStream:
    """Turns the model's text deltas into the cited answer's deltas, as they come.

    Text passes through at once; the model's own markers are taken out and checked; at each sentence end
    the verified markers are written before the closing punctuation ("... Tehran [1]."). So the deltas a
    client streams add up exactly to the final answer, markers included.
    """

    def __init__(self, passages: list[Passage], question: str, shape: str = "factoid",
                 policy: AnswerSettings | None = None) -> None:
        self.passages = passages
        self.policy = policy or AnswerSettings()
        # a verdict ("Yes, Khamenei warned that ...") may restate the question: it is grounded on the fact it
        # states, words from the question included, not on its new words alone
        self._restates = shape in ("yesno", "comparison")
        self._evidence = [content_words(p.chunk.text) for p in passages]
        self._sentence_words = [[content_words(p.chunk.text[a:b]) for a, b in sentence_spans(p.chunk.text)]
                                or [self._evidence[i]] for i, p in enumerate(passages)]
        self._q_words = content_words(question)
        self._abbrev = abbreviations()
        self._held = ""  # raw text not yet decided on
        self._sentence = ""  # the current sentence as emitted so far
        self._markers: list[int] = []  # markers the model wrote for the current sentence
        self._out: list[str] = []
        self._claims: dict[int, set[str]] = {}
        self._order: list[int] = []
        self.sentences: list[AnswerSentence] = []

    @property
    def text(self) -> str:
        return "".join(self._out)

    def feed(self, delta: str) -> str:
        self._held += delta
        return self._drain(final=False)

    def finish(self) -> str:
        return self._drain(final=True)

    def _emit(self, piece: str, pieces: list[str], in_sentence: bool = True) -> None:
        if piece:
            pieces.append(piece)
            self._out.append(piece)
            if in_sentence:
                self._sentence += piece

    def _take_marker(self, text: str, final: bool) -> tuple[bool, str] | None:
        """(True, rest) after a complete marker; None while it may still become one; (False, text) if not."""
        m = MARKER.match(text)
        if m:
            self._markers += _numbers(m.group(0))
            return True, text[m.end():]
        if not final and _MARKER_PREFIX.fullmatch(text):
            return None
        return False, text

    def _drain(self, final: bool) -> str:
        pieces: list[str] = []
        while self._held:
            held = self._held
            if held[0].isspace():
                rest = held.lstrip()
                if not rest:
                    if final:
                        self._held = ""
                    break
                ws = held[: len(held) - len(rest)]
                if rest[0] == "[":
                    got = self._take_marker(rest, final)
                    if got is None:
                        break
                    if got[0]:  # a marker: the space before it goes too
                        self._held = got[1]
                        continue
                if rest[0] in ".,;:!?…":
                    self._held = rest  # no space before punctuation
                    continue
                if self._out:
                    self._emit(ws, pieces, in_sentence=bool(self._sentence))
                self._held = rest
                continue
            if held[0] == "[":
                got = self._take_marker(held, final)
                if got is None:
                    break
                if got[0]:
                    self._held = got[1]
                    continue
                self._emit("[", pieces)
                self._held = held[1:]
                continue
            end = _SENT_END.match(held)
            if end:
                run, after = end.group(0), held[end.end():]
                nxt = after.lstrip()
                if not final and (not after or not nxt):
                    break  # wait: is this the end of the sentence?
                if nxt.startswith("["):
                    got = self._take_marker(nxt, final)
                    if got is None:
                        break
                    if got[0]:  # "Tehran. [1] Next": the marker belongs to this sentence
                        self._held = run + (" " + got[1].lstrip() if got[1].strip() else got[1])
                        continue
                if not after or not nxt or (after[0].isspace() and self._ends_sentence(nxt)):
                    self._emit(self._close_sentence(), pieces, in_sentence=False)
                    self._emit(run, pieces, in_sentence=False)
                    self._sentence = ""
                else:
                    self._emit(run, pieces)
                self._held = after
                continue
            m = _PLAIN.match(held)
            if m is None:  # a lone character the patterns above did not take
                self._emit(held[0], pieces)
                self._held = held[1:]
                continue
            self._emit(m.group(0), pieces)
            self._held = held[m.end():]
        if final and self._sentence.strip():
            self._emit(self._close_sentence(), pieces, in_sentence=False)
            self._sentence = ""
        return "".join(pieces)

    def _ends_sentence(self, nxt: str) -> bool:
        last = self._sentence.split()[-1] if self._sentence.split() else ""
        if "." in last or len(last) <= 1 or last.lower() in self._abbrev:
            return False  # "U.S. President", "Dr. Smith", "J. Smith"
        return nxt[0].isupper() or nxt[0].isdigit() or nxt[0] in "\"'“‘(["

    def _close_sentence(self) -> str:
        """Decide the current sentence's markers; return the tags to write before its full stop."""
        words = content_words(self._sentence)
        markers, self._markers = self._markers, []
        if not words:
            return ""
        # a terse answer ("Five times.") is read together with the question it answers
        scores = [max(support(words, ev), support(words | self._q_words, ev)) for ev in self._evidence]
        best = max(range(len(scores)), key=lambda j: scores[j]) + 1 if scores else 0
        policy = self.policy
        valid: list[int] = []
        for m in markers:
            if not 1 <= m <= len(self.passages):
                continue  # points at no retrieved passage
            if scores[m - 1] <= policy.miscited_max and scores[best - 1] >= policy.attribute_min:
                m = best  # miscited: the sentence's words are elsewhere
            if m not in valid:
                valid.append(m)
        if not valid and best and scores[best - 1] >= policy.attribute_min:
            valid = [best]
        own_words = words - self._q_words
        if valid and own_words:
            # judged on the sentence's own words: a passage that shares the question's words but not the
            # answer's ("Turkish president ... talks in Tehran" without "Erdogan") is miscited, when another
            # passage holds the answer's words
            cited_ev = set().union(*(self._evidence[m - 1] for m in valid))
            own = [support(own_words, ev) for ev in self._evidence]
            j = max(range(len(own)), key=lambda i: own[i])
            if support(own_words, cited_ev) < policy.support_min <= own[j]:
                valid = [j + 1]
        for m in valid:
            self._claims.setdefault(m, set()).update(words)
            if m not in self._order:
                self._order.append(m)
        # grounding: the sentence's own words (those the question did not supply) against the union of the
        # passages it cites; "Sunny" for "what was the weather in Tehran?" is not backed by a passage that
        # only mentions Tehran
        cited = set().union(*(self._evidence[m - 1] for m in valid)) if valid else set()
        claim = words - self._q_words  # an answer that only repeats the question ("Shana") answers nothing
        needed = policy.support_min
        if self._restates and len(claim) < 2:
            # "Yes, Khamenei suggested that ..." restates the question in its words, which the passage
            # paraphrases: grounded when the cited passages name every name and number it states and share
            # restated_support_min of its words. "Yes, Putin was welcomed by Ebrahim Raisi" fails on "Raisi".
            claim, needed = words, policy.restated_support_min
            texts = [self.passages[m - 1].chunk.text for m in valid]
            names_found = not missing_terms(self._sentence, texts)
        else:
            names_found = True
        backed = round(support(claim, cited), 3) if valid and claim and names_found else 0.0
        if backed and not self._about_question(claim, valid):
            backed = 0.0
        self.sentences.append(AnswerSentence(text=self._sentence.strip(), citations=valid, support=backed,
                                             supported=backed >= needed))
        return (" " + "".join(f"[{m}]" for m in valid)) if valid else ""

    def _about_question(self, claim: set[str], cited: list[int]) -> bool:
        """The passage sentence that holds the claim must share a word with the question (or its neighbours
        two words):
        "Russia" found in a sentence about trade is no answer to "who won the World Cup?"."""
        if not self._q_words:
            return True
        for m in cited:
            sents = self._sentence_words[m - 1]
            best = max(range(len(sents)), key=lambda i: len(claim & sents[i]))
            window = set().union(*sents[max(0, best - 1):best + 2])
            if sents[best] & self._q_words or len(window & self._q_words) >= 2:
                return True
        return False

    def citations(self) -> list[Citation]:
        out = []
        for m in self._order:
            p = self.passages[m - 1]
            qs, qe = best_quote(p, self._claims[m], self._q_words)
            out.append(Citation(
                marker=m, doc_id=p.chunk.doc_id, title=p.chunk.title, source=p.chunk.source, page=p.chunk.page,
                start=p.chunk.start + qs, end=p.chunk.start + qe, quote=p.chunk.text[qs:qe], score=p.score,
                passage=p.chunk.text, passage_start=p.chunk.start))
        return out


def grounded_share(sentences: list[AnswerSentence]) -> float | None:
    return round(sum(x.supported for x in sentences) / len(sentences), 3) if sentences else None


def verify(answer: str, passages: list[Passage], question: str,
           policy: AnswerSettings | None = None) -> tuple[str, list[Citation]]:
    """The whole answer at once: the answer with verified markers, and one citation per cited passage."""
    stream = CitationStream(passages, question, policy=policy)
    stream.feed(answer)
    stream.finish()
    return stream.text, stream.citations()
