"""Question shapes decide the answer's form; the short answer is what a verdict or choice is scored on."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rag.answer.rules.hops import bridge_names, merge, option_queries
from rag.answer.shapes import classify, short_answer
from rag.types import Chunk, Passage, word_pieces


@pytest.mark.parametrize(("question", "shape"), [
    ("Who welcomed Putin at the airport?", "factoid"),
    ("How many times had Putin visited Iran?", "factoid"),
    ("Was Putin greeted at Mehrabad airport by President Ebrahim Raisi?", "yesno"),
    ("Before this trip, had Putin already visited Iran more than three times?", "yesno"),
    ("Did both Raisi and Putin caution Turkey against a new offensive?", "yesno"),
    ("Is Tesla older than Edison?", "yesno"),
    ("Who is older, Putin or Raisi?", "comparison"),
    ("Who was born first out of Heng Pov and Rajesh Bhola?", "comparison"),
    ("What is the difference between a chloroplast and a mitochondrion?", "comparison"),
    ("Which Iranian leader hosted Putin at the Saadabad Palace, Khamenei or Raisi?", "comparison"),
    ("Which came first: Biden's tour or Putin's visit?", "comparison"),
    ("Did Putin travel first to Iran or to Tajikistan?", "comparison"),
    ("Name the three leaders Putin held talks with.", "list"),
    ("Which countries did Joe Biden tour the week before the visit?", "list"),
    ("What pigments do rhodoplasts have?", "list"),
    # a plural further on does not make a list question: its answer is one thing more often than not
    ("What type of lenses were needed to see the 3D effects?", "factoid"),
    ("What Doctor Who actress was nominated for an award in 2016?", "factoid"),
    ("Why did Khamenei want to stop using the dollar?", "why"),
    ("How did Khamenei justify Russia's actions in Ukraine?", "why"),
    ("Describe the energy agreement.", "why"),
    ("What role did Raisi play in the talks?", "why"),
    ("What was the original purpose of the summit?", "why"),
    ("What is the advantage of the Astana format?", "why"),
    ("What was the first role Raisi played?", "factoid"),
    ("What were the election results in Ohio?", "factoid"),
    ("Even though he had been there four times, did Putin land at Mehrabad?", "yesno"),
    ("Although Turkey backs the rebels, was Erdogan in Tehran?", "yesno"),
    ("Who welcomed Putin, and how many times had he visited Iran?", "multipart"),
    ("When were the agreements signed, and with whom did they sign them?", "multipart"),
    # a title-style question asks in its last clause, or with a phrase that has no verb (is it …?)
    ("Body dysmorphic disorder: does it have a psychotic subtype?", "yesno"),
    ("Juvenile ankylosing spondylitis--is it the same disease as adult ankylosing spondylitis?", "yesno"),
    ("Cold knife conization vs. LEEP. Are they the same procedure?", "yesno"),
    ("Rotator cuff tear--an occupational disease?", "yesno"),
    ("Esophagogastric devascularization without splenectomy: safe and effective?", "yesno"),
    ("Health care reform: why does it fail?", "why"),
    ("Doctor Who: who played the Master in 2014?", "factoid"),
    # a colon inside a title or before a question's options is not a topic break
    ("Who plays the wife of the actor who produced Paul Blart: Mall Cop 2 in the movie Grown Ups?", "factoid"),
    ("Against which currency was the rial traded: the US dollar or the Russian rouble?", "factoid"),
    ("The 1998 Welsh Assembly: how many members did it have?", "factoid"),
])
def test_shapes(question: str, shape: str) -> None:
    assert classify(question).shape == shape


@pytest.mark.parametrize(("question", "options"), [
    # parallel phrases: the option is the phrase, not the verb before it or the purpose after it
    ("In 1881, did Tesla move to Budapest or to Vienna to work at a telephone exchange?", ("to Budapest", "to Vienna")),
    ("Since the invasion, did Putin travel first to Iran or to Tajikistan and Turkmenistan?",
     ("to Iran", "to Tajikistan and Turkmenistan")),
    ("Did Tesla, the inventor, move to Budapest or to Vienna to work?", ("to Budapest", "to Vienna")),
    # a title's own comma, colon or thousands separator stays in its option
    ("Which film has the director born earlier, The Adventures Of Priscilla, Queen Of The Desert or Harvest: "
     "3,000 Years?", ("The Adventures Of Priscilla, Queen Of The Desert", "Harvest: 3,000 Years")),
    ("Which film was released earlier, Yohan: The Child Wanderer or A Nightmare On Elm Street 4: The Dream Master?",
     ("Yohan: The Child Wanderer", "A Nightmare On Elm Street 4: The Dream Master")),
    ("Which came first: Biden's tour or Putin's visit?", ("Biden's tour", "Putin's visit")),
    # options joined by "and" after "out of" or "between"
    ("Who was born first out of Heng Pov and Rajesh Bhola?", ("Heng Pov", "Rajesh Bhola")),
    ("Which is older between the Saturn V and the Wardenclyffe tower?", ("the Saturn V", "the Wardenclyffe tower")),
])
def test_choice_options_of_longer_questions(question: str, options: tuple[str, str]) -> None:
    assert classify(question).options == options


def test_choice_options_are_found() -> None:
    assert classify("Who urged Iran to stop using the dollar, Khamenei or Raisi?").options == ("Khamenei", "Raisi")
    assert classify("Who is older, Putin or Raisi?").options == ("Putin", "Raisi")
    queries = option_queries("Who is older, Putin or Raisi?", ("Putin", "Raisi"))
    assert queries == ["Putin Who is older", "Raisi Who is older"]


@pytest.mark.parametrize(("shape", "answer", "short"), [
    ("yesno", "No, Curie was born in Warsaw [1].", "no"),
    ("yesno", "Yes, Curie won the Nobel Prize twice [1].", "yes"),
    ("comparison", "Pierre Curie, born in 1859 [2], while Marie Curie was born in 1867 [1].", "Pierre Curie"),
    ("comparison", "Edison because he was born in 1847 [1].", "Edison"),
    ("comparison", "No, Tesla was younger [1].", "no"),
    ("factoid", "Mehrabad airport [1].", "Mehrabad airport"),
    ("list", "Tajikistan and Turkmenistan [1]", "Tajikistan and Turkmenistan"),
    ("why", "Because X [1]. And Y [2].", "Because X. And Y."),
])
def test_short_answer(shape: str, answer: str, short: str) -> None:
    assert short_answer(shape, answer) == short


@pytest.mark.parametrize(("answer", "short"), [
    ("Cryptophyte chloroplasts have more membranes (four) [1]", "Cryptophyte chloroplasts"),
    ("The Saturn V rocket was taller [4].", "The Saturn V rocket"),
    ("Saturn V, at 110 metres [2].", "Saturn V"),
    ("Saturnalia was earlier [1].", "Saturnalia was earlier"),  # not an option: the first clause, as before
    ("Vienna, where he worked [1].", "Vienna"),  # the option "to Vienna" without its lead-in
    ("Yohan: The Child Wanderer, released in 2010 [3].", "Yohan: The Child Wanderer"),  # a title's colon
    # the facts first, then the choice they decide
    ("Euglenophyte chloroplasts have three membranes [1] and cryptophyte chloroplasts four [2], so cryptophyte "
     "chloroplasts have more.", "cryptophyte chloroplasts"),
    ("Euglenophyte chloroplasts have three [1]. Therefore, cryptophyte chloroplasts have more.",
     "cryptophyte chloroplasts"),
])
def test_a_choice_answer_opening_with_an_option_is_that_option(answer: str, short: str) -> None:
    options = ("the Saturn V rocket", "Tesla's Wardenclyffe tower") if "Saturn" in answer else (
        "euglenophyte chloroplasts", "cryptophyte chloroplasts")
    if answer.startswith("Saturn V,"):
        options = ("Saturn V", "Wardenclyffe")
    if answer.startswith("Vienna"):
        options = ("to Budapest", "to Vienna")
    if answer.startswith("Yohan"):
        options = classify("Which film was released earlier, Yohan: The Child Wanderer or A Nightmare On Elm "
                           "Street 4: The Dream Master?").options
    assert short_answer("comparison", answer, options) == short


@pytest.mark.parametrize("text", ["", "a", "Yes, Curie won the Nobel Prize twice [1].", "two  spaces and a tail ",
                                  "The documents don't contain the answer to this question."])
def test_chat_pieces_add_up_to_the_answer(text: str) -> None:
    assert "".join(word_pieces(text)) == text


def _p(cid: str, text: str) -> Passage:
    return Passage(chunk=Chunk(id=cid, doc_id="d", source="d.txt", title="D", start=0, end=len(text), text=text),
                   score=1.0)


def test_bridge_names_come_from_the_sentence_about_the_question() -> None:
    first = [_p("a", "Tesla enrolled at the Austrian Polytechnic in Graz in 1875. The weather was mild.")]
    names = bridge_names("When was the university where Tesla studied founded?", first)
    assert names[:2] == ["Austrian Polytechnic", "Graz"] and "Tesla" not in names


def test_merge_keeps_the_first_list_and_adds_unseen_passages_in_turn() -> None:
    a, b, c, d = _p("a", "A."), _p("b", "B."), _p("c", "C."), _p("d", "D.")
    assert [p.chunk.id for p in merge([a, b], [b, c], [d], limit=4)] == ["a", "b", "c", "d"]


def test_key_terms_are_names_and_numbers() -> None:
    from rag.answer.rules.key_terms import key_terms, missing_terms

    q = "Who first played the Master in the 2017 series of Doctor Who with Lenny Henry?"
    assert key_terms(q) == [("2017",), ("Master",), ("Doctor",), ("Lenny", "Henry")]  # "Who" reads as a question word
    text = ["The Master was first played by Roger Delgado in 1971.", "Doctor Who returned in 2005."]
    assert missing_terms(q, text) == ["2017", "Lenny Henry"]
    assert missing_terms("Describe how Nikola Tesla's coil works.", ["Tesla built a coil."]) == []
    assert missing_terms("How much was spent on Super Bowl-related events in 2,016?", ["bowl events in 2016"]) == []
    # a dotted acronym is found as written and spelled out, as "US" is; the pronoun "us" does not say it
    assert key_terms("How many colleges are in the U.S.?") == [("U.S",)]
    for passage, missing in [("colleges in the United States", []), ("colleges in the U.S. and Canada", []),
                             ("let us count the colleges", ["U.S"])]:
        assert missing_terms("How many colleges are in the U.S.?", [passage]) == missing, passage
    assert missing_terms("How many colleges are in the U.K.?", ["colleges in the United States"]) == ["U.K"]
    # undotted, it is found only as written: "us" and "Us" are pronouns, not the United States
    for passage, missing in [("colleges in the US", []), ("colleges in the U.S.", []), ("the United States", []),
                             ("let us count the colleges", ["US"]), ("Us and them", ["US"])]:
        assert missing_terms("How many colleges are in the US?", [passage]) == missing, passage
    assert missing_terms("Did NATO grow?", ["Nato grew"]) == []  # not a common word: found in any case
    assert missing_terms("What did the U.S.S.R. launch?", ["The U.S.S.R. launched Sputnik."]) == []


def _passage(text: str, doc: str = "d", title: str = "") -> Passage:
    return Passage(chunk=Chunk(id=f"{doc}-{len(text)}", doc_id=doc, source=f"{doc}.txt", title=title or doc,
                               start=0, end=len(text), text=text), score=1.0)


def test_a_term_the_cited_passages_never_state_is_unstated() -> None:
    """An adversarial question swaps one name: its answer comes from a passage about the neighbouring one."""
    from rag.answer.rules.key_terms import unstated_terms

    fenham = _passage("Newcastle has three cathedrals, and the Coptic Cathedral located in Fenham.", "nc",
                      "Newcastle upon Tyne")
    jesmond = _passage("Jesmond Dene is a park in Jesmond.", "nc", "Newcastle upon Tyne")
    q = "Which cathedral in Newcastle is located in Jesmond?"
    # the title says "Newcastle"; another passage of the same article saying "Jesmond" does not make it stated
    assert unstated_terms(q, [fenham], [fenham, jesmond]) == ["Jesmond"]
    assert unstated_terms("Which cathedral is located in Fenham?", [fenham], [fenham]) == []
    # a title stands for the passage's subject only when it holds every word of the term
    keepers = _passage("The first Keeper was Richard Redgrave.", "va", "Victoria and Albert Museum")
    assert unstated_terms("Who was the first Keeper of the Albert Museum?", [keepers], [keepers]) == []
    assert unstated_terms("Who was the first Keeper of the Albert Hall?", [keepers], [keepers]) == ["Albert Hall"]
    # the paragraph the cited passage was cut from counts as the passage; it is read only when a term is missing
    asked: list[int] = []

    def paragraphs(text: str) -> Callable[[], list[str]]:
        return lambda: asked.append(1) or [text]

    around = paragraphs("Its priest lives in Jesmond. " + fenham.chunk.text)
    assert unstated_terms(q, [fenham], [fenham, jesmond], around) == []
    assert unstated_terms(q, [fenham], [fenham], paragraphs(fenham.chunk.text)) == ["Jesmond"]
    assert len(asked) == 2
    assert unstated_terms("Which cathedral is located in Fenham?", [fenham], [fenham], paragraphs("x")) == []
    assert len(asked) == 2
    untitled = _passage("The first Keeper was Richard Redgrave.", "va", " ")
    assert unstated_terms("Who was the first Keeper of the Albert Museum?", [untitled], [untitled]) == [
        "Albert Museum"]
    # two titles do not make one term between them
    other = _passage("The Keeper of Prints was named.", "ah", "Hall of Prints")
    assert unstated_terms("Who was the first Keeper of the Albert Hall?", [keepers, other], [keepers, other]) == [
        "Albert Hall"]
    he = _passage("He was hired by Edison when he moved to New York.", "nt", "Nikola Tesla")
    assert unstated_terms("Who hired Tesla when he moved to New York?", [he], [he]) == []
    assert unstated_terms("Who hired Tesla in 1884?", [he], [he]) == ["1884"]
    # a bridge: the first fact is in another document of the context
    film = _passage("Big Stone Gap was directed by Adriana Trigiani.", "bsg", "Big Stone Gap")
    bio = _passage("Adriana Trigiani is based in Greenwich Village.", "at", "Adriana Trigiani")
    assert unstated_terms("Where is the director of Big Stone Gap based?", [bio], [bio, film]) == []
    assert unstated_terms("Where is the director of Big Stone Gap based?", [bio], [bio]) == ["Big Stone Gap"]


def test_a_retrieved_passage_naming_the_cited_document_states_a_bridge_term() -> None:
    """Outside the context, a passage of another document counts only when it names a cited document by its
    title: it is the multi-hop question's first fact, not a passing mention."""
    from rag.answer.rules.key_terms import unstated_terms

    venus = _passage("He observed Venus as a spot on the Sun.", "av", "Avicenna")
    canon = _passage("Avicenna wrote The Canon of Medicine.", "hs", "History of science")
    stray = _passage("The Canon of Medicine was printed in Rome.", "pr", "Printing")
    q = "Where did the author of The Canon of Medicine see Venus?"
    assert unstated_terms(q, [venus], [venus]) == ["Canon", "Medicine"]
    assert unstated_terms(q, [venus], [venus], retrieved=[venus, canon]) == []
    assert unstated_terms(q, [venus], [venus], retrieved=[venus, stray]) == ["Canon", "Medicine"]
    film = _passage("Frozen was directed by Adam Green.", "fz", "Frozen (2010 American film)")
    shot = _passage("Frozen was shot in Utah in 2009.", "ut", "Utah")
    assert unstated_terms("Who directed the film shot in 2009?", [film], [film], retrieved=[shot]) == []


