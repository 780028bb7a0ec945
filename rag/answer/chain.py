"""The answer chain, the only place that knows the order of the steps:
condense → retrieve → prompt → generate (stream) → verify citations → decide refusal."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Generator, Iterator

from rag.answer.citations.stream import CitationStream, grounded_share, is_refusal
from rag.answer.context import SentenceScorer, assemble
from rag.answer.prompting import Prompts, answer_messages, check_messages, condense_messages, verify_messages
from rag.answer.rules.bridge import bridged_question, described_answer, describes, descriptions
from rag.answer.rules.hops import bridge_query, merge, option_queries
from rag.answer.rules.key_terms import missing_from, unchosen_options, unstated_terms
from rag.answer.rules.verdict import Choice, Verdict, choose, decide
from rag.answer.shapes import QuestionShape, bare_option, classify, short_answer, strip_markers
from rag.backends.llm import LLM, Message
from rag.config import Settings
from rag.logs import log_answer
from rag.retrieval.retrievers import Filters, Retriever
from rag.text.words import content_words, tokens
from rag.types import Answer, Chunk, Delta, Event, Final, Passage, Replace, Sources, Timings, Usage, final_answer

_SENTENCE_END = re.compile(r"[.!?\n]")
Coverage = Callable[[str, list[str]], float]
# words that point back into the conversation: only a question with one needs rewriting
_REFERS_BACK = re.compile(r"\b(he|she|it|they|him|her|them|his|hers|its|their|theirs|there|then|this|that|these|"
                          r"those|the same|the other|former|latter|one|ones|also|too|else)\b", re.IGNORECASE)


class QuestionError(ValueError):
    """The question itself is unusable (empty, too long); the message is for the user."""


def validate_question(question: str, max_chars: int) -> str:
    """The question with its white space collapsed. The limit counts the characters as given (what the API's
    schema declares as maxLength), white space included."""
    question = question or ""
    if len(question) > max_chars:
        raise QuestionError(f"the question is {len(question)} characters long; the limit is {max_chars}")
    q = " ".join(question.split())
    if not q:
        raise QuestionError("the question is empty")
    return q


def _drain(texts: Generator[str, None, bool]) -> bool:
    """Run `texts` to its end, for its return value (an answer not streamed)."""
    while True:
        try:
            next(texts)
        except StopIteration as end:
            return end.value


def _opens_with(text: str, start: str) -> bool:
    """Whether `text` begins with `start`'s words ("Mount Kenya, a landmark" begins with "Mount Kenya")."""
    a, b = tokens(text), tokens(start)
    return bool(b) and a[:len(b)] == b


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 1)


def _waited(llm: LLM) -> float:
    """Milliseconds this thread's checks have waited for the model's single worker so far (0 for a back end
    that does not queue in-process)."""
    waited = getattr(llm, "waited_ms", None)
    return float(waited()) if callable(waited) else 0.0


