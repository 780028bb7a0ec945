"""`rag eval --set`: parsing, the grid of values, the override reaching the chain, and a tiny sweep run end to end
with the test back ends (`RAG_LLM__BACKEND=scripted`, `RAG_EMBED__BACKEND=hash`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from rag.components import Components
from rag.config import Settings, overridden
from rag.eval.report import sweep_table
from rag.eval.sweep import grid, parse_set, variants
from tests.conftest import ROOT, SEED_DOC, SEEDS


def test_a_set_option_names_a_policy_setting_and_its_values() -> None:
    assert parse_set("answer.check_min=0.3,0.35, 0.4") == ("answer.check_min", ["0.3", "0.35", "0.4"])
    assert parse_set("retrieval.rerank_weights.rank=0.6") == ("retrieval.rerank_weights.rank", ["0.6"])
    assert parse_set('answer.check_min_by_shape={"list":0.45,"why":0.45},{}') == (
        "answer.check_min_by_shape", ['{"list":0.45,"why":0.45}', "{}"])
    for bad, said in [("answer.check_min", "SECTION.NAME=VALUE"), ("=0.3", "SECTION.NAME=VALUE"),
                      ("chunk_size=64", "only the retrieval and answer"), ("answer=1", "only the retrieval"),
                      ("answer.check_min=0.3,", "an empty value")]:
        with pytest.raises(ValueError, match=said):
            parse_set(bad)


def test_several_set_options_make_a_grid_checked_before_anything_runs() -> None:
    settings = Settings(_env_file=None)
    points = grid(["answer.check_min=0.3,0.4", "retrieval.rrf_k=5,60"], settings)
    assert points == [{"answer.check_min": "0.3", "retrieval.rrf_k": "5"},
                      {"answer.check_min": "0.3", "retrieval.rrf_k": "60"},
                      {"answer.check_min": "0.4", "retrieval.rrf_k": "5"},
                      {"answer.check_min": "0.4", "retrieval.rrf_k": "60"}]
    for bad, said in [(["answer.check_min=0.3,1.5"], "answer.check_min=1.5: Input should be less than or equal"),
                      (["answer.chek_min=0.3"], "unknown setting 'answer.chek_min'"),
                      (["retrieval.mode=fuzzy"], "retrieval.mode=fuzzy"),
                      (["answer.check_min=0.3", "answer.check_min=0.4"], "names a setting twice")]:
        with pytest.raises(ValueError, match=said):
            grid(bad, settings)
    names = [name for name, _, _ in variants(points[:1], ["dense", "hybrid"])]
    assert names == ["answer.check_min=0.3, retrieval.rrf_k=5 (dense)",
                     "answer.check_min=0.3, retrieval.rrf_k=5 (hybrid)"]
    assert variants([{}], None) == [("ours", {}, {})]  # no sweep, no --mode: the one run it always was
    assert variants([{"retrieval.mode": "bm25"}], ["dense"])[0][2] == {"retrieval.mode": "dense"}  # --mode wins


def test_a_setting_holding_a_table_takes_json_as_the_environment_does() -> None:
    """A per-shape table is swept as JSON, the way RAG_ANSWER__CONTEXT_TOKENS_BY_SHAPE reads it."""
    settings = Settings(_env_file=None)
    points = grid(['answer.context_tokens_by_shape={"why":350},{"why":450}'], settings)
    assert [p["answer.context_tokens_by_shape"] for p in points] == ['{"why":350}', '{"why":450}']
    run = overridden(settings, points[0])
    assert run.answer.context_tokens_by_shape == {"why": 350}
    with pytest.raises(ValueError, match="context_tokens_by_shape"):
        grid(['answer.context_tokens_by_shape={"why":8}'], settings)  # below the budget's floor (32)


def test_a_swept_value_is_the_one_the_chain_acts_on(tmp_path) -> None:
    """Through the composition root, with the test back ends: the scripted model's check says 0.9, so at
    check_min 0.3 the question is answered and at 0.95 it is refused by the check; nothing else differs."""
    settings = Settings(
        _env_file=None,
        llm={"backend": "scripted"},
        embed={"backend": "hash"},
        answer={"steps": ["pre_answer_refusal"]},  # the step the check's threshold acts through
        store={"persist_dir": tmp_path / "store", "collection": "sweep", "seeds_dir": tmp_path / "none"},
    )
    comps = Components(settings)
    comps.ingestor.ingest_paths([SEED_DOC])
    answers = {}
    for point in grid(["answer.check_min=0.3,0.95"], settings):
        run = comps.with_settings(point)
        assert run.store is comps.store and run.llm is comps.llm  # ingested and loaded once
        assert run.settings.answer.check_min == float(point["answer.check_min"])
        assert run.settings.model_dump(exclude={"answer"}) == settings.model_dump(exclude={"answer"})
        answers[point["answer.check_min"]] = run.chain.answer("Who welcomed Putin at the airport?")
    assert answers["0.3"].answerable and "Javad Owji" in answers["0.3"].answer
    assert not answers["0.95"].answerable and answers["0.95"].refusal_reason == "check"


def test_the_sweep_table_has_one_row_per_run() -> None:
    def run(check_min: str, mode: str, f1: float) -> dict:
        return {"config": {"set": {"answer.check_min": check_min}, "retrieval": {"mode": mode}},
                "summary": {"f1": f1, "grounded": 1.0, "false_refusal_rate": 0.25}}

    table = sweep_table({"a": run("0.3", "dense", 0.5), "b": run("0.4", "hybrid", 0.25),
                         "llama-index": {"config": {"set": None}, "summary": {"f1": 0.1}}})
    lines = table.splitlines()
    assert lines[0].startswith("| answer.check_min | retrieval.mode | F1 | EM | grounded |")
    assert lines[2].startswith("| 0.3 | dense | 0.500 | — | 1 |") and lines[3].startswith("| 0.4 | hybrid | 0.250 |")
    assert len(lines) == 4  # the baseline is no row of the sweep


def _rag_eval(*args: str, cwd, **settings: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")} | settings
    env.update(RAG_LLM__BACKEND="scripted", RAG_EMBED__BACKEND="hash", RAG_LOG__LEVEL="WARNING",
               RAG_ANSWER__STEPS='["pre_answer_refusal"]',  # the step the swept check threshold acts through
               PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p))
    return subprocess.run([sys.executable, "-m", "rag.cli", "eval", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)


def test_rag_eval_set_runs_once_per_value_and_prints_a_row_each(tmp_path) -> None:
    out = tmp_path / "sweep.json"
    res = _rag_eval(str(SEEDS / "gold.jsonl"), "--docs", str(SEEDS), "--sample", "8", "--out", str(out),
                    "--set", "answer.check_min=0.3,0.95", cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    table = [line for line in res.stdout.splitlines() if line.startswith("|")]
    assert table[0].startswith("| answer.check_min | F1 |") and len(table) == 4, res.stdout
    assert table[2].startswith("| 0.3 |") and table[3].startswith("| 0.95 |")
    data = json.loads(out.read_text())
    sweep = {row["set"]["answer.check_min"]: row["summary"] for row in data["sweep"]}
    assert set(sweep) == {"0.3", "0.95"} and all(s["questions"] == 8 for s in sweep.values())
    assert sweep["0.3"]["false_refusal_rate"] < sweep["0.95"]["false_refusal_rate"] == 1.0  # the check refuses all
    assert data["config"]["answer"]["check_min"] == 0.3 and data["config"]["answer"]["support_min"] == 0.5
    assert "## Sweep" in out.with_suffix(".md").read_text()
    # a sweep is no single run to gate: --compare with it is refused before anything runs
    refused = _rag_eval(str(SEEDS / "gold.jsonl"), "--compare", str(out), "--set", "answer.check_min=0.3,0.4",
                        cwd=tmp_path)
    assert refused.returncode == 2 and "--compare gates one run" in refused.stderr


def test_a_swept_prompts_folder_is_the_one_the_chain_reads(tmp_path) -> None:
    """`--set answer.prompts_dir=…` compares prompt wordings: the swept folder's prompts, not the root's."""
    from rag.answer.prompting import packaged_prompts

    other = tmp_path / "prompts"
    shutil.copytree(packaged_prompts(), other)
    (other / "refusal.txt").write_text("Not in these documents.", encoding="utf-8")
    settings = Settings(_env_file=None, llm={"backend": "scripted"}, embed={"backend": "hash"},
                        store={"persist_dir": tmp_path / "store", "collection": "sweep",
                               "seeds_dir": tmp_path / "none"})
    comps = Components(settings)
    assert comps.with_settings({"answer.check_min": "0.5"}).prompts is comps.prompts  # loaded once
    assert comps.with_settings({"answer.prompts_dir": str(other)}).prompts.refusal == "Not in these documents."
