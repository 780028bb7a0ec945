"""A bridge question answered with its bridge: "What does the mountain after which Kenya is named have on its
peaks?" answered "Mount Kenya". The question describes one thing (the bridge) in order to ask about another;
a small model often names the thing described, which its passages state plainly, instead of what was asked.

`described_answer` finds the case: the factoid answer is named in a passage sentence that holds most of the
words of one of the question's descriptions ("the mountain after which Kenya is named"), and the question
does not simply ask for the described thing ("Who was the man who …?"). `bridged_question` is the question
asked again with the bridge said out loud, so the model looks past it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.text.words import content_words, sentence_spans
from rag.types import Passage

# "the <up to three words> who/which/that/…" or "the <words> on/at/in/… which …": a noun phrase that describes
# something by a clause; the clause runs to the next comma, semicolon or question mark
_DESCRIPTION = re.compile(
    r"\bthe\s+((?:[\w'’&.-]+\s+){0,2}?[\w'’&.-]+)\s+"
    r"((?:who|whom|whose|which|that|where|when|(?:on|at|in|after|from|by|with|for|to|of|under|during)\s+(?:which|whom))"
    r"\b[^,;?]*)", re.IGNORECASE)
# "Who was the man who …", "What is the river that …": the question asks for the described thing itself
_ASKS_FOR_IT = re.compile(r"^\s*(?:(?:who|what|which|whom)(?:\s+\w+){0,2}?\s+(?:is|was|are|were)\s+the\b|"
                          r"what (?:do|did|does|is|was|are|were) (?:\w+ ){0,2}(?:call|called|name|named|known as)\b)",
                          re.IGNORECASE)
_NAMED = re.compile(r"\b[A-Z][\w'’&.-]*")
_WORDS = re.compile(r"[\w'’&-]+")
_CLOSING = "\"'’”)]"
_MIN_WORDS = 2  # a description of fewer content words ("the one that won") is too vague to match a sentence
# a bridge's sentence describes it and says little of what the question asks about it ("have on its peaks");
# one that also says half of that answers the question itself (set by hand, as a majority)
_REST_MAX = 0.5


@dataclass(frozen=True)
class Described:
    """The answer is the thing `head` ("mountain") stands for in the question's `description`."""

    answer: str
    head: str
    description: str
    overlap: float
    span: tuple[int, int]  # the description in the question, cut after its last word the sentence also says


def descriptions(question: str) -> list[re.Match[str]]:
    """Each descriptive noun phrase of the question (group 1: its head, group 2: its clause)."""
    if _ASKS_FOR_IT.search(question):
        return []
    return list(_DESCRIPTION.finditer(question))


def describes(question: str) -> bool:
    """Whether the question describes something by a clause at all, even one it asks for ("Who was the man
    who …?"): its answer may come from a passage that never names what the clause says."""
    return _DESCRIPTION.search(question) is not None


def _cut(question: str, m: re.Match[str], sentence: str) -> tuple[int, int]:
    """The description's span, ended at the clause's last word the sentence holds: the clause the regex takes
    runs on into the question's own words ("the mountain after which Kenya is named | have on its peaks")."""
    said = content_words(sentence)  # content words only: "on" or "its" in the sentence say nothing
    end = m.end(1)
    for w in _WORDS.finditer(question, m.start(2), m.end(2)):
        if content_words(w.group(0)) & said:
            end = w.end()
    while end < len(question) and question[end] in _CLOSING:  # 'branded Luther "a new Jan Hus"'
        end += 1
    return m.start(), end


def described_answer(question: str, answer: str, context: list[Passage], min_overlap: float) -> Described | None:
    """The description `answer` fits, when a passage sentence names the answer together with at least
    `min_overlap` of the content words from the description's start to the question's end (the answer's own
    words left out: the clause is cut only once a sentence is found)."""
    answer = answer.strip().strip(".").strip()
    if not answer or answer.lower() in question.lower():
        return None
    a_words = content_words(answer)
    if not a_words or not _NAMED.search(answer) or answer[:1].isdigit():
        return None  # a bridge is a named thing: a number, date or common phrase is an attribute, not it
    names = [answer.lower()]
    if " " in answer and _NAMED.fullmatch(last := answer.split()[-1]) and len(last) >= 3:
        names.append(last.lower())  # "Johann Eck" is "Eck" in the sentence that describes him
    best: Described | None = None
    for m in descriptions(question):
        head, description = m.group(1), m.group(0).strip()
        d_words = content_words(description) - a_words
        if len(d_words) < _MIN_WORDS:
            continue
        for p in context:
            text = p.chunk.text
            for s, e in sentence_spans(text) or [(0, len(text))]:
                sentence = text[s:e]
                low = sentence.lower()
                if not any(re.search(rf"\b{re.escape(n)}\b", low) for n in names):
                    continue
                share = len(d_words & content_words(sentence)) / len(d_words)
                if share < min_overlap or (best is not None and share <= best.overlap):
                    continue
                lo, hi = _cut(question, m, sentence)
                if not content_words(question[m.start(2):hi]) - a_words:
                    continue  # the sentence holds the head ("the hotel") but nothing the clause says of it
                rest = content_words(f"{question[:lo]} {question[hi:]}") - content_words(question[lo:hi]) - a_words
                if not rest or len(rest & content_words(sentence)) / len(rest) >= _REST_MAX:
                    continue  # the sentence says the whole question: the answer is what it asks, not its bridge
                best = Described(answer, head, question[lo:hi], share, (lo, hi))
    return best


def bridged_question(question: str, found: Described) -> str:
    """The question about the bridge itself: its description replaced by its name ("What does Mount Kenya have
    permanently on its peaks?")."""
    lo, hi = found.span
    return f"{question[:lo]}{found.answer}{question[hi:]}"
