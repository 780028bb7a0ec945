"""A pure, incremental lexer for an answer's citation markers and sentence ends: no passages, no policy.

Text is fed as it streams and comes back at once, the markers ("[1]", "[1, 2]") taken out; at each sentence
end a `SentenceEnd` carries the sentence, the markers its writer put on it and its closing punctuation, so a
caller can write its own markers before the full stop. A full stop after an abbreviation ("Dr.", "U.S.") or
an initial ("J. Smith") does not end a sentence. The space before a marker or before punctuation is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.text.words import abbreviations

MARKER = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")
_SENT_END = re.compile(r"[.!?…]+[\"'”’)]*")
_MARKER_PREFIX = re.compile(r"\[\s*(?:\d+(?:\s*[,;]\s*\d*)*)?\s*$")  # could still become a marker
_PLAIN = re.compile(r"[^\s\[.!?…]+")


def marker_numbers(text: str) -> list[int]:
    """The passage numbers of every marker in text, in order ("[1, 3] ... [2]" → [1, 3, 2])."""
    return [int(n) for m in MARKER.finditer(text) for n in re.split(r"\s*[,;]\s*", m.group(1).strip())]


@dataclass(frozen=True)
class Sentence:
    text: str  # as written, markers taken out
    markers: tuple[int, ...]  # the numbers its writer cited, in order, unchecked
    start: int  # offsets in the marker-free text (the closing punctuation not included)
    end: int


@dataclass(frozen=True)
class SentenceEnd:
    sentence: Sentence
    run: str  # the closing punctuation ("." or '?"'), "" when the text ends without one


Token = str | SentenceEnd


class MarkerLexer:
    """`feed(delta)` and `finish()` return the tokens decided so far: text pieces and `SentenceEnd`s. The text
    pieces and runs add up to the answer without its markers; text that may still become a marker or a
    sentence end ("[1", "Tehran.") is held until the next delta decides it."""

    def __init__(self, abbrev: frozenset[str] | None = None) -> None:
        self._abbrev = abbreviations() if abbrev is None else abbrev
        self._held = ""  # raw text not yet decided on
        self._sentence = ""  # the current sentence as emitted so far
        self._start = 0  # its offset in the marker-free text
        self._pos = 0  # length of the marker-free text emitted
        self._markers: list[int] = []  # markers the writer put on the current sentence

    def feed(self, delta: str) -> list[Token]:
        self._held += delta
        return self._drain(final=False)

    def finish(self) -> list[Token]:
        return self._drain(final=True)

    def _emit(self, piece: str, out: list[Token], in_sentence: bool = True) -> None:
        if piece:
            if in_sentence:
                if not self._sentence:
                    self._start = self._pos
                self._sentence += piece
            out.append(piece)
            self._pos += len(piece)

    def _close(self, run: str, out: list[Token]) -> None:
        sentence = Sentence(self._sentence, tuple(self._markers), self._start, self._start + len(self._sentence))
        out.append(SentenceEnd(sentence, run))
        self._pos += len(run)
        self._sentence, self._markers = "", []

    def _take_marker(self, text: str, final: bool) -> tuple[bool, str] | None:
        """(True, rest) after a complete marker; None while it may still become one; (False, text) if not."""
        m = MARKER.match(text)
        if m:
            self._markers += marker_numbers(m.group(0))
            return True, text[m.end():]
        if not final and _MARKER_PREFIX.fullmatch(text):
            return None
        return False, text

    def _drain(self, final: bool) -> list[Token]:
        out: list[Token] = []
        while self._held:
            held = self._held
            if held[0].isspace():
                if not self._space(held, final, out):
                    break
                continue
            if held[0] == "[":
                got = self._take_marker(held, final)
                if got is None:
                    break
                if got[0]:
                    self._held = got[1]
                    continue
                self._emit("[", out)
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
                    self._close(run, out)
                else:
                    self._emit(run, out)
                self._held = after
                continue
            m = _PLAIN.match(held)
            if m is None:  # a lone character the patterns above did not take
                self._emit(held[0], out)
                self._held = held[1:]
                continue
            self._emit(m.group(0), out)
            self._held = held[m.end():]
        if final and self._sentence.strip():
            self._close("", out)
        return out

    def _space(self, held: str, final: bool, out: list[Token]) -> bool:
        """White space at the head of `held`: taken (True), or False to wait for more text."""
        rest = held.lstrip()
        if not rest:
            if final:
                self._held = ""
            return False
        ws = held[: len(held) - len(rest)]
        if rest[0] == "[":
            got = self._take_marker(rest, final)
            if got is None:
                return False
            if got[0]:  # a marker: the space before it goes too
                self._held = got[1]
                return True
        if rest[0] in ".,;:!?…":
            self._held = rest  # no space before punctuation
            return True
        if self._pos:
            self._emit(ws, out, in_sentence=bool(self._sentence))
        self._held = rest
        return True

    def _ends_sentence(self, nxt: str) -> bool:
        last = self._sentence.split()[-1] if self._sentence.split() else ""
        if "." in last or len(last) <= 1 or last.lower() in self._abbrev:
            return False  # "U.S. President", "Dr. Smith", "J. Smith"
        return nxt[0].isupper() or nxt[0].isdigit() or nxt[0] in "\"'“‘(["


def lex(text: str, abbrev: frozenset[str] | None = None) -> list[Sentence]:
    """The whole text at once: its sentences, with their markers and offsets in the marker-free text."""
    lexer = MarkerLexer(abbrev)
    tokens = lexer.feed(text) + lexer.finish()
    return [t.sentence for t in tokens if isinstance(t, SentenceEnd)]


def strip_markers(tokens: list[Token]) -> str:
    """The marker-free text the tokens spell."""
    return "".join(t if isinstance(t, str) else t.run for t in tokens)
