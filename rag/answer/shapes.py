"""The shape of a question decides the shape of its answer: a short phrase, a verdict with the facts that
decide it, a complete list, or a few explaining sentences.

Decided by rules, not by the model: the rules cost nothing, are the same on every back end, and a user
can read why a question got the shape it did. They were written against the tuning split of
`seeds/gold-shapes.jsonl` and `benchmarks/gold/squad13-twohop.jsonl`, the list rule also against
`benchmarks/gold/squad13-factoid-tune240.jsonl` (see the README's figures).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from rag.answer.citations.lexer import MARKER

Shape = Literal["factoid", "yesno", "comparison", "list", "why", "multipart"]
SHAPES: tuple[Shape, ...] = ("factoid", "yesno", "comparison", "list", "why", "multipart")

_AUX = (r"is|are|was|were|am|do|does|did|has|have|had|can|could|will|would|should|shall|may|might|must|"
        r"isn't|aren't|wasn't|weren't|don't|doesn't|didn't|hasn't|haven't|hadn't|can't|couldn't|won't|wouldn't")
_WH = r"who|whom|whose|what|when|where|which|why|how"
# "According to the article, ..." and similar lead-ins say nothing about the shape
_LEAD_IN = re.compile(rf"^(?:according to [^,]+,|in the (?:article|text|document|passage)s?,|based on [^,]+,|"
                      rf"(?:before|after|since|during|in|at|on|by|of|for|from|following|when|while|even though|"
                      rf"though|although|despite|unlike|as|if|once|given|with|without) [^,]{{2,60}},"
                      rf"(?=\s*(?:{_AUX}|{_WH})\b))\s*", re.IGNORECASE)
_YESNO = re.compile(rf"^(?:{_AUX})\b", re.IGNORECASE)
_CHOICE = re.compile(r"\b(?:\w[\w.'-]*)(?:\s+\w[\w.'-]*){0,5}\s*,?\s+or\s+(?:the\s+)?\w", re.IGNORECASE)
_COMPARATIVES = (r"first|earlier|later|last|older|younger|larger|smaller|bigger|longer|shorter|higher|lower|more|"
                 r"less|fewer|greater|most|least|better|worse|\w+er than")
_COMPARE_WORDS = re.compile(rf"\b(?:which|who|what)\b.*\b(?:{_COMPARATIVES})\b.*\bor\b|"
                            r"\bwhich of\b|\bcompare\b|\bdifference between\b", re.IGNORECASE)
# "Who was born first out of Heng Pov and Rajesh Bhola?", "Which is older between A and B?"
_BETWEEN = re.compile(rf"^(?:which|who|what)\b.*\b(?:{_COMPARATIVES})\b.*?\b(?:out of|between)\s+"
                      rf"(?P<a>[^,]+?)\s+and\s+(?P<b>[^,]+)$", re.IGNORECASE)
_WHY = re.compile(
    r"^(?:why\b|how(?!\s+(?:many|much|long|old|far|often|big|large|tall|few|early|late|soon|high|deep|wide)\b)\b|"
    r"describe\b|explain\b|summari[sz]e\b|in what ways?\b|"
    r"what (?:was|were|is|are) the (?:(?:main|primary|chief|key|principal|original) )?(?:reasons?|"
    r"purposes?|causes?|effects?|impacts?|significance|role|consequences?|goals?|aims?|results?|outcomes?|"
    r"advantages?|disadvantages?|benefits?|drawbacks?)\b|what role (?:did|does|do|has|have|had)\b|"
    r"what (?:happened|did \w+(?: \w+)? (?:say|said|tell|argue|warn|claim|explain))\b|for what reasons?\b)",
    re.IGNORECASE)
# A plural right after what/which asks for a list ("Which countries…"); one further on does not ("What type of
# lenses…", "What Doctor Who actress…"): on 240 more squad-dev-13 tune factoids, the wider rule read 30 as lists.
_LIST = re.compile(
    r"^(?:list\b|name (?:the|all|every|two|three|four|five|both)\b|(?:which|what) (?:two|three|four|five|six)\b|"
    r"(?:which|what) (?!was\b|does\b|has\b|is\b|this\b|his\b|its\b|us\b|status\b|news\b|"
    r"process\b|address\b|bus\b|gas\b)\w+(?<!ss)(?<!us)(?<!is)s\b|what (?:are|were) the \w+s\b|who (?:are|were)\b)",
    re.IGNORECASE)
_PARTS = re.compile(rf"(?:(?:,|;)\s+and\s+(?:\w+\s+){{0,2}}|\s+and\s+)(?:{_WH}|{_AUX})\b", re.IGNORECASE)


_PREPOSITIONS = "to|in|by|at|for|from|on|with|into|during"  # what leads into an option ("to Vienna")
_LEADS = rf"(?:(?:the|{_PREPOSITIONS})\s+)"
_OPTION_LEAD = re.compile(rf"^{_LEADS}+", re.IGNORECASE)
_PREP = re.compile(rf"({_PREPOSITIONS})\s+", re.IGNORECASE)
_SEPARATOR = re.compile(r"[,:](?=\s)")  # not the comma of "3,000"
_CLAUSE_VERB = re.compile(rf"\b(?:{_AUX}|{_WH})\b")  # case-sensitive: a title's "Was" or "Who" is capitalised
_PHRASE = re.compile(r"\s+(?:to|for|at|in|on|with|from|during|after|before|because|when|while)\s+", re.IGNORECASE)


@dataclass(frozen=True)
class QuestionShape:
    shape: Shape
    options: tuple[str, ...] = ()  # the alternatives of a choice question ("A or B"), when found

    @property
    def long(self) -> bool:
        """Shapes whose answer is more than one short phrase."""
        return self.shape != "factoid"


def _strip(question: str) -> str:
    q = " ".join(question.split())
    return _LEAD_IN.sub("", q).strip()


def choice_options(question: str) -> tuple[str, ...]:
    """"Who is older, Putin or Raisi?" -> ("Putin", "Raisi"): each option is searched for on its own."""
    q = _strip(question).rstrip("?").strip()
    if " or " not in q:
        return (m.group("a").strip(" ,"), m.group("b").strip(" ,")) if (m := _BETWEEN.search(q)) else ()
    left, right = q.rsplit(" or ", 1)
    # the alternatives follow the colon or comma that ends the question's own clause ("Which came first, X or
    # Y"): the first one after which no lower-case verb or question word comes, so that a title's own comma or
    # colon stays in its option ("The Adventures Of Priscilla, Queen Of The Desert", "Yohan: The Child Wanderer")
    marked = next((s.end() for s in _SEPARATOR.finditer(left) if len(left[s.end():].split()) <= 8
                   and not _CLAUSE_VERB.search(left[s.end():])), -1)
    if marked >= 0:
        a, b = left[marked:], " ".join(right.split()[:10])
        if _CLAUSE_VERB.match(b):  # "…, or would they vary": a second clause, not an option
            return ()
    else:  # the left option is taken as long as the right one ("Did Putin travel to Iran or to Turkey")
        right_words = _SEPARATOR.sub(" ", right).split()[:6]
        a, b = " ".join(left.split()[-max(1, len(right_words)):]), " ".join(right_words)
        # "was it trade or their security cooperation that was growing": the options are "trade" and "their
        # security cooperation", without the question's own verb
        a = re.sub(rf"^(?:(?:{_AUX})\s+(?:it|there)\s+|(?:{_AUX})\s+)", "", a.strip(), flags=re.IGNORECASE)
    b = re.split(r"\s+(?:that|which|who)\s+", b, maxsplit=1)[0]  # not the clause that follows the option
    if (m := _PREP.match(b)) and (at := left.lower().rfind(f" {m.group(1).lower()} ")) >= max(marked, 0):
        # "did Tesla move to Budapest or to Vienna to work at …": the options are parallel, "to Budapest"
        # and "to Vienna"; the right one ends where a further phrase of the question begins
        a = left[at + 1:]
        b = b[:m.end()] + _PHRASE.split(b[m.end():], maxsplit=1)[0]
    a, b = a.strip(" ,:"), b.strip(" ,:")
    return (a, b) if a and b and len(a.split()) <= 8 else ()


# A title-style question puts its topic first and asks in its last clause: "Body dysmorphic disorder: does it
# have a psychotic subtype?", "Juvenile ankylosing spondylitis--is it the same disease?", "Cold knife conization
# vs. LEEP. Are they the same procedure?"; or asks with a phrase that has no verb, "Rotator cuff tear--an
# occupational disease?", "Esophagogastric devascularization: safe and effective?" (is it?).
_TOPIC_BREAK = re.compile(r"(?:[:;]|--|\s[–—]|\.(?=\s+[A-Z]))\s*(?=\S)")  # a period only before a sentence
_ASKS = re.compile(rf"^(?:{_AUX}|{_WH})\b", re.IGNORECASE)


def _asked_clause(q: str) -> str | None:
    """What a question whose first words ask nothing asks: its last clause, read as a yes/no question when it
    has no question word or verb of its own."""
    if _ASKS.match(q) or not q.rstrip().endswith("?") or not (breaks := list(_TOPIC_BREAK.finditer(q))):
        return None
    clause = q[breaks[-1].end():].strip()
    if _ASKS.match(clause):
        return clause
    return None if re.search(rf"\b(?:{_WH})\b", q, re.IGNORECASE) else f"is it {clause}"


def classify(question: str) -> QuestionShape:
    q = _strip(question)
    if not q:
        return QuestionShape("factoid")
    if (asked := _asked_clause(q)) is not None:
        q = asked
    low = q.lower()
    n_questions = len([p for p in re.split(r"\?", q) if p.strip()])
    first = low.split()[0]
    if n_questions >= 2 or (_ASKS.match(low) and _PARTS.search(q)
                            and not _CHOICE.search(q)):
        return QuestionShape("multipart")
    between = _BETWEEN.search(q.rstrip("?").strip())
    if _COMPARE_WORDS.search(q) or between or (" or " in low and (first in _WH.split("|") or _YESNO.match(low))
                                    and _CHOICE.search(q) and not low.rstrip("?").endswith(" or not")):
        return QuestionShape("comparison", choice_options(q))
    if _YESNO.match(low):
        return QuestionShape("yesno")
    if _WHY.match(low):
        return QuestionShape("why")
    if _LIST.match(low):
        return QuestionShape("list")
    return QuestionShape("factoid")


_MARKERS = re.compile(r"\s*" + MARKER.pattern)  # a marker with the space before it
_VERDICT = re.compile(r"^\W*(yes|no)\b", re.IGNORECASE)
_CHOICE_END = re.compile(r",|;|:|\.(?:\s|$)|\s(?:because|since|as|while|whereas|who|which|than|with)\s", re.IGNORECASE)


# the clause that states the choice after the facts that decide it: the last ", so" or "therefore"
_SO = r"(?:,\s*|;\s*|\.\s+|\band\s+)(?:so|therefore|thus|hence)\b"
_CONCLUSION = re.compile(rf"{_SO},?\s+(?!.*{_SO})", re.IGNORECASE)


def verdict(answer: str) -> str | None:
    """The yes/no verdict the reply opens with ("yes" for "Yes, there is an association [1]."), if any."""
    m = _VERDICT.match(strip_markers(answer))
    return m.group(1).lower() if m else None


def opens_with_verdict(answer: str) -> bool:
    """The reply gives a yes/no verdict first ("Yes, there is an association [1].")."""
    return verdict(answer) is not None


def strip_markers(answer: str) -> str:
    """The answer's text without its [n] markers."""
    return _MARKERS.sub("", answer).strip()


