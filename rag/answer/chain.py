"""The answer chain, the only place that knows the order of the stages:
condense → retrieve → context → check (and the check's steps) → gate → write (a step or the model, streamed
through the citation checker) → review (steps that may reject the answer) → the final answer. The rules
themselves are the steps of rag/answer/steps/."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator

from rag.answer.attempt import Attempt, ModelClock, charge, ms
from rag.answer.citations.stream import CitationStream, grounded_share
from rag.answer.context import SentenceScorer, assemble
from rag.answer.generation import book_generation, cited, model_deltas, streamed
from rag.answer.prompting import Prompts, answer_messages, check_messages, condense_messages
from rag.answer.rules.bridge import descriptions
from rag.answer.rules.hops import merge, option_queries
from rag.answer.shapes import QuestionShape, classify, short_answer
from rag.answer.state import State
from rag.answer.steps import Stage, build_steps
from rag.backends.llm import LLM, Message
from rag.config import Settings
from rag.logs import log_answer
from rag.retrieval.retrievers import Filters, Retriever
from rag.types import Answer, Chunk, Delta, Event, Final, Passage, Replace, Timings, Usage, final_answer

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


class AnswerChain:
    """The stages in order; the rules within them are the steps (rag/answer/steps/), kept or left out by
    `answer.steps` and `answer.skip_steps`. It reads the whole settings (the model's context, the question
    limit, the logs' collection) and hands each part only its section: the retrieval section's context weights
    to the context assembly, the answer section to the citation checker."""

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
        self.steps = build_steps(self)  # an unknown step name in the settings fails here

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
        llm = self.settings.llm
        room = llm.n_ctx - llm.max_tokens - policy.reserved_tokens  # prompt, question, template
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
        """The passages the model reads (answer/context.py), scored with the retrieval section's context weights."""
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
        exactly to the final answer's text. A factoid asked again past its bridge (answer/rules/bridge.py) is
        replaced too, and its passages change after text was sent: its markers then number `Final`'s `context`, not
        the last `Sources`' (no `Sources` follows text).

        The question is checked now (`QuestionError`), before the first event is asked for: a server can
        answer 400 before it starts a stream. Nothing else runs until the first event is asked for."""
        question = validate_question(question, self.settings.answer.max_question_chars)
        return self._events(question, history or [], top_k, filters, max_tokens, temperature)

    def _events(self, question: str, history: list[Message], top_k: int | None, filters: Filters | None,
                max_tokens: int | None, temperature: float | None) -> Iterator[Event]:
        t0 = time.perf_counter()
        query = self.condense(question, history)
        shape = classify(query)
        k = top_k or self.settings.retrieval.top_k
        t_r = time.perf_counter()
        passages = self.gather(query, shape, k, filters)
        attempt = Attempt(self, k, filters, Timings(retrieve_ms=ms(t_r)))
        s = State(self, attempt, question, query, shape, passages, t0, max_tokens, temperature)
        if self.evidence_too_weak(query, passages):
            yield s.sources()
            yield Delta(text=self.prompts.refusal)
            yield Final(answer=s.refusal("weak_retrieval"))
            return
        t_x = time.perf_counter()
        s.context = self.first_context(query, shape, passages)
        s.timings.context_ms = ms(t_x)
        yield s.sources()  # before the check and generation: a client can show what is being read
        clock = ModelClock(self.llm)
        if any(step.reads_check and step.concerns(shape) for stage in self.steps.values() for step in stage):
            s.p_yes = self.check(query, s.context, shape)
        yield from self._stage("check", s)
        s.missing = s.missing  # taken now at the latest: a later hop (a bridge re-ask) leaves it as it is
        # the checks' wait for a busy model, in tenths of a millisecond before it is taken from their time
        charge(s.timings, "check_ms", clock.started, round(clock.wait(), 1))
        yield from self._stage("gate", s)
        if s.ended:
            return
        yield from self._write(s)
        yield from self._stage("review", s)
        yield from self._final(s)

    def _stage(self, stage: Stage, s: State) -> Iterator[Event]:
        """The stage's steps, in order, that concern the question's shape, until one ends the answer."""
        for step in self.steps[stage]:
            if not s.ended and step.concerns(s.shape):
                yield from step.run(s)

    def _write(self, s: State) -> Iterator[Event]:
        """The answer a write step decides, or else the model's, streamed through the citation checker."""
        policy, t_g = self.settings.answer, time.perf_counter()
        s.citer = citer = CitationStream(s.context, s.query, s.shape.shape, policy,
                                         policy.max_sentences_by_shape.get(s.shape.shape))
        s.messages = answer_messages(self.prompts, s.query, s.context, s.shape.shape)
        yield from self._stage("write", s)
        if s.decided is not None:
            deltas: Iterator[str] = iter([s.decided])
        else:
            deltas = model_deltas(self.llm, self.settings, s.messages, s.max_tokens, s.temperature, s.usage)
        s.refused = yield from streamed(cited(deltas, citer, policy.holdback_chars), s.timings, s.t0)
        s.streamed = s.timings.first_token_ms is not None  # set by the first delta
        book_generation(s.timings, t_g, s.usage)  # the generation's wait for a busy model is not its work
        s.text, s.citations = citer.text, citer.citations()
        # No answer when the model declined, wrote bare markers, or (for a shape that must be supported) no
        # sentence of its reply is supported by the passages it cites: its new words come from outside knowledge.
        s.answerable = not s.refused and citer.answered
        s.sentences = citer.sentences

    def _final(self, s: State) -> Iterator[Event]:
        """The refusal in place of a rejected answer, then the logged final answer."""
        text, citations, sentences, reason, rejected = s.text, s.citations, s.sentences, s.reason, s.rejected
        if not s.answerable:
            reason = reason or ("model" if s.refused else "unsupported")
            rejected = text if reason == "unsupported" else rejected
            text, citations, sentences = self.prompts.refusal, [], []
            yield Replace(text=text) if s.streamed else Delta(text=text)
        s.timings.total_ms = ms(s.t0)
        judged = s.citer.sentences if s.citer is not None else None
        yield Final(answer=log_answer(Answer(
            answer=text, answerable=s.answerable, citations=citations, timings=s.timings, usage=Usage(**s.usage),
            context=s.context, sentences=sentences, retrieved=s.passages, grounded=grounded_share(sentences),
            check=None if s.p_yes is None else round(s.p_yes, 4),
            verify=None if s.p_verify is None else round(s.p_verify, 4),
            short_answer=short_answer(s.shape.shape, text, s.shape.options) if s.answerable else "",
            refusal_reason=reason, rejected=rejected, missing_terms=s.unstated if reason == "unstated_terms"
            else s.missing, verdict=s.verdict, escalated=s.escalated, **s.base()), self, judged))

    def answer(self, question: str, history: list[Message] | None = None, top_k: int | None = None,
               filters: Filters | None = None, **overrides: float | int | None) -> Answer:
        """The final answer alone (`final_answer` of `stream`)."""
        return final_answer(self.stream(question, history, top_k, filters, **overrides))  # type: ignore[arg-type]
