"""The verdict of a yes/no question, read from the sentence of the passages that decides it.

The default 1.5B model cannot be trusted with the verdict: on the tuning split its first-token P("Yes")
was no higher on questions whose answer is yes than on those whose answer is no (README, "Answer
shapes"), and writing the fact before the verdict did not help. A "no" question written against a text
almost always keeps the text's words and changes one thing: a name ("greeted by Raisi" where the
passage says "welcomed by Javad Owji"), a number or ordinal ("the first summit" where it says "the
seventh"), or a relation ("before" where it says "after"). That change is visible by reading: the
sentence that matches the rest of the question states something else in its place.

So the verdict is "no" when the deciding sentence states a different name, number or relation than the
question, "yes" or "no" when the years the passages give settle a "before"/"after" question, and left to
the model otherwise. The
sentence itself becomes the answer's cited fact, quoted from the passage: grounded by construction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from rag.answer.rules.key_terms import key_terms
from rag.text.words import content_word_list, content_words, sentence_spans
from rag.types import Passage

# a question's relation word and the words a passage would use to state the opposite
_OPPOSITES: dict[str, frozenset[str]] = {k: frozenset(v.split()) for k, v in {
    "before": "after later following since", "after": "before earlier prior",
    "earlier": "after later", "later": "before earlier",
    "first": "second third fourth fifth sixth seventh eighth ninth tenth last",
    "last": "first", "more": "less fewer", "less": "more", "fewer": "more",
    "increase": "decrease fall fell drop dropped", "increased": "decreased fell dropped declined",
    "single": "separate two", "joint": "separate", "same": "different separate", "different": "same",
    "won": "lost", "lost": "won", "supported": "opposed", "opposed": "supported", "support": "oppose",
    "larger": "smaller", "smaller": "larger", "older": "younger", "younger": "older",
    "north": "south", "south": "north", "east": "west", "west": "east",
}.items()}
_WHEN = re.compile(r"\b(before|after|earlier than|later than|(?:in )?the same year (?:as|that))\b", re.IGNORECASE)
_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")
_ORDINALS = frozenset("first second third fourth fifth sixth seventh eighth ninth tenth".split())
_WORDS = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class Verdict:
    answer: Literal["yes", "no"] | None  # None: the text does not decide it; the model's verdict stands
    passage: int  # index into the passages of the deciding sentence
    span: tuple[int, int]  # its offsets in that passage's chunk text
    overlap: float  # share of the question's content words the sentence holds
    reason: str  # what decided it, for the log and the eval rows
    other: tuple[int, tuple[int, int]] | None = None  # a second deciding sentence (the other side's year)


def _names(text: str) -> set[str]:
    return {w.lower() for term in key_terms(text) for part in term for w in part.split("-") if w}


def _new_names(sentence: set[str], question: str) -> list[str]:
    """Names the sentence has that the question does not, counting "Iranian" as the question's "Iran"."""
    asked = _names(question) | set(_WORDS.findall(question.lower()))
    return sorted(n for n in sentence - asked if not any(n[:4] == a[:4] for a in asked if len(a) >= 4))


def _best_sentence(question: str, passages: list[Passage]) -> tuple[int, tuple[int, int], float] | None:
    wanted = content_words(question)
    if not wanted:
        return None
    best: tuple[float, int, tuple[int, int]] | None = None
    for i, p in enumerate(passages):
        text = p.chunk.text
        spans = sentence_spans(text) or [(0, len(text))]
        for j, (s, e) in enumerate(spans):
            # a sentence, or a sentence with the next one when the fact runs across two and no line break lies
            # between them (a pair must hold more of the question than either sentence alone to be chosen); not
            # a title or heading line with the sentence after it, whose quote would read "Martin Luther\n\nDespite
            # ...". A hard-wrapped text whose sentence ends at a line's end is not paired either.
            paired = j + 1 < len(spans) and "\n" not in text[e:spans[j + 1][0]]
            windows = [(s, e, 0.0)] + ([(s, spans[j + 1][1], 0.05)] if paired else [])
            for lo, hi, penalty in windows:
                words = content_words(text[lo:hi])
                score = len(wanted & words) / len(wanted) - penalty
                if best is None or score > best[0]:
                    best = (score, i, (lo, hi))
    if best is None:
        return None
    return best[1], best[2], best[0]


