"""A fast `rag ask`: the shared prompt prefix a process evaluates is kept on disk and restored by the next
process, which then skips reading it; a damaged state file is ignored and written again. The answers are the
same each way. Real model, real `rag ask` processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from rag.backends.weights import ensure_model
from rag.config import PROJECT_ROOT, Settings

QUESTION = "Who welcomed Putin at the airport?"


def _ask(env: dict[str, str], imported: set[str] | None = None) -> tuple[dict, dict]:
    """(the answer's JSON, the fields of the warm-up's log line); `imported` collects the modules the process
    imported (or, refused, tried to: `python -X importtime` lists both)."""
    if imported is not None:
        env = env | {"PYTHONPROFILEIMPORTTIME": "1"}
    done = subprocess.run([sys.executable, "-m", "rag.cli", "ask", "--json", QUESTION], env=env, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=600, check=True)
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith('{"time"')]
    warm = [x for x in lines if x["logger"] == "rag.warm"]
    assert len(warm) == 1, done.stderr
    if imported is not None:
        imported.update(line.rpartition("|")[2].strip()
                        for line in done.stderr.splitlines() if line.startswith("import time:"))
    return json.loads(done.stdout), warm[0]


def test_a_second_process_restores_the_prefix_from_disk(tmp_path) -> None:
    settings = Settings(_env_file=None)
    model = ensure_model(settings.llm.preset, settings.llm.cache_dir)
    cache = tmp_path / "cache"
    env = os.environ | {"RAG_STORE__PERSIST_DIR": str(tmp_path / "store"), "RAG_LLM__MODEL_PATH": str(model),
                        "RAG_LLM__CACHE_DIR": str(cache), "RAG_LOG__LEVEL": "DEBUG", "RAG_LOG__FORMAT": "json"}
    first, warm1 = _ask(env)
    assert warm1["prefix"] == "evaluated" and warm1["written"] is True and warm1["prefix_tokens"] > 400
    [state] = list((cache / "prefix-states").glob("prefix-*.kv"))

    imported: set[str] = set()
    second, warm2 = _ask(env, imported)
    assert warm2["prefix"] == "disk" and warm2["prefix_tokens"] == warm1["prefix_tokens"]
    # the store exists: the question's embedding and sentences need neither torch nor nltk's scipy extras
    assert any(m.startswith("nltk.tokenize") for m in imported) and any(m.startswith("safetensors") for m in imported)
    # (a refused import is listed too, by its name alone: these are modules inside the refused ones)
    heavy = {"torch", "torch.nn", "sentence_transformers", "scipy.stats._stats_py", "sklearn.utils"}
    assert not imported & heavy, imported & heavy
    # the process ends without the interpreter's teardown (rag.cli._leave_now): its answer's record was
    # committed first, and the log line above was flushed
    shown = subprocess.run([sys.executable, "-m", "rag.cli", "audit", "show", second["id"]], env=env,
                           cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0 and QUESTION in shown.stdout, shown.stderr
    assert warm2["prefix_ms"] < warm1["prefix_ms"] / 2  # restoring beats reading the prefix again
    assert second["answer"] == first["answer"]

    state.write_bytes(state.read_bytes()[: state.stat().st_size // 2])  # cut off: ignored, then rewritten
    third, warm3 = _ask(env)
    assert warm3["prefix"] == "evaluated" and warm3["written"] is True
    assert third["answer"] == first["answer"]
    assert list((cache / "prefix-states").glob("prefix-*.kv")) == [state] and state.stat().st_size > 1000
    assert not list((cache / "prefix-states").glob(".*.tmp"))


def test_a_state_file_of_another_prefix_is_not_used(tmp_path) -> None:
    """The file name is keyed by the identity; a file whose header names another prefix under that name (a
    hash collision, or a hand-copied file) is still refused by the header check."""
    from rag.backends.llm import _MAGIC, LlamaCppLLM

    settings = Settings(_env_file=None)
    llm = LlamaCppLLM(ensure_model(settings.llm.preset, settings.llm.cache_dir), 2048, None,
                      state_dir=tmp_path / "states")
    llama = llm.load()
    prefix = llama.tokenize(b"You answer from passages.", add_bos=False)
    path = llm._state_file(llm._state_identity(llama, prefix))
    assert path is not None and path.parent == Path(tmp_path / "states")
    header = json.dumps({"identity": llm._state_identity(llama, prefix), "prefix": prefix[:-1], "bytes": 4}).encode()
    path.parent.mkdir(parents=True)
    path.write_bytes(_MAGIC + len(header).to_bytes(4, "little") + header + b"\0\0\0\0")
    assert llm._load_prefix(llama, prefix) is False
