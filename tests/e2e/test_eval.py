"""`rag eval` end to end on seeds/gold.jsonl with the real default models."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, SEEDS


def test_rag_eval_on_the_seed_gold_set_writes_results_report_and_charts(tmp_path) -> None:
    rag = str(Path(sys.executable).parent / "rag")
    out = tmp_path / "seeds.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    # the first 6 answerable questions and the first 2 unanswerable ones keep the test to a few minutes
    gold = [json.loads(x) for x in (SEEDS / "gold.jsonl").read_text().splitlines() if x.strip()]
    subset = [g for g in gold if not g.get("unanswerable")][:6] + [g for g in gold if g.get("unanswerable")][:2]
    gold_file = tmp_path / "gold.jsonl"
    gold_file.write_text("".join(json.dumps(g) + "\n" for g in subset))
    res = subprocess.run([rag, "eval", str(gold_file), "--docs", str(SEEDS), "--out", str(out)],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=1200)
    assert res.returncode == 0, res.stderr[-3000:]
    data = json.loads(out.read_text())
    s = data["summary"]
    assert s["questions"] == 8 and s["answerable_questions"] == 6 and s["unanswerable_questions"] == 2
    assert s["f1"] >= 0.5 and s["hit@5"] >= 0.8 and s["citation_precision"] >= 0.8
    assert s["refusal_recall"] is not None and s["total_ms_p50"] > 0
    row = data["rows"][0]
    assert {"id", "question", "answer", "answerable", "citations", "retrieved", "scores", "timings"} <= set(row)
    report = out.with_suffix(".md").read_text()
    assert "| answer F1 |" in report and "Worst questions" in report
    for chart in ("-f1.png", "-latency.png", "-recall.png"):
        png = tmp_path / f"seeds{chart}"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "answer F1" in res.stdout

    # the regression gate: the same run compared with itself passes; a better "old" run fails it
    same = subprocess.run([rag, "eval", "--compare", str(out), "--against", str(out)], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=300)
    assert same.returncode == 0, same.stderr
    better = json.loads(out.read_text())
    better["summary"]["f1"] = s["f1"] + 0.2  # a synthetic better past run
    old = tmp_path / "old.json"
    old.write_text(json.dumps(better))
    worse = subprocess.run([rag, "eval", "--compare", str(old), "--against", str(out)], capture_output=True,
                           text=True, env=env, cwd=ROOT, timeout=300)
    assert worse.returncode == 1 and "f1" in worse.stdout and "REGRESSION" in worse.stdout