def _year_of(part: str, passages: list[Passage],
             predicate: frozenset[str] = frozenset()) -> tuple[int, int, tuple[int, int], float] | None:
    """The year the passages give for one side of a "did A happen before B" question, with where it is.
    `predicate`: what happened, when the side is only a name ("Which was lit first, Mosley Street or the Lit &
    Phil?"): of the sentences that name the side, one that also says what happened wins, and of its years the
    one nearest those words ("Operating since 1793, ... the first to be lit by electric light ... in 1880")."""
    found = _best_sentence(part, passages)
    if found is None:
        return None
    i, (lo, hi), overlap = found
    if predicate:
        i, (lo, hi), overlap = max(_sides(part, passages, overlap), default=(i, (lo, hi), overlap),
                                   key=lambda c: c[2] + _PREDICATE_WEIGHT * _share(predicate, c, passages))
    text = passages[i].chunk.text[lo:hi]
    years = list(_YEAR.finditer(text))
    if not years or overlap < 0.5:
        return None
    year = years[0]
    if predicate and len(years) > 1:
        said = [w.start() for w in _WORDS.finditer(text.lower()) if content_words(w.group(0)) & predicate]
        if said:
            year = min(years, key=lambda y: min(abs(y.start() - at) for at in said))
    return int(year.group(0)), i, (lo, hi), overlap


_PREDICATE_WEIGHT = 0.5  # set by hand: naming the side counts twice as much as saying what happened


def _sides(part: str, passages: list[Passage], least: float) -> list[tuple[int, tuple[int, int], float]]:
    """Each sentence with a year that names as much of `part` as the best sentence does (`least`), and at
    least half of it: (passage, span, share of `part`)."""
    wanted = content_words(part)
    names = {w.lower() for w in re.findall(r"\b[A-Z][a-z]+", part)}  # "Martin Luther": both, not "Martin Sekulić"
    out = []
    for i, p in enumerate(passages):
        text = p.chunk.text
        for lo, hi in sentence_spans(text) or [(0, len(text))]:
            words = content_words(text[lo:hi])
            share = len(wanted & words) / len(wanted) if wanted else 0.0
            if (share >= max(0.5, least - 1e-9) and _YEAR.search(text[lo:hi])
                    and names <= set(_WORDS.findall(text[lo:hi].lower()))):
                out.append((i, (lo, hi), share))
    return out


def _share(predicate: frozenset[str], side: tuple[int, tuple[int, int], float], passages: list[Passage]) -> float:
    i, (lo, hi), _ = side
    return len(predicate & content_words(passages[i].chunk.text[lo:hi])) / len(predicate)


def _timeline(question: str, passages: list[Passage]) -> Verdict | None:
    """"Did A happen before B?": the year the passages give each side, compared. Two passages are usually
    needed, one for each side; the model, reading both, was right on fewer than half of these (tuning)."""
    m = _WHEN.search(question)
    if not m:
        return None
    left, right = question[:m.start()], question[m.end():]
    a, b = _year_of(left, passages), _year_of(right, passages)
    if a is None or b is None or (a[1], a[2]) == (b[1], b[2]) or _YEAR.search(question):
        return None
    word = m.group(1).lower()
    holds = {"before": a[0] < b[0], "earlier than": a[0] < b[0], "after": a[0] > b[0],
             "later than": a[0] > b[0]}.get(word, a[0] == b[0])
    return Verdict("yes" if holds else "no", a[1], a[2], round(min(a[3], b[3]), 3),
                   f"{a[0]} {word} {b[0]}", other=(b[1], b[2]))


