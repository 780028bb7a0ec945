"""The names and numbers a question hinges on, and which of them the retrieved passages never mention.

An adversarial question keeps its article's words but changes one thing: "Who first played the Master in
the 2017 series?" where the article stops in 2014, "What weapon does Lenny Henry use against a Dalek?"
where no Lenny Henry appears. Such a question's passages mention everything but that one name or number,
so word coverage stays high and the model often answers anyway. A name or number missing from every
retrieved passage is strong evidence, and cheap to find. Measured on the tuning split only (see README).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from rag.text.words import STOPWORDS

if TYPE_CHECKING:
    from rag.types import Passage

_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?![\w])")
_DOTTED = re.compile(r"(?:[A-Z]\.){2,}")  # an acronym written with dots: "U.S.", "U.K.", "U.S.S.R."
_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|[&'’.-])*")  # letters of any script: "Temüjin" is one word
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
# "Iranian"/"Iran", "Chinese"/"China"): one side is a root of 4+ letters with a place ending, the other the
# same root with a demonym or plural ending. Hand-written because no installed package maps demonyms. Pairs
# that only add "a" or "ia" stay apart, because an adversarial question swaps exactly such neighbours:
# "Niger"/"Nigeria", "Victor"/"Victoria", "Paul"/"Paula", "Austria"/"Australia".
_PLACE_ENDINGS = ("", "a", "y", "ey", "ain", "en", "e")
_DEMONYM_ENDINGS = ("n", "an", "ian", "i", "ish", "ese", "s", "es")
_ENDINGS = frozenset({*_PLACE_ENDINGS, *_DEMONYM_ENDINGS})
_ROOT_MIN = 4


def _forms(word: str) -> set[tuple[str, str]]:
    """(root, ending) readings of a word; the whole word is the root with ending ""."""
    return {(word[:len(word) - len(e)], e) for e in _ENDINGS
            if word.endswith(e) and len(word) - len(e) >= _ROOT_MIN}


def _same_name(a: str, b: str) -> bool:
    """Whether two words are one name as place and demonym, or as singular and plural."""
    for root, end in _forms(a):
        for other_root, other_end in _forms(b):
            if root != other_root:
                continue
            pair = {end, other_end}
            if (end in _PLACE_ENDINGS and other_end in _DEMONYM_ENDINGS
                    or other_end in _PLACE_ENDINGS and end in _DEMONYM_ENDINGS or pair == {"y", ""}):
                return True  # "y"/"": "Germany"/"German"
    return False


# Two-letter acronyms are read only from this list, spelled out only as these names: "IS" is usually a word,
# "J.S." someone else's initials, "Upper Nile" not the UN.
_TWO_LETTER_ACRONYMS = {"US": "united states", "UK": "united kingdom", "UN": "united nations",
                        "EU": "european union"}


def _dotted(initials: str) -> str:
    """The pattern of an acronym written with dots: "US" as "U.S."."""
    return r"\.".join(initials) + r"\."


def _acronym_found(term: tuple[str, ...], words: list[str], text: str) -> bool:
    """"United States" is mentioned by "US" or "U.S."; "NATO" by "North Atlantic Treaty Organization"."""
    if len(words) >= 2:
        initials = "".join(w[0].upper() for w in words)
        if not initials.isalpha():
            return False
        if len(initials) == 2 and initials not in _TWO_LETTER_ACRONYMS:
            return False  # "John Smith" is not "J.S."
        return re.search(rf"(?<!\w)(?:{_dotted(initials)}|{initials})(?!\w)", text) is not None
    word = term[0] if len(term) == 1 else ""
    if _DOTTED.fullmatch(word + "."):  # "U.S." (read as "U.S") is spelled out as "US" is; as written it is found
        word = word.replace(".", "")  # by the plain search, which a rewrite to "US" would lose to the pronoun "us"
    if word in _TWO_LETTER_ACRONYMS:  # "US" is also written "U.S."
        return (re.search(rf"(?<!\w){_dotted(word)}", text) is not None
                or re.search(rf"(?<!\w){_TWO_LETTER_ACRONYMS[word]}(?!\w)", text.lower()) is not None)
    if re.fullmatch(r"[A-Z](?:&[A-Z])+", word):  # "V&A" is "Victoria and Albert", not "Vladimir Antonov"
        spelled = r"\s+(?:and|&)\s+".join(rf"{c}[a-z]+" for c in word.split("&"))
    elif 3 <= len(word) <= 5 and word.isupper() and word.isalpha():
        spelled = r"\s+(?:(?:of|the|and|for)\s+)*".join(rf"{c}[a-z]+" for c in word)
    else:
        return False
    return re.search(rf"(?<!\w){spelled}(?!\w)", text) is not None


def _words(term: Sequence[str]) -> list[str]:
    """A term's words as they are searched for: lower-case, hyphenated parts apart ("Super Bowl-related")."""
    return [w.lower() for part in term for w in part.split("-") if w]


def _haystack(text: str) -> str:
    """Text as a term is searched in: lower-case, without thousands commas ("2,016" says "2016")."""
    return text.lower().replace(",", "")


