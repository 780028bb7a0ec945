"""`rag audit` and `rag feedback` as a user runs them, each a process of its own (the scripted model and hashed
embeddings stand in for the real ones): ask, show the record, replay it, give feedback, export it as gold,
gate a change with `rag eval --compare`, erase the user's records."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import text

from rag.components import Components
from rag.config import Settings
from rag.services import feedback
from rag.state.tables import answers
from rag.types import SINGLE_USER
from tests.conftest import ROOT, SEED_DOC


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_STORE__PERSIST_DIR=str(tmp_path / "store"), RAG_STORE__SEEDS_DIR=str(tmp_path / "none"),
               RAG_EMBED__BACKEND="hash", RAG_LLM__BACKEND="scripted", RAG_LOG__LEVEL="WARNING")
    return env


def rag(env: dict[str, str], *args: str, **more: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True,
                          env=env | more, cwd=ROOT, timeout=300)


def test_ask_show_replay_feedback_export_compare_and_erase(env, tmp_path) -> None:
    assert rag(env, "ingest", str(SEED_DOC)).returncode == 0
    asked = rag(env, "ask", "--json", "Who welcomed Putin at the airport?")
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout.strip().splitlines()[-1])
    plain = rag(env, "ask", "Who welcomed Putin at the airport?")
    assert plain.returncode == 0 and "answer id " in plain.stderr, plain.stderr  # to look the answer up

    shown = rag(env, "audit", "show", answer["id"])
    assert shown.returncode == 0, shown.stderr
    assert "question: Who welcomed Putin at the airport?" in shown.stdout and "asked by: admin" in shown.stdout
    assert answer["citations"][0]["quote"] in shown.stdout
    record = json.loads(rag(env, "audit", "show", "--json", answer["id"]).stdout)
    assert record["answer"] == answer["answer"] and record["context"] and len(record["settings_digest"]) == 64

    replayed = rag(env, "audit", "replay", answer["id"])
    assert replayed.returncode == 0 and "identical" in replayed.stdout, replayed.stdout + replayed.stderr
    comps = Components(Settings(_env_file=None, store={"persist_dir": tmp_path / "store"}))  # its state
    with comps.database.begin() as db:  # a record edited behind the application's back, its guard dropped
        db.execute(text("DROP TRIGGER answers_append_only"))
        db.execute(answers.update().where(answers.c.id == answer["id"]).values(answer="Someone else [1]."))
    changed = rag(env, "audit", "replay", answer["id"])
    assert changed.returncode == 1, changed.stdout + changed.stderr
    assert "-Someone else [1]." in changed.stdout and "+" + answer["answer"] in changed.stdout
    assert rag(env, "audit", "show", "0123456789abcdef").returncode == 2

    refused = json.loads(rag(env, "ask", "--json", "What is the capital of Peru?").stdout.strip().splitlines()[-1])
    feedback.give(comps, answer["id"], SINGLE_USER, "up")
    feedback.give(comps, refused["id"], SINGLE_USER, "down", correction="Lima")
    comps.database.dispose()
    gold = tmp_path / "confirmed.jsonl"
    exported = rag(env, "feedback", "export", "--gold", str(gold))
    assert exported.returncode == 0 and "1 corrections, 1 to keep" in exported.stdout, exported.stderr
    items = {i["id"]: i for i in map(json.loads, gold.read_text().splitlines())}
    assert items[f"feedback-{answer['id']}"]["confirmed"] == "keep"
    assert items[f"feedback-{refused['id']}"]["answers"] == ["Lima"]

    base = tmp_path / "base.json"
    assert rag(env, "eval", str(gold), "--out", str(base)).returncode == 0
    same = rag(env, "eval", str(gold), "--out", str(tmp_path / "same.json"), "--compare", str(base))
    assert same.returncode == 0, same.stdout + same.stderr  # Lima was wrong before too: not a regression
    broken = rag(env, "eval", str(gold), "--out", str(tmp_path / "broken.json"), "--compare", str(base),
                 RAG_RETRIEVAL__MIN_SCORE="0.99")  # a change that refuses every question
    assert broken.returncode == 1 and f"confirmed case broken: feedback-{answer['id']}" in broken.stderr
    assert f"feedback-{refused['id']}" not in broken.stderr

    erased = rag(env, "audit", "erase", "--user", "admin")
    assert erased.returncode == 0 and "erased 3 answer records of admin" in erased.stdout
    assert rag(env, "audit", "show", answer["id"]).returncode == 2

