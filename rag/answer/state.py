"""What the answer steps read and change: one question's passages, check, answer and verdicts so far."""

from __future__ import annotations

from dataclasses import dataclass, field

from rag.answer.attempt import Attempt, Reader, ms
from rag.answer.citations.stream import CitationStream
from rag.answer.rules.key_terms import missing_from
from rag.answer.shapes import QuestionShape
from rag.backends.llm import Message
from rag.logs import log_answer
from rag.types import Answer, AnswerSentence, Citation, Passage, Sources, Timings


@dataclass
class State:
    """One answer in the making. `query` is the standalone question retrieval used; `asked`, the question the
    answer answers (a bridge re-ask's rewrite, else `query`). `ended` says a step gave the final answer."""

    chain: Reader
    attempt: Attempt
    question: str
    query: str
    shape: QuestionShape
    passages: list[Passage]
    t0: float
    max_tokens: int | None = None
    temperature: float | None = None
    asked: str = ""
    context: list[Passage] = field(default_factory=list)
    p_yes: float | None = None
    _missing: list[str] | None = None
    ended: bool = False
    # the answer: a decided verdict or the model's reply, through the citation checker
    messages: list[Message] = field(default_factory=list)
    decided: str | None = None
    verdict: str | None = None
    citer: CitationStream | None = None
    usage: dict[str, int] = field(default_factory=dict)
    refused: bool = False
    streamed: bool = False
    answerable: bool = False
    text: str = ""
    citations: list[Citation] = field(default_factory=list)
    sentences: list[AnswerSentence] = field(default_factory=list)
    # the checks after it
    reason: str | None = None
    rejected: str | None = None
    unstated: list[str] = field(default_factory=list)
    p_verify: float | None = None
    escalated: bool = False  # written again from the wider context (steps/escalate.py)

    def __post_init__(self) -> None:
        self.asked = self.asked or self.query

    @property
    def timings(self) -> Timings:
        return self.attempt.timings

    @property
    def missing(self) -> list[str]:
        """The question's names and numbers no passage mentions, taken when first asked for: after the bridge
        hop, which never reads them (the chain asks for them at the end of the check phase at the latest)."""
        if self._missing is None:
            self._missing = missing_from(self.query, self.passages)
        return self._missing

    @missing.setter
    def missing(self, terms: list[str]) -> None:
        self._missing = terms

    def add_usage(self, more: dict[str, int]) -> None:
        """Count a further generation's tokens (a re-ask, an escalation) into the answer's usage."""
        for key, n in more.items():
            self.usage[key] = self.usage.get(key, 0) + n

    def base(self) -> dict[str, str]:
        """The fields every answer of this question has."""
        return {"question": self.question, "model": self.chain.llm.name, "query": self.asked,
                "shape": self.shape.shape}

    def sources(self) -> Sources:
        return Sources(query=self.query, shape=self.shape.shape, retrieved=self.passages, context=self.context)

    def refusal(self, reason: str, **more: object) -> Answer:
        """The refusal before the model writes (logged)."""
        self.timings.total_ms = ms(self.t0)
        return log_answer(Answer(answer=self.chain.prompts.refusal, answerable=False, citations=[],
                                 timings=self.timings, refusal_reason=reason, retrieved=self.passages,
                                 **self.base(), **more),  # type: ignore[arg-type]
                          self.chain)