def short_answer(shape: str, answer: str, options: tuple[str, ...] = ()) -> str:
    """The verdict or chosen option alone: what a yes/no or choice question is scored on. A choice answer that
    opens with one of the question's `options` ("Cryptophyte chloroplasts have more membranes") is that
    option; otherwise its first clause."""
    text = strip_markers(answer)
    if shape in ("yesno", "comparison") and (said := verdict(text)):
        return said
    if shape == "comparison" and (m := _CONCLUSION.search(text)) and (
            named := _option_named(text[m.end():], options)):
        return named  # "Marie was born in 1867 and Pierre in 1859, so Pierre was born first"
    if shape == "comparison" and (named := _option_named(text, options)):
        return named
    if shape == "comparison":
        m = _CHOICE_END.search(text)
        return (text[:m.start()] if m else text).strip().rstrip(".")
    return text.rstrip(".").strip() if shape in ("factoid", "list") else text


def bare_option(option: str) -> str:
    """The option without the words that lead into it: "to Vienna" -> "Vienna", "the Ocean of Storms" ->
    "Ocean of Storms"."""
    return _OPTION_LEAD.sub("", option.strip()) or option.strip()


def _option_named(text: str, options: tuple[str, ...]) -> str | None:
    """The longest option the answer opens with, as the answer writes it (with or without "the", "to" …)."""
    end = 0
    for o in options:
        bare = bare_option(o)
        if not re.search(r"\w", bare) or bare.lower() in ("the", "a", "an"):
            continue
        # matched on the text itself, not a lower-cased copy, whose offsets can differ ("İ" lower-cases to two)
        if m := re.match(rf"{_LEADS}*{re.escape(bare)}(?![\w'’])", text, re.IGNORECASE):
            end = max(end, m.end())
    return text[:end] if end else None
