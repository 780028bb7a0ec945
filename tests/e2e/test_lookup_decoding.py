"""Prompt-lookup decoding with the real model: the same greedy text as llama-cpp-python's own decoding, with
drafted tokens the model agreed with (so fewer forward passes than tokens)."""

from __future__ import annotations

from rag.answer.prompting import answer_messages


def test_lookup_decoding_writes_plain_greedy_text(comps) -> None:
    llm = comps.llm
    question = "Why did Khamenei want Iran and Russia to stop using the US dollar in their trade?"
    final = comps.chain.answer(question)
    messages = answer_messages(comps.prompts, question, final.context, final.shape)
    before = llm.lookup_tokens
    try:
        llm.lookup_tokens = 0
        usage_plain: dict = {}
        plain = "".join(llm.stream_chat(messages, 200, 0.0, usage_plain))
        llm.lookup_tokens = 4
        stats = dict(llm.lookup_stats)
        usage_fast: dict = {}
        fast = "".join(llm.stream_chat(messages, 200, 0.0, usage_fast))
    finally:
        llm.lookup_tokens = before
    assert fast == plain and len(plain.split()) > 8
    passes = llm.lookup_stats["passes"] - stats["passes"]
    accepted = llm.lookup_stats["accepted"] - stats["accepted"]
    assert accepted > 0 and passes + accepted == usage_fast["completion_tokens"]
    assert usage_fast["completion_tokens"] == usage_plain["completion_tokens"]