def decide(question: str, passages: list[Passage], min_overlap: float = 0.3,
           substitution_overlap: float = 0.55) -> Verdict | None:
    """The deciding sentence of the passages and, when the text settles it, the verdict."""
    found = _best_sentence(question, passages)
    if found is None:
        return None
    i, (lo, hi), overlap = found
    sentence = passages[i].chunk.text[lo:hi]
    low_q, low_s = question.lower(), sentence.lower()
    q_words, s_words = set(_WORDS.findall(low_q)), set(_WORDS.findall(low_s))

    def verdict(answer: Literal["yes", "no"] | None, reason: str) -> Verdict:
        return Verdict(answer, i, (lo, hi), round(overlap, 3), reason)

    if (when := _timeline(question, passages)) is not None:
        return when
    if overlap < min_overlap:
        return verdict(None, "no sentence holds the question")
    for word, opposite in _OPPOSITES.items():
        if word in q_words and word not in s_words and (said := sorted(opposite & s_words - q_words)):
            return verdict("no", f"{word} / {said[0]}")
    s_names = _names(sentence)
    # a number that is part of a name ("Super Bowl 50", "Apollo 11") says which thing is meant, not a fact
    # about it: a sentence about that thing may not repeat it
    q_numbers = set(re.findall(r"\d+", question)) - _name_numbers(question, sentence)
    q_numbers |= q_words & _ORDINALS
    s_numbers = set(re.findall(r"\d+", low_s)) | (s_words & _ORDINALS)
    missing_names = [t for t in key_terms(question) if t[0][:1].isupper()
                     and not any(w.lower() in s_words or w.lower() in s_names for part in t for w in part.split("-"))]
    if overlap < substitution_overlap:
        # the sentence holds too little of the question to say it states something else in its place
        return verdict(None, "the sentence holds only part of the question")
    if missing_names and (new := _new_names(s_names, question)):
        return verdict("no", f"{' '.join(missing_names[0])} / {new[0]}")
    if q_numbers - s_numbers and s_numbers - q_numbers:
        return verdict("no", f"{sorted(q_numbers - s_numbers)[0]} / {sorted(s_numbers - q_numbers)[0]}")
    if (other := _clause_number(question, sentence, q_numbers)) is not None:
        return verdict("no", other)
    # No "yes" by the same reading: a sentence holding every name of the question can still state another
    # role or relation ("welcomed by the oil minister" for "by the president"); on the tuning split such a
    # rule was right 2 times in 4. The model's verdict stands.
    return verdict(None, "the sentence states nothing else in the question's place")


# the 50 of "Super Bowl 50"; not of "In 1508" (the question's first word), "May 1508" or a score ("Panthers 17-10")
_NAME_NUMBER = re.compile(r"(?<=\w )([A-Z][\w'-]*) (\d+)\b(?![-–])")
_MONTHS = frozenset("january february march april may june july august september october november december "
                    "jan feb mar apr jun jul aug sep sept oct nov dec".split())


def _name_numbers(question: str, sentence: str) -> set[str]:
    """The question's numbers that are part of a name, unless the sentence gives the same name another number
    ("Super Bowl 49?" against "Super Bowl 50" stays a different number: a no)."""
    out = set()
    for m in _NAME_NUMBER.finditer(question):
        word, number = m.group(1), m.group(2)
        if word.lower() in _MONTHS:
            continue
        given = set(re.findall(rf"\b{re.escape(word)} (\d+)\b", sentence))
        if not given - {number}:
            out.add(number)
    return out


_CLAUSES = re.compile(r",\s+(?:and|but|while|whereas)\s+|;\s*", re.IGNORECASE)


def _clause_number(question: str, sentence: str, q_numbers: set[str]) -> str | None:
    """"Was Luther ordained in 1508?" against "In 1507, he was ordained to the priesthood, and in 1508, von
    Staupitz sent for him": the sentence names both years, but the clause that holds the rest of the question
    gives another. Returns "1508 / 1507" when so; None when the clause holds the question's number, or when no
    one clause holds more of the question than the others."""
    numbers = {n for n in q_numbers if _YEAR.fullmatch(n)}  # years: a day or a count in the clause is no answer
    clauses = [c for c in _CLAUSES.split(sentence) if c.strip()]
    if not numbers or len(clauses) < 2:
        return None
    wanted = {w for w in content_words(question) if not w.isdigit()}
    scored = sorted(((len(wanted & content_words(c)), c) for c in clauses), key=lambda sc: -sc[0])
    (best, clause), runner_up = scored[0], scored[1][0]
    if best < 2 or best == runner_up:
        return None
    said = set(_YEAR.findall(clause))
    if numbers & said or not said:
        return None
    return f"{sorted(numbers)[0]} / {sorted(said)[0]}"


@dataclass(frozen=True)
class Choice:
    option: str  # as the question names it
    passage: int
    span: tuple[int, int]
    reason: str
    other: tuple[int, tuple[int, int]] | None = None


_EARLIER = re.compile(r"\b(first|earlier|earliest|older|oldest|before)\b", re.IGNORECASE)
_LATER = re.compile(r"\b(later|last|latest|younger|youngest|more recent|most recent|after)\b", re.IGNORECASE)