def _says(haystack: str, word: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", haystack) is not None


def _word_like(term: tuple[str, ...]) -> bool:
    """An acronym that is also a common word in lower case ("US", "IT"): found only as written, so that the
    pronoun "us" does not mention the United States."""
    return len(term) == 1 and term[0].isupper() and term[0].isalpha() and term[0].lower() in STOPWORDS


def missing_terms(question: str, texts: list[str], titles: Sequence[str] = ()) -> list[str]:
    """The key terms none of the texts mention: a number by itself, a name when none of its words appear
    ("Nikola Tesla" is found where the passages say only "Tesla"), in any of the forms `_same_name` and
    `_acronym_found` allow. An acronym may also be spelled out in the titles of the texts' documents: the
    Victoria and Albert Museum's article says "the museum" where a question says "the V&A". Only an acronym:
    a news headline names everyone in the story, and a name from it is no evidence about a passage."""
    text = " ".join(texts)
    haystack = _haystack(text)
    passage_words: set[str] | None = None  # built only when a term is not found as itself
    out = []
    for term in key_terms(question):
        words = _words(term)
        if not words or (_says(text, term[0]) if _word_like(term) else any(_says(haystack, w) for w in words)):
            continue
        if term[0][0].isdigit():  # a number is found only as itself
            out.append(" ".join(term))
            continue
        if passage_words is None:
            passage_words = {w for w in re.findall(r"\w+", haystack) if w.isalpha()}
        if not (any(_same_name(w, p) for w in words if w.isalpha() for p in passage_words if p[:3] == w[:3])
                or any(_acronym_found(term, words, t) for t in (text, *titles))):
            out.append(" ".join(term))
    return out


def missing_from(question: str, passages: Sequence[Passage]) -> list[str]:
    """`missing_terms` of retrieved passages, their documents' titles read for acronyms."""
    titles = dict.fromkeys(p.chunk.title for p in passages if p.chunk.title)  # passages often share one
    return missing_terms(question, [p.chunk.text for p in passages], list(titles))


def _titled(term: str, titles: Sequence[str]) -> bool:
    """Every word of the term is in one of the titles, matched as `missing_terms` matches a passage."""
    words = _words(term.split())
    return any(all(_says(_haystack(t), w) for w in words) for t in titles)


def _names_title(text: str, title: str) -> bool:
    """The text names a document by its title as written, without a parenthesised qualifier ("Frozen (2010
    American film)" is named "Frozen")."""
    name = re.sub(r"\s*\([^)]*\)\s*$", "", title).strip()
    return bool(name) and re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text) is not None


def unstated_terms(question: str, cited: Sequence[Passage], context: Sequence[Passage],
                   paragraphs: Callable[[], Sequence[str]] | None = None,
                   retrieved: Sequence[Passage] = ()) -> list[str]:
    """The key terms an answer's cited passages never state: "Which cathedral is located in Jesmond?" answered
    from "the Coptic Cathedral located in Fenham". A term stays stated when every word of it is in the title of
    a cited passage's document (the passage is about "Nikola Tesla" where it says "he"), when `paragraphs` (the
    cited passages' paragraphs in their documents, read only when a term is missing) mention it: context
    assembly keeps a paragraph's best sentences, and "in 1966" may sit in the one before; or when a context
    passage from another document mentions it as `missing_terms` reads a mention (one word of a name is
    enough): a bridge question's first fact lives in another article. A retrieved passage outside the context
    counts too when it names a cited document by its title: "the author of The Canon of Medicine" is stated by
    a passage saying Avicenna wrote it, when the answer cites Avicenna's article."""
    cited_docs = {p.chunk.doc_id for p in cited}
    titles = list(dict.fromkeys(p.chunk.title for p in cited if p.chunk.title))
    missing = [t for t in missing_terms(question, [p.chunk.text for p in cited], titles) if not _titled(t, titles)]
    if missing and paragraphs is not None and (around := [t for t in paragraphs() if t]):
        unsaid_around = set(missing_terms(question, list(around), titles))
        missing = [t for t in missing if t in unsaid_around]
    others = [p for p in context if p.chunk.doc_id not in cited_docs]
    if missing and others:
        unsaid = set(missing_from(question, others))
        missing = [t for t in missing if t in unsaid]
    bridges = [p for p in retrieved if p.chunk.doc_id not in cited_docs and p not in context
               and any(_names_title(p.chunk.text, t) for t in titles)] if missing else []
    if bridges:
        unsaid = set(missing_from(question, bridges))
        missing = [t for t in missing if t in unsaid]
    return missing


_OPTION_LEAD = re.compile(r"^(?:(?:by|in|at|on|to|from|for|with|of|the|a|an)\s+)+", re.IGNORECASE)  # "by X"


def unchosen_options(missing: Sequence[str], options: Sequence[str]) -> list[str]:
    """The missing terms that only name an option of a choice question whose other option the passages do
    name: "Richard Leakey or Donald Johanson?" over passages that say Leakey found it. The option the text
    does not mention is the wrong one, not a sign that the passages miss what is asked. Only names: a number
    inside an "option" is more often a misread question ("used Welsh primarily or exclusively in 1998/99?")
    than a choice of years, and a year the passages never give stays missing."""
    def names(term: str, option: str) -> bool:
        return re.search(rf"(?<!\w){re.escape(term.lower())}(?!\w)", option.lower()) is not None

    def is_option(term: str, option: str) -> bool:
        """The option is the name itself ("by Donald Johanson"), not a misread phrase around it ("Lenny Henry
        win" in "Did Lenny Henry win or lose the match?"), whose name is what the question is about."""
        return _OPTION_LEAD.sub("", option).strip(" ,.;:").lower() == term.lower()

    found = [o for o in options if not any(names(t, o) for t in missing)]
    if not found or len(found) == len(options):
        return []
    return [t for t in missing if not t[:1].isdigit() and any(is_option(t, o) for o in options if o not in found)]
