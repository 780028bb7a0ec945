"""One try at the passages: retrieve (or hop) → assemble the context → check it, and the one place that
times those stages and keeps the model's queue wait apart from its work.

The in-process model has a single worker: a request's check, generation or verification may first wait for
another request's turn. That wait is taken out of the stage's own time and added to `queue_ms` (`charge`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from rag.answer.prompting import Prompts
from rag.answer.rules.hops import merge
from rag.answer.shapes import QuestionShape
from rag.backends.llm import LLM
from rag.config import Settings
from rag.retrieval.retrievers import Filters, Retriever
from rag.types import Chunk, Passage, Timings

ModelStage = Literal["check_ms", "generate_ms", "verify_ms"]


class Reader(Protocol):
    """What an attempt and the steps use of the answer chain (`rag.answer.chain.AnswerChain`, which imports
    this module): its parts, and the methods a test or benchmark may replace on one chain."""

    settings: Settings
    retriever: Retriever
    llm: LLM
    prompts: Prompts
    coverage: Callable[[str, list[str]], float] | None  # read by the answer's log line
    paragraph: Callable[[Chunk], str] | None  # the document paragraph a passage was cut from, if known

    def assemble_context(self, passages: list[Passage], query: str, budget: int) -> list[Passage]: ...

    def context_budget(self, shape: QuestionShape | None = None, hop: bool = False) -> int: ...

    def check(self, query: str, context: list[Passage], shape: QuestionShape) -> float | None: ...

    def check_min(self, shape: str) -> float: ...


def ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 1)


def waited(llm: LLM) -> float:
    """Milliseconds this thread's checks have waited for the model's single worker so far (0 for a back end
    that does not queue in-process)."""
    waited_ms = getattr(llm, "waited_ms", None)
    return float(waited_ms()) if callable(waited_ms) else 0.0


def charge(timings: Timings, stage: ModelStage, started: float, wait: float) -> None:
    """Book model work begun at `started`: its `wait` for the worker goes to `queue_ms`, the rest to `stage`."""
    timings.queue_ms = round(timings.queue_ms + wait, 1)
    setattr(timings, stage, round(getattr(timings, stage) + ms(started) - wait, 1))


class ModelClock:
    """Times checks (`yes_probability`), whose wait the back end counts per thread (`waited`)."""

    def __init__(self, llm: LLM) -> None:
        self.llm = llm
        self.started, self.before = time.perf_counter(), waited(llm)

    def wait(self) -> float:
        return waited(self.llm) - self.before


@dataclass
class Attempt:
    """Retrieval, context and check for one question, with its `top_k`, filters and timings."""

    chain: Reader
    k: int
    filters: Filters | None
    timings: Timings

    def hop(self, passages: list[Passage], hop_query: str) -> list[Passage]:
        """The first passages, then what a further query finds (its time counted as retrieval)."""
        t = time.perf_counter()
        hop = merge(passages, self.chain.retriever.retrieve(hop_query, self.k, self.filters), limit=self.k + 2)
        self.timings.retrieve_ms += ms(t)
        return hop

    def context(self, passages: list[Passage], asked: str, shape: QuestionShape) -> list[Passage]:
        """The context of passages a hop found, at a second hop's budget (timed by the caller)."""
        return self.chain.assemble_context(passages, asked, self.chain.context_budget(shape, hop=True))

    def check(self, asked: str, context: list[Passage], shape: QuestionShape) -> float | None:
        """The check, inside the check phase the chain times."""
        return self.chain.check(asked, context, shape)

    def retry(self, passages: list[Passage], hop_query: str, asked: str,
              shape: QuestionShape) -> tuple[list[Passage], list[Passage], float | None]:
        """Hop → context → check while the check phase is timed: (passages, context, check)."""
        hop = self.hop(passages, hop_query)
        context = self.context(hop, asked, shape)
        return hop, context, self.check(asked, context, shape)

    def retry_timed(self, passages: list[Passage], hop_query: str, asked: str,
                    shape: QuestionShape) -> tuple[list[Passage], list[Passage], float | None]:
        """Hop → context → check after the check phase: the context's time counts as retrieval and the check
        books its own time and wait."""
        hop = self.hop(passages, hop_query)
        t = time.perf_counter()
        context = self.context(hop, asked, shape)
        self.timings.retrieve_ms = round(self.timings.retrieve_ms + ms(t), 1)
        clock = ModelClock(self.chain.llm)
        p_yes = self.check(asked, context, shape)
        charge(self.timings, "check_ms", clock.started, clock.wait())
        return hop, context, p_yes

