"""The llama-index synthesiser baseline (`rag eval --baseline llamaindex-synth`): our retriever, llama-index's
answer step, scored beside our chain. With the test back ends (scripted LLM, hash embedder): no model loads."""

from __future__ import annotations

import json

import pytest

from rag.components import Components
from rag.config import Settings
from rag.eval.baseline import synthesiser_baseline
from rag.eval.gold import GoldItem
from rag.eval.report import headline_table
from rag.eval.runner import ours, run_eval
from rag.eval.simple import SIMPLE_TOP_K, simple_baseline
from tests.answer.test_stream_truth import OneReplyLLM
from tests.conftest import SEED_DOC, SEEDS
from tests.eval.test_sweep import _rag_eval

GAS = GoldItem(id="gas", question="Which gas fields does the Gazprom agreement cover?",
               answers=["Kish and North Pars"], doc=SEED_DOC.name,
               evidence="the development of the Kish and North Pars gas fields")
NONE = GoldItem(id="none", question="What is the population of Mars?", unanswerable=True)


class Recording:
    """The scripted LLM, keeping the prompts it was given."""

    def __init__(self, llm) -> None:
        self.llm, self.name, self.prompts = llm, llm.name, []

    def stream_chat(self, messages, max_tokens, temperature, usage=None):
        self.prompts.append(messages[-1]["content"])
        return self.llm.stream_chat(messages, max_tokens, temperature, usage)


@pytest.fixture(scope="module")
def comps(tmp_path_factory) -> Components:
    settings = Settings(
        _env_file=None,
        llm={"backend": "scripted"},
        embed={"backend": "hash"},
        store={
            "seeds_dir": SEEDS / "none",
            "persist_dir": tmp_path_factory.mktemp("synth") / "store",
            "collection": "synth",
        },
    )
    c = Components(settings)
    c.ingestor.ingest_paths([SEED_DOC])
    return c


def test_the_synthesiser_answers_over_our_retriever_with_llama_index_s_default_prompt(comps) -> None:
    recording = Recording(comps.llm)
    got = synthesiser_baseline(Components(comps.settings, store=comps.store, embedder=comps.embedder,
                                          llm=recording, keyword_index=comps.keyword_index))(GAS)
    assert "Kish and North Pars" in got.answer and got.answerable and "[" not in got.answer  # no markers
    [prompt] = recording.prompts  # compact mode: the top_k passages fit one prompt
    assert prompt.startswith("Context information is below.") and prompt.rstrip().endswith("Answer:")
    read = comps.retriever.retrieve(GAS.question, comps.settings.retrieval.top_k)
    assert got.context == [p.chunk.text for p in read]  # the chain's retriever, its top_k
    assert all(p.chunk.text in prompt for p in read)
    # the scored list is the same deeper list of the same retriever as for our chain
    assert [r["text"] for r in got.retrieved] == [r["text"] for r in ours(comps)(GAS).retrieved]
    assert {"retrieve_ms", "generate_ms", "total_ms", "first_token_ms"} <= set(got.timings)
    assert got.timings["retrieve_ms"] + got.timings["generate_ms"] == pytest.approx(got.timings["total_ms"], abs=0.2)
    assert got.usage["prompt_tokens"] > 0 and got.usage["completion_tokens"] > 0
    assert not got.cites and got.citations == [] and got.grounded is None


def test_its_report_column_has_answer_and_retrieval_scores_and_no_citation_scores(comps) -> None:
    runs = {"ours": run_eval([GAS, NONE], ours(comps)),
            "llama-index synth": run_eval([GAS, NONE], synthesiser_baseline(comps))}
    synth = runs["llama-index synth"]["summary"]
    assert synth["f1"] > 0 and synth["contains"] == 1.0 and synth["refusal_recall"] is not None
    assert synth["hit@5"] == runs["ours"]["summary"]["hit@5"] == 1.0
    assert synth["mrr"] == runs["ours"]["summary"]["mrr"]  # same retriever
    for key in ("citation_precision", "citation_recall", "cited_sentence_share", "grounded", "check_ms_p50"):
        assert synth[key] is None, key
    assert synth["total_ms_p50"] is not None and synth["context_recall"] == 1.0
    rows = {line.split(" | ")[0]: line for line in headline_table(runs).splitlines()}
    assert rows["| metric"] == "| metric | ours | llama-index synth |"
    assert rows["| citation precision"].endswith("| — |") and rows["| grounded (supported sentences)"].endswith("| — |")
    assert not rows["| answer F1"].endswith("| — |")


