"""The names and numbers a question hinges on, and which of them the retrieved passages never mention.

An adversarial question keeps its article's words but changes one thing: "Who first played the Master in
the 2017 series?" where the article stops in 2014, "What weapon does Lenny Henry use against a Dalek?"
where no Lenny Henry appears. Such a question's passages mention everything but that one name or number,
so word coverage stays high and the model often answers anyway. A name or number missing from every
retrieved passage is strong evidence, and cheap to find. Measured on the tuning split only (see README).
"""

from __future__ import annotations

import re

_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?![\w])")
_WORD = re.compile(r"[A-Za-z][A-Za-z&'’.-]*")
# capitalised words that are not names: question and auxiliary words, imperatives, lead-ins
_NOT_NAMES = frozenset("""
what who whom whose when where which why how whether is are was were am do does did has have had can could
will would shall should may might must the a an in on at of for to by and or but from with as into during
before after since until while according following describe explain name list summarise summarize give tell
compare if this that these those there here it its i
""".split())


def key_terms(question: str) -> list[tuple[str, ...]]:
    """Numbers, and names (runs of capitalised words, each run a tuple of its words), in question order."""
    terms: list[tuple[str, ...]] = [(m.group(0).replace(",", ""),) for m in _NUMBER.finditer(question)]
    run: list[str] = []
    for i, m in enumerate(_WORD.finditer(question)):
        word = re.sub(r"['’]s$", "", m.group(0)).strip(".'’-")
        named = bool(word) and word[0].isupper() and word.lower() not in _NOT_NAMES and i > 0
        if named:
            run.append(word)
            continue
        if run:
            terms.append(tuple(run))
            run = []
    if run:
        terms.append(tuple(run))
    return terms


# A name's word is also mentioned by its plural or its demonym ("Hindus"/"Hindu", "Turkish"/"Turkey",
# "Iranian"/"Iran"): both sides lose one of these endings and meet at a root of 4+ letters. Hand-written
# because no installed package maps demonyms; "Austria"/"Australia" stay apart (roots "austr"/"austral").
_ENDINGS = ("ians", "ian", "ans", "an", "ish", "ese", "ia", "ey", "es", "s", "y", "a", "n")
_ROOT_MIN = 4


def _roots(word: str) -> set[str]:
    return {word} | {word[:-len(e)] for e in _ENDINGS if word.endswith(e) and len(word) - len(e) >= _ROOT_MIN}


def _acronym_found(term: tuple[str, ...], words: list[str], text: str) -> bool:
    """"United States" is mentioned by "US" or "U.S."; "NATO" by "North Atlantic Treaty Organization"."""
    if len(words) >= 2:
        dotted = r"\.?".join(w[0].upper() for w in words)
        return re.search(rf"(?<!\w){dotted}\.?(?!\w)", text) is not None
    word = term[0] if len(term) == 1 else ""
    if 2 <= len(word) <= 5 and word.isupper() and word.isalpha():
        spelled = r"\s+(?:(?:of|the|and|for)\s+)*".join(rf"{c}[a-z]+" for c in word)
        return re.search(rf"(?<!\w){spelled}(?!\w)", text) is not None
    return False


def missing_terms(question: str, texts: list[str]) -> list[str]:
    """The key terms none of the texts mention: a number by itself, a name when none of its words appear
    ("Nikola Tesla" is found where the passages say only "Tesla"), in any of the forms `_roots` and
    `_acronym_found` allow."""
    text = " ".join(texts)
    haystack = text.lower().replace(",", "")
    roots = set().union(*(_roots(w) for w in set(re.findall(r"[a-z]+", haystack))))
    out = []
    for term in key_terms(question):
        words = [w.lower() for part in term for w in part.split("-") if w]
        if not words or any(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", haystack) for w in words):
            continue
        number = term[0][0].isdigit()  # a number is found only as itself
        if number or not (any(_roots(w) & roots for w in words if w.isalpha())
                          or _acronym_found(term, words, text)):
            out.append(" ".join(term))
    return out