def test_a_name_is_found_as_its_plural_demonym_or_acronym() -> None:
    from rag.answer.rules.key_terms import missing_terms

    assert missing_terms("Why did Raisi oppose a Turkish offensive?", ["Raisi warned Turkey."]) == []
    assert missing_terms("Which is larger in Kenya, Quakers or Hindus?", ["Kenya has 60,000 Hindu residents"]) == []
    assert missing_terms("What did the Iranian side say?", ["Iran said so."]) == []
    assert missing_terms("What did the United States allege?", ["The U.S. alleged it."]) == []
    assert missing_terms("What did NATO do?", ["The North Atlantic Treaty Organization met."]) == []
    # different places and numbers stay missing
    assert missing_terms("Where are teachers recruited in Austria?", ["Australian teachers are recruited"]) \
        == ["Austria"]
    assert missing_terms("What did India do in 1991?", ["Indiana did it in 1990."]) == ["1991", "India"]
    assert missing_terms("What did the United States allege?", ["Users alleged it."]) == ["United States"]
    assert missing_terms("What did the US allege?", ["The United States alleged it."]) == []
    assert missing_terms("Who chaired it under Temüjin?", ["Temüjin chaired it."]) == []  # any script's letters
    assert missing_terms("Who gave works to the V&A?", ["Victoria and Albert Museum\nRodin gave works."]) == []
    assert missing_terms("Who gave works to the V&A?", ["Rodin gave works to the museum."]) == ["V&A"]