def choose(question: str, options: tuple[str, ...], passages: list[Passage], min_overlap: float = 0.5,
           min_margin: float = 0.2) -> Choice | None:
    """The option of a choice question the passages settle. "Which came first, A or B?": the years the
    passages give each. "Which leader hosted Putin at the palace, Khamenei or Raisi?": the option that
    appears in the sentence holding most of the rest of the question. None when neither settles it."""
    if len(options) != 2:
        return None
    if _EARLIER.search(question) or _LATER.search(question):
        said = question
        for o in options:
            said = said.replace(o, " ")
        predicate = frozenset(content_words(_EARLIER.sub(" ", _LATER.sub(" ", re.sub(r"\bor\b", " ", said)))))
        years = [_year_of(o, passages, predicate) for o in options]
        a, b = years
        if a is not None and b is not None and a[0] != b[0] and not _YEAR.search(question):
            pick = 0 if (a[0] < b[0]) == bool(_EARLIER.search(question)) else 1
            chosen, other = years[pick], years[1 - pick]
            assert chosen is not None and other is not None
            return Choice(options[pick], chosen[1], chosen[2], f"{a[0]} / {b[0]}", other=(other[1], other[2]))
    rest = question
    for o in options:
        rest = rest.replace(o, " ")
    wanted = content_words(re.sub(r"\bor\b", " ", rest))
    if not wanted:
        return None
    heads = _heads(options)
    measured = bool(_MEASURE.search(question))  # "which holds more": the numbers decide, not the clauses
    sentences = []  # (passage, span, content words, the option its clauses pick when it names both, or None)
    for i, p in enumerate(passages):
        text = p.chunk.text
        for lo, hi in sentence_spans(text) or [(0, len(text))]:
            words = content_words(text[lo:hi])
            named_by_head = not measured and any(h and h in words for h in heads)
            sentences.append((i, (lo, hi), words, _clause_pick(text[lo:hi], heads, wanted) if named_by_head else None))
    scored = []
    for k, o in enumerate(options):
        need = content_words(o)
        others = [content_words(x) - need for x in options if x != o]
        best: tuple[float, int, tuple[int, int]] = (0.0, -1, (0, 0))
        for i, span, words, by_clause in sentences:
            named = bool(need) and need <= words
            both = heads[1 - k] in words and (named or heads[k] in words)
            # a sentence naming both options can tell them apart by its clauses: "trade … was growing at record
            # rates and that their cooperation on security was deepening"
            if by_clause is not None and both:
                if by_clause != k:
                    continue
            elif not named or any(ow and ow <= words for ow in others):
                continue  # not named here, or both named in full: the sentence does not tell them apart
            score = len(wanted & words) / len(wanted)
            if score > best[0]:
                best = (score, i, span)
        scored.append(best)
    (sa, ia, spa), (sb, ib, spb) = scored
    if max(sa, sb) < min_overlap or abs(sa - sb) < min_margin:
        return None
    pick = 0 if sa > sb else 1
    s, i, span = scored[pick]
    return Choice(options[pick], i, span, f"{options[pick]} {s:.2f} / {options[1 - pick]} {scored[1 - pick][0]:.2f}")


# where a sentence's clauses part: ", and", ", while", "; ", " and that" ("trade was growing, and that their
# cooperation was deepening"), " whereas"
_CHOICE_CLAUSES = re.compile(r",\s+(?:and|but|while|whereas)\s+|;\s*|\s+and that\s+|\s+(?:while|whereas)\s+",
                             re.IGNORECASE)

_MEASURE = re.compile(r"\b(?:more|most|less|least|fewer|fewest|\w{3,}er than|larger|largest|smaller|smallest|higher|"
                      r"highest|lower|lowest|greater|bigger|heavier|lighter|longer|shorter|taller|older|younger|"
                      r"better|worse|earlier|later|first|last)\b", re.IGNORECASE)


def _heads(options: tuple[str, ...]) -> list[str | None]:
    """Each option's last word that the other option lacks, as a content word: "Russia-Iran trade" -> "trade",
    "Iran's oil minister" -> "oil" (beside "its foreign minister"). A sentence can name an option by it alone."""
    out: list[str | None] = []
    for k, o in enumerate(options):
        other = set().union(*(content_words(x) for j, x in enumerate(options) if j != k))
        out.append(next((w for w in reversed(content_word_list(o)) if w not in other), None))
    return out


def _clause_pick(sentence: str, heads: list[str | None], wanted: set[str], min_words: int = 2) -> int | None:
    """In a sentence naming both options, the option whose clause holds the question's other words: the index
    of the one named alone in the clause holding the most of them (at least `min_words`, and more than any
    clause naming the other), or None when the clauses do not tell them apart."""
    best: dict[int, int] = {}
    for clause in _CHOICE_CLAUSES.split(sentence):
        words = content_words(clause)
        named = [k for k, h in enumerate(heads) if h and h in words]
        if len(named) == 1:
            best[named[0]] = max(best.get(named[0], 0), len(wanted & words))
    if not best:
        return None
    k, n = max(best.items(), key=lambda kv: kv[1])
    if n < min_words or any(m >= n for j, m in best.items() if j != k):
        return None
    return k
