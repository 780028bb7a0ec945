"""The simple baseline (`rag eval --baseline simple`): the floor every default must beat on every corpus.

Whole retrieved chunks as context (our chunks: sentences packed to `ingest.chunk_size` tokens), the first
stage of retrieval alone (`retrieval.mode`, no rerank, `SIMPLE_TOP_K` chunks), one chat prompt, the same
models, and a refusal only when the model says it does not know. No check, no shape budgets, no rules, no
citation checker: what the answer chain adds over this is what the comparison measures. Its answer is scored
as ours is: the same shape classifier and short-answer reading for yes/no and choice questions.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rag.answer.citations.stream import is_refusal
from rag.answer.shapes import classify, short_answer
from rag.components import Components
from rag.eval.gold import GoldItem
from rag.eval.runner import KS, SystemAnswer, passage_row

SIMPLE_TOP_K = 4  # as the 40-line pipeline of issue #30 (MiniLM top-4)
SIMPLE_PROMPT = ("Answer the question using only the passages below, in a few words or one sentence. If the "
                 "passages do not contain the answer, reply exactly: I don't know.")


def simple_baseline(comps: Components, top_k_eval: int = max(KS)) -> Callable[[GoldItem], SystemAnswer]:
    """One retrieval, one prompt, one generation per question; refused only when the model declines."""
    first_stage = comps.with_settings({"retrieval.rerank": False}).retriever
    llm, policy = comps.llm, comps.settings.llm

    def run(item: GoldItem) -> SystemAnswer:
        t0 = time.perf_counter()
        ranked = first_stage.retrieve(item.question, max(top_k_eval, SIMPLE_TOP_K))
        context = ranked[:SIMPLE_TOP_K]
        t1 = time.perf_counter()
        passages = "\n\n".join(f"[{i}] {p.chunk.text}" for i, p in enumerate(context, start=1))
        messages = [{"role": "system", "content": SIMPLE_PROMPT},
                    {"role": "user", "content": f"Passages:\n{passages}\n\nQuestion: {item.question}"}]
        usage: dict[str, int] = {}
        text, first = "", None
        for delta in llm.stream_chat(messages, policy.max_tokens, policy.temperature, usage):
            if first is None and delta:
                first = time.perf_counter()
            text += delta
        t2 = time.perf_counter()
        text = text.strip()
        shape = classify(item.question)
        answered = bool(text) and not is_refusal(text)
        queue = float(usage.pop("queue_ms", 0.0))
        ms = {"retrieve_ms": (t1 - t0) * 1000, "queue_ms": queue, "generate_ms": (t2 - t1) * 1000 - queue,
              "total_ms": (t2 - t0) * 1000, "first_token_ms": (first - t0) * 1000 if first is not None else None}
        return SystemAnswer(
            answer=text, answerable=answered, retrieved=[passage_row(p) for p in ranked[:top_k_eval]],
            citations=[], timings={k: round(v, 1) for k, v in ms.items() if v is not None},
            usage={k: int(v) for k, v in usage.items()}, query=item.question, shape=shape.shape,
            short_answer=short_answer(shape.shape, text, shape.options) if answered else "",
            context=[p.chunk.text for p in context], cites=False)

    return run
