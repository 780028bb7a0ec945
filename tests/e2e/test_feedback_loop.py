"""Feedback that becomes tests, end to end with the real default models, as a user runs it: `rag serve`, answers
asked through the `openai` client and rated with httpx, the server stopped, `rag feedback export --gold`, a
baseline `rag eval`, then `rag eval --compare` that passes unchanged and fails when a change breaks the answer a
user confirmed; and `rag audit replay` of a recorded answer, identical at temperature 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
from openai import OpenAI

from tests.conftest import ROOT, SEEDS
from tests.e2e.conftest import free_port, wait_http

CONFIRMED = "Who welcomed Putin at the airport?"
CORRECTED = "What is the capital of Peru?"  # not in the seeds: refused before and after, never a regression


def rag(env: dict[str, str], *args: str, **more: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True,
                          env=env | more, cwd=ROOT, timeout=1200)


def test_feedback_becomes_gold_that_gates_a_change_and_a_recorded_answer_replays_identically(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_STORE__PERSIST_DIR=str(tmp_path / "store"), RAG_STORE__SEEDS_DIR=str(SEEDS),
               RAG_LOG__LEVEL="WARNING")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--port", str(port)], env=env, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base + "/health", "rag serve", tries=1500)
        client = OpenAI(base_url=base + "/v1", api_key="unused", timeout=600)
        good = client.chat.completions.create(model="rag", messages=[{"role": "user", "content": CONFIRMED}])
        assert "Owji" in good.choices[0].message.content
        wrong = client.chat.completions.create(model="rag", messages=[{"role": "user", "content": CORRECTED}])
        follow_up = client.chat.completions.create(model="rag", messages=[
            {"role": "user", "content": CONFIRMED}, {"role": "assistant", "content": good.choices[0].message.content},
            {"role": "user", "content": "At which airport did his plane land?"}])
        assert "Mehrabad" in follow_up.choices[0].message.content
        with httpx.Client(base_url=base, timeout=60) as http:
            up = http.post(f"/v1/answers/{good.model_extra['answer_id']}/feedback", json={"rating": "up"})
            down = http.post(f"/v1/answers/{wrong.model_extra['answer_id']}/feedback",
                             json={"rating": "down", "comment": "it is in the atlas", "correction": "Lima"})
        assert up.status_code == down.status_code == 200, up.text + down.text
    finally:
        server.terminate()
        server.wait(timeout=60)

    gold = tmp_path / "confirmed.jsonl"
    exported = rag(env, "feedback", "export", "--gold", str(gold))
    assert exported.returncode == 0, exported.stderr
    items = [json.loads(x) for x in gold.read_text().splitlines()]
    assert [(i["question"], i["confirmed"]) for i in items] == [(CONFIRMED, "keep"), (CORRECTED, "correction")]
    assert "Owji" in items[0]["answers"][0] and items[1]["answers"] == ["Lima"]

    baseline = tmp_path / "base.json"
    first = rag(env, "eval", str(gold), "--out", str(baseline))
    assert first.returncode == 0, first.stderr[-3000:]
    rows = {r["id"]: r for r in json.loads(baseline.read_text())["rows"]}
    assert rows[items[0]["id"]]["passed"] and not rows[items[1]["id"]]["passed"]
    same = rag(env, "eval", str(gold), "--out", str(tmp_path / "same.json"), "--compare", str(baseline))
    assert same.returncode == 0, same.stdout + same.stderr[-3000:]
    broken = rag(env, "eval", str(gold), "--out", str(tmp_path / "broken.json"), "--compare", str(baseline),
                 RAG_RETRIEVAL__MIN_SCORE="0.99")  # a change that refuses what it used to answer
    assert broken.returncode == 1, broken.stdout + broken.stderr[-3000:]
    assert f"confirmed case broken: {items[0]['id']}" in broken.stderr and items[1]["id"] not in broken.stderr

    for answer_id in (good.model_extra["answer_id"], follow_up.model_extra["answer_id"]):  # the second with history
        replayed = rag(env, "audit", "replay", answer_id)
        assert replayed.returncode == 0 and "identical" in replayed.stdout, replayed.stdout + replayed.stderr[-3000:]
    shown = rag(env, "audit", "show", follow_up.model_extra["answer_id"])
    assert "history: 2 messages" in shown.stdout and "query: " in shown.stdout