def test_an_acronym_is_found_in_its_documents_title_and_nothing_else_is() -> None:
    """The V&A's article says "the museum"; its title names it. A headline's names are no evidence."""
    from rag.answer.rules.key_terms import missing_from
    from rag.types import Chunk, Passage

    def passage(title: str, text: str) -> Passage:
        return Passage(chunk=Chunk(id="c", doc_id="d", source="s.txt", title=title, start=0, end=len(text),
                                   text=text), score=1.0)

    museum = passage("Victoria and Albert Museum", "These were given to the museum by the sculptor in 1914.")
    assert missing_from("Who donated Rodin's works to the V&A?", [museum]) == ["Rodin"]
    assert missing_from("Who donated works to the V&A?", [passage("", museum.chunk.text)]) == ["V&A"]
    news = passage("Putin Meets Khamenei in Tehran", "Raisi hosted the talks.")
    assert missing_from("Did Khamenei host the talks?", [news]) == ["Khamenei"]


@pytest.mark.parametrize(("question", "passage"), [
    ("Who governs Niger?", "Nigeria is a federal republic."),
    ("When did Romania join?", "The Roman Empire fell."),
    ("What did Victor write?", "Queen Victoria reigned."),
    ("What did Paula do?", "Paul did it."),
    ("Where is Indiana?", "The Indian Ocean is wide."),
    ("Where is Malta?", "The malt was sold."),
    ("Who is Ian Smith?", "THIS IS A HEADLINE."),
    ("Who is John Smith?", "J.S. Bach wrote it."),
    ("What did the UN do?", "The Upper Nile flooded."),
    ("What did Tesla build?", "The tesla3 model was built."),
    ("Who founded H&M?", "He met Hassan Mahdavi."),
    ("What did S&P rate?", "The president. So Putin flew."),
])
def test_a_neighbouring_name_is_not_the_name(question: str, passage: str) -> None:
    """Adversarial questions swap a name for its neighbour; neither demonyms nor acronyms may join them."""
    from rag.answer.rules.key_terms import missing_terms

    assert missing_terms(question, [passage]) != []


def test_only_an_option_whose_alternative_is_named_is_excused_from_the_missing_names() -> None:
    from rag.answer.rules.key_terms import unchosen_options

    options = ("by Richard Leakey", "by Donald Johanson")
    assert unchosen_options(["Donald Johanson"], options) == ["Donald Johanson"]
    assert unchosen_options(["Donald Johanson", "Richard Leakey"], options) == []  # neither is named
    assert unchosen_options(["1984", "Donald Johanson"], options) == ["Donald Johanson"]  # not the year
    assert unchosen_options(["Johan"], options) == []  # a whole word of the option, not a part of one
    assert unchosen_options(["Leakey"], ()) == []
    assert unchosen_options(["1998", "99"], ("used Welsh primarily", "exclusively in 1998/99")) == []
    # a misread "choice" whose other side names nothing: the made-up name stays missing
    for question, name in (("Did Lenny Henry win or lose the match?", "Lenny Henry"),
                           ("Did Gandalf fight or flee the Balrog?", "Gandalf")):
        assert unchosen_options([name], classify(question).options) == [], question