class AnswerChain:
    """The steps in order. It reads the whole settings (the model's context, the question limit, the logs'
    collection) and hands each step only its section: the retrieval section's context weights to the context
    assembly, the answer section to the citation checker."""

    def __init__(self, settings: Settings, retriever: Retriever, llm: LLM, prompts: Prompts,
                 scorer: SentenceScorer | None = None, coverage: Coverage | None = None,
                 paragraph: Callable[[Chunk], str] | None = None) -> None:
        self.settings = settings
        self.retriever = retriever
        self.llm = llm
        self.prompts = prompts
        self.scorer = scorer  # sentence similarity for context assembly; lexical only without it
        self.coverage = coverage  # idf-weighted share of the query the passages mention
        self.paragraph = paragraph  # the document paragraph a passage was cut from (rag.index.documents), if known

    def evidence_too_weak(self, query: str, passages: list[Passage]) -> bool:
        """Refuse without asking the model when retrieval found nothing that could hold the answer: the best
        passage is barely similar, or the passages leave out most of what the question is about (a
        question about a hotel answered from passages that never mention a hotel)."""
        if not passages:
            return True
        dense = [p.dense_score for p in passages if p.dense_score is not None]
        if dense and max(dense) < self.settings.retrieval.min_score:
            return True
        if self.coverage is not None and self.settings.retrieval.min_coverage > 0:
            return self.coverage(query, [p.chunk.text for p in passages]) < self.settings.retrieval.min_coverage
        return False

    def context_budget(self, shape: QuestionShape | None = None, hop: bool = False) -> int:
        policy = self.settings.answer
        room = (
            self.settings.llm.n_ctx - self.settings.llm.max_tokens - policy.reserved_tokens
        )  # prompt, question, template
        wanted = policy.context_tokens_long if (hop or (shape and shape.long)) else policy.context_tokens
        if shape is not None and shape.shape in policy.context_tokens_by_shape:
            by_shape = policy.context_tokens_by_shape[shape.shape]
            wanted = max(wanted, by_shape) if hop else by_shape
        return max(32, min(wanted, room))

    def check_min(self, shape: str) -> float:
        """The check's refusal threshold for a question of this shape."""
        policy = self.settings.answer
        return max(policy.check_min, policy.check_min_by_shape.get(shape, 0.0))

    def check(self, query: str, context: list[Passage], shape: QuestionShape) -> float | None:
        """The model's probability that these passages state the answer (None: not asked, or cannot tell)."""
        if not self.settings.answer.check or not context:
            return None
        return self.llm.yes_probability(check_messages(self.prompts, query, context, shape.shape))

    def condense(self, question: str, history: list[Message]) -> str:
        """A follow-up ("how many times had he been there?") becomes a standalone query."""
        if not _REFERS_BACK.search(question) and len(question.split()) > 3:
            return question  # already standalone: rewriting it only risks changing what was asked
        turns = [m for m in history if m.get("role") in ("user", "assistant") and m.get("content")]
        policy = self.settings.answer
        turns = turns[-2 * policy.history_turns:] if policy.history_turns else []
        if not turns:
            return question
        text = "".join(self.llm.stream_chat(condense_messages(self.prompts, question, turns),
                                            policy.condense_max_tokens, policy.condense_temperature))
        text = text.strip().strip('"').splitlines()[0].strip() if text.strip() else ""
        return text or question

    def assemble_context(self, passages: list[Passage], query: str, budget: int) -> list[Passage]:
        """The passages the model reads (rag/answer/context.py), scored with the retrieval section's context weights."""
        return assemble(passages, query, budget, self.scorer, self.settings.retrieval.context_weights)

    def first_context(self, query: str, shape: QuestionShape, passages: list[Passage]) -> list[Passage]:
        """The context before any check or hop, at the shape's budget."""
        # a question that describes what it asks about ("the mountain after which Kenya is named") needs two facts
        described = shape.shape == "factoid" and self.settings.answer.bridge_context and bool(descriptions(query))
        return self.assemble_context(passages, query, self.context_budget(shape, hop=described))

    def gather(self, query: str, shape: QuestionShape, top_k: int, filters: Filters | None) -> list[Passage]:
        """First-stage passages; a choice question also gets the best passages for each of its options."""
        passages = self.retriever.retrieve(query, top_k, filters)
        if self.settings.retrieval.second_hop and shape.shape == "comparison":
            per_option = [self.retriever.retrieve(q, 2, filters) for q in option_queries(query, shape.options)]
            passages = merge(passages, *per_option, limit=top_k + 2)
        return passages

    def stream(self, question: str, history: list[Message] | None = None, top_k: int | None = None,
               filters: Filters | None = None, max_tokens: int | None = None,
               temperature: float | None = None) -> Iterator[Event]:
        """The answer as events (rag.types): `Sources` once retrieval and context assembly end (again if a
        second hop changes the passages), `Delta`s as the model writes, a `Replace` if the checks reject what
        was streamed, then one `Final` with the verified `Answer`. The deltas (after any Replace) add up
        exactly to the final answer's text. A factoid asked again past its bridge (answer/rules/bridge.py) is replaced
        too, and its passages change after text was sent: its markers then number `Final`'s `context`, not
        the last `Sources`' (no `Sources` follows text).

        The question is checked now (`QuestionError`), before the first event is asked for: a server can
        answer 400 before it starts a stream. Nothing else runs until the first event is asked for."""
        question = validate_question(question, self.settings.answer.max_question_chars)
        return self._events(question, history or [], top_k, filters, max_tokens, temperature)

    def _events(self, question: str, history: list[Message], top_k: int | None, filters: Filters | None,
                max_tokens: int | None, temperature: float | None) -> Iterator[Event]:
        t0 = time.perf_counter()
        policy, second_hop = self.settings.answer, self.settings.retrieval.second_hop
        query = self.condense(question, history)
        shape = classify(query)
        k = top_k or self.settings.retrieval.top_k
        t_r = time.perf_counter()
        passages = self.gather(query, shape, k, filters)
        timings = Timings(retrieve_ms=_ms(t_r))
        base = {"question": question, "model": self.llm.name, "query": query, "shape": shape.shape}

        def refuse(reason: str, **more: object) -> Answer:
            timings.total_ms = _ms(t0)
            return log_answer(Answer(answer=self.prompts.refusal, answerable=False, citations=[], timings=timings,
                                     refusal_reason=reason, retrieved=passages, **base, **more),  # type: ignore[arg-type]
                              self)

        def sources() -> Sources:
            return Sources(query=query, shape=shape.shape, retrieved=passages, context=context)

        context: list[Passage] = []
        if self.evidence_too_weak(query, passages):
            yield sources()
            yield Delta(text=self.prompts.refusal)
            yield Final(answer=refuse("weak_retrieval"))
            return
        t_x = time.perf_counter()
        context = self.first_context(query, shape, passages)
        timings.context_ms = _ms(t_x)
        yield sources()  # before the check and generation: a client can show what is being read
        t_c, waited = time.perf_counter(), _waited(self.llm)
        p_yes = self.check(query, context, shape)
        # a bridge question: the first passages name what the answer is about, a second query finds it
        if (p_yes is not None and p_yes < policy.check_min and second_hop
                and (bq := bridge_query(query, passages)) is not None):
            hop = self._hop(passages, bq, k, filters, timings)
            hop_context = self.assemble_context(hop, query, self.context_budget(shape, hop=True))
            hop_yes = self.check(query, hop_context, shape)
            if hop_yes is not None and hop_yes > p_yes:
                passages, context, p_yes = hop, hop_context, hop_yes
                yield sources()
        missing = missing_from(query, passages)
        if (missing and second_hop and p_yes is not None and shape.shape in policy.missing_name_hop_shapes
                and p_yes < policy.missing_terms_check_max):
            # the question names something the passages never mention: search for it (the other half of a
            # comparison or bridge question); an adversarial question's made-up name is found nowhere
            hop = self._hop(passages, f"{' '.join(missing)} {query}", k, filters, timings)
            still = missing_from(query, hop)
            if len(still) < len(missing):
                passages, missing = hop, still
                context = self.assemble_context(hop, query, self.context_budget(shape, hop=True))
                yield sources()
                p_yes = self.check(query, context, shape)
        if shape.shape == "comparison" and (wrong := unchosen_options(missing, shape.options)):
            missing = [t for t in missing if t not in wrong]  # the option the passages never name
        timings.queue_ms = round(_waited(self.llm) - waited, 1)  # the checks' wait for a busy model
        timings.check_ms = round(_ms(t_c) - timings.queue_ms, 1)
        check_min = self.check_min(shape.shape)  # after the hops
        if p_yes is not None and (p_yes < check_min
                                  or (missing and p_yes < policy.missing_terms_check_max)):
            yield Delta(text=self.prompts.refusal)
            yield Final(answer=refuse("check" if p_yes < check_min else "missing_terms",
                                      check=round(p_yes, 4), context=context, missing_terms=missing))
            return
        t_g = time.perf_counter()
        citer = CitationStream(context, query, shape.shape, policy, policy.max_sentences_by_shape.get(shape.shape))
        usage: dict[str, int] = {}
        messages = answer_messages(self.prompts, query, context, shape.shape)
        decided, verdict_reason = self.yes_or_no(query, context, shape, messages)
        if decided is not None:
            deltas: Iterator[str] = iter([decided])
        else:
            deltas = self.llm.stream_chat(messages, max_tokens or self.settings.llm.max_tokens,
                                          self.settings.llm.temperature if temperature is None else temperature, usage)
        refused = yield from self._streamed(self._cited(deltas, citer, policy.holdback_chars), timings, t0)
        streamed = timings.first_token_ms is not None  # set by the first delta
        gen_wait = float(usage.pop("queue_ms", 0.0))  # the generation's wait for a busy model, not its work
        timings.queue_ms = round(timings.queue_ms + gen_wait, 1)
        timings.generate_ms = round(_ms(t_g) - gen_wait, 1)
        text, citations = citer.text, citer.citations()
        # No answer when the model declined, wrote bare markers, or no sentence of its reply is supported by
        # the passages it cites (its new words come from outside knowledge).
        answerable = not refused and bool(text and citations) and any(x.supported for x in citer.sentences)
        sentences = citer.sentences
        reason = rejected = None
        if answerable and shape.shape == "factoid" and policy.bridge_reask and second_hop:
            again = self._past_bridge(query, passages, context, short_answer("factoid", text), k, filters,
                                      timings, usage, max_tokens, temperature)
            if again is not None:  # the answer was the thing the question describes: the new one replaces it
                base["query"], passages, context, citer, p_yes = again
                text, citations, sentences = citer.text, citer.citations(), citer.sentences
                yield Replace(text=text) if streamed else Delta(text=text)
                streamed = True
        unstated: list[str] = []
        if answerable and shape.shape in policy.unstated_terms_shapes and not describes(query):
            # the answer's own passages never say a name or number of the question ("Which cathedral is in
            # Jesmond?" answered from "the Coptic Cathedral located in Fenham"): it answers another question.
            # A bridge re-ask needs a description, so a re-asked answer never gets here with the old question.
            cited = [citer.passages[c.marker - 1] for c in citations]
            around = self.paragraph if policy.unstated_paragraph else None
            paragraphs = (lambda: [around(p.chunk) for p in cited]) if around is not None else None
            if unstated := unstated_terms(query, cited, context, paragraphs):
                answerable, reason, rejected = False, "unstated_terms", text
        p_verify = None
        if answerable and policy.verify:
            t_v, waited = time.perf_counter(), _waited(self.llm)
            p_verify = self.llm.yes_probability(verify_messages(self.prompts, query, context, shape.shape,
                                                                strip_markers(text)))
            verify_wait = _waited(self.llm) - waited  # another request's turn on the model, not this work
            timings.queue_ms = round(timings.queue_ms + verify_wait, 1)
            timings.verify_ms = round(_ms(t_v) - verify_wait, 1)
            if p_verify is not None and p_verify < policy.verify_min_by_shape.get(shape.shape, 0.0):
                answerable, reason, rejected = False, "verify", text
        if not answerable:
            reason = reason or ("model" if refused else "unsupported")
            rejected = text if reason == "unsupported" else rejected
            text, citations, sentences = self.prompts.refusal, [], []
            yield Replace(text=text) if streamed else Delta(text=text)
        timings.total_ms = _ms(t0)
        yield Final(answer=log_answer(Answer(
            answer=text, answerable=answerable, citations=citations, timings=timings, usage=Usage(**usage),
            context=context, sentences=sentences, retrieved=passages, grounded=grounded_share(sentences),
            check=None if p_yes is None else round(p_yes, 4),
            verify=None if p_verify is None else round(p_verify, 4),
            short_answer=short_answer(shape.shape, text, shape.options) if answerable else "", refusal_reason=reason,
            rejected=rejected, missing_terms=unstated if reason == "unstated_terms" else missing,
            verdict=verdict_reason, **base), self, citer.sentences))

    def _past_bridge(
        self,
        query: str,
        passages: list[Passage],
        context: list[Passage],
        answer: str,
        k: int,
        filters: Filters | None,
        timings: Timings,
        usage: dict[str, int],
        max_tokens: int | None,
        temperature: float | None,
    ) -> tuple[str, list[Passage], list[Passage], CitationStream, float | None] | None:
        """A factoid answered with its bridge (answer/rules/bridge.py), asked again with the bridge named
        and its passages
        retrieved: (the question asked, passages, context, the new cited answer, its check), or None to keep
        the answer. The rewritten question must pass the check like any question ("Who coached Gary
        Kubiak?", from a misread "Who coached the team that won?", finds no passage that states it), and the
        new answer counts only when it is supported and is not the old one again ("Mount Kenya, a landmark")."""
        policy = self.settings.answer
        found = described_answer(query, answer, context, policy.bridge_min_overlap)
        if found is None:
            return None
        asked, factoid = bridged_question(query, found), QuestionShape("factoid")
        hop = self._hop(passages, f"{query} {found.answer}", k, filters, timings)  # counts its own time
        t = time.perf_counter()
        context = self.assemble_context(hop, asked, self.context_budget(factoid, hop=True))
        timings.retrieve_ms = round(timings.retrieve_ms + _ms(t), 1)
        t, waited = time.perf_counter(), _waited(self.llm)
        p_yes = self.check(asked, context, factoid)
        check_wait = _waited(self.llm) - waited
        timings.queue_ms = round(timings.queue_ms + check_wait, 1)
        timings.check_ms = round((timings.check_ms or 0.0) + _ms(t) - check_wait, 1)
        if p_yes is not None and p_yes < self.check_min("factoid"):
            return None
        citer = CitationStream(context, asked, "factoid", policy, policy.max_sentences_by_shape.get("factoid"))
        more: dict[str, int] = {}
        t = time.perf_counter()
        deltas = self.llm.stream_chat(answer_messages(self.prompts, asked, context, "factoid"),
                                      max_tokens or self.settings.llm.max_tokens,
                                      self.settings.llm.temperature if temperature is None else temperature, more)
        refused = _drain(self._cited(deltas, citer, policy.holdback_chars))
        gen_wait = float(more.pop("queue_ms", 0.0))
        timings.queue_ms = round(timings.queue_ms + gen_wait, 1)
        timings.generate_ms = round((timings.generate_ms or 0.0) + _ms(t) - gen_wait, 1)
        for key, n in more.items():
            usage[key] = usage.get(key, 0) + n
        new = short_answer("factoid", citer.text)
        if (refused or not citer.citations() or not any(x.supported for x in citer.sentences)
                or content_words(new) <= content_words(answer) or _opens_with(new, answer)):
            return None
        return asked, hop, context, citer, p_yes

    def yes_or_no(self, query: str, context: list[Passage], shape: QuestionShape,
                  messages: list[Message]) -> tuple[str | None, str | None]:
        """A yes/no or choice answer built from the sentence that decides it: the verdict from the text where it settles
        it, otherwise the model's P(yes) on the answer prompt (one token, on the check's cached prefix), then
        that sentence quoted and cited. None when no sentence holds the question: the model writes it."""
        policy = self.settings.answer
        if not policy.verdict_rules:
            return None, None
        if shape.shape == "comparison":
            c = choose(query, shape.options, context)
            if c is None:
                return None, None
            option = bare_option(c.option)  # "Vienna", not "to Vienna"
            return f"{option[:1].upper()}{option[1:]}. {self._quoted(context, c)}", c.reason
        if shape.shape != "yesno":
            return None, None
        v = decide(query, context, policy.verdict_min_overlap, policy.verdict_substitution_overlap)
        if v is None or v.overlap < policy.verdict_min_overlap:
            return None, None
        answer, reason = v.answer, v.reason
        if answer is None:
            p = self.llm.yes_probability(messages)
            if p is None:
                return None, None
            answer, reason = ("yes" if p >= policy.verdict_yes_min else "no"), f"model P(yes)={p:.2f}"
        return f"{answer.capitalize()}. {self._quoted(context, v)}", reason

    @staticmethod
    def _quoted(context: list[Passage], decided: Verdict | Choice) -> str:
        """The deciding sentence (and the other side's, for a comparison of years), quoted and cited."""
        facts = [(decided.passage, decided.span)]
        if decided.other and decided.other != facts[0]:
            facts.append(decided.other)
        return " ".join(f"{context[i].chunk.text[lo:hi].strip().rstrip('.')} [{i + 1}]." for i, (lo, hi) in facts)

    def _hop(self, passages: list[Passage], hop_query: str, k: int, filters: Filters | None,
             timings: Timings) -> list[Passage]:
        """The first passages, then what a further query finds (its time counted as retrieval)."""
        t = time.perf_counter()
        hop = merge(passages, self.retriever.retrieve(hop_query, k, filters), limit=k + 2)
        timings.retrieve_ms += _ms(t)
        return hop

    @staticmethod
    def _cited(deltas: Iterator[str], citer: CitationStream, holdback: int) -> Generator[str, None, bool]:
        """The cited answer's non-empty deltas; nothing if the model declines. Returns whether it declined,
        decided once, from the reply's opening words (its first `holdback` characters or first sentence)."""
        head = ""
        refused: bool | None = None
        for delta in deltas:
            if refused is None:
                # hold the first words back until it is clear whether the model is declining to answer
                head += delta
                if len(head) < holdback and not _SENTENCE_END.search(head):
                    continue
                refused = is_refusal(head)
                delta = head
            if not refused and (out := citer.feed(delta)):
                yield out
            if citer.full:  # the shape's sentences are written: stop the model rather than drop its words
                close = getattr(deltas, "close", None)
                if close is not None:
                    close()
                break
        if refused is None:  # the whole reply was shorter than the hold-back
            refused = is_refusal(head)
            if not refused and (out := citer.feed(head)):
                yield out
        if not refused and (tail := citer.finish()):
            yield tail
        return refused

    @staticmethod
    def _streamed(texts: Generator[str, None, bool], timings: Timings, t0: float) -> Generator[Delta, None, bool]:
        """`texts` as `Delta` events, the first one's time recorded; returns what `texts` returns."""
        while True:
            try:
                text = next(texts)
            except StopIteration as end:
                return end.value
            if timings.first_token_ms is None:
                timings.first_token_ms = _ms(t0)
            yield Delta(text=text)

    def answer(self, question: str, history: list[Message] | None = None, top_k: int | None = None,
               filters: Filters | None = None, **overrides: float | int | None) -> Answer:
        """The final answer alone (`final_answer` of `stream`)."""
        return final_answer(self.stream(question, history, top_k, filters, **overrides))  # type: ignore[arg-type]