def test_rag_eval_baseline_llamaindex_synth(tmp_path) -> None:
    out = tmp_path / "synth.json"
    res = _rag_eval(str(SEEDS / "gold.jsonl"), "--docs", str(SEEDS), "--sample", "5", "--out", str(out),
                    "--baseline", "llamaindex-synth", cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    table = {line.split(" | ")[0]: line for line in res.stdout.splitlines() if line.startswith("|")}
    assert table["| metric"].startswith("| metric | ours | llama-index synth |"), res.stdout
    assert table["| citation recall"].endswith("| — |")
    data = json.loads(out.read_text())
    synth = data["baselines"]["llama-index synth"]
    assert synth["config"]["system"] == "llama-index synth" and synth["summary"]["questions"] == 5
    assert synth["summary"]["f1"] is not None and synth["summary"]["grounded"] is None
    assert synth["summary"]["recall@5"] == data["summary"]["recall@5"]  # same retriever, same retrieval scores
    assert "llama-index synth" in out.with_suffix(".md").read_text()
    bad = _rag_eval(str(SEEDS / "gold.jsonl"), "--docs", str(SEEDS), "--limit", "1", "--baseline", "other",
                    cwd=tmp_path)
    assert bad.returncode == 2 and "llamaindex-synth" in bad.stderr


def test_the_simple_baseline_reads_whole_first_stage_chunks_with_one_prompt(comps) -> None:
    recording = Recording(comps.llm)
    got = simple_baseline(Components(comps.settings, store=comps.store, embedder=comps.embedder,
                                     llm=recording, keyword_index=comps.keyword_index))(GAS)
    assert "Kish and North Pars" in got.answer and got.answerable and not got.cites
    [prompt] = recording.prompts  # one generation: no check, no verdict, no re-ask
    first = comps.with_settings({"retrieval.rerank": False}).retriever.retrieve(GAS.question, SIMPLE_TOP_K)
    assert got.context == [p.chunk.text for p in first]  # whole chunks of the first stage, top 4
    assert all(p.chunk.text in prompt for p in first) and prompt.endswith(f"Question: {GAS.question}")
    assert got.shape == "factoid" and got.short_answer and got.usage["completion_tokens"] > 0
    assert {"retrieve_ms", "generate_ms", "total_ms", "first_token_ms"} <= set(got.timings)


def test_the_simple_baseline_refuses_only_when_the_model_declines(comps) -> None:
    declining = Components(comps.settings, store=comps.store, embedder=comps.embedder,
                           llm=OneReplyLLM("I don't know."), keyword_index=comps.keyword_index)
    got = simple_baseline(declining)(GAS)
    assert not got.answerable and got.short_answer == ""
    yes = GoldItem(id="yes", question="Did Putin visit Tehran?", answers=["yes"], shape="yesno")
    said = simple_baseline(Components(comps.settings, store=comps.store, embedder=comps.embedder,
                                      llm=OneReplyLLM("Yes, he did."), keyword_index=comps.keyword_index))(yes)
    assert said.answerable and said.shape == "yesno" and said.short_answer == "yes"  # scored as ours is


def test_rag_eval_baseline_simple(tmp_path) -> None:
    out = tmp_path / "simple.json"
    res = _rag_eval(str(SEEDS / "gold.jsonl"), "--docs", str(SEEDS), "--sample", "4", "--out", str(out),
                    "--baseline", "simple", cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    table = {line.split(" | ")[0]: line for line in res.stdout.splitlines() if line.startswith("|")}
    assert table["| metric"].startswith("| metric | ours | simple |"), res.stdout
    assert len(json.loads(out.read_text())["baselines"]["simple"]["rows"]) == 4
