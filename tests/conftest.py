from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.components import offline_environment
from rag.models import testing

offline_environment()  # the tests are an entry point too

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_DOC = SEEDS / "putin-tehran-visit-iran-russia-nato-july-2022.txt"


class HashEmbedder(testing.HashEmbedder):
    """The `hash` embedding back end (a deterministic bag of words), 64-dimensional by default here: a fast
    stand-in for unit tests of the store and pipeline."""

    def __init__(self, dim: int = 64) -> None:
        super().__init__(dim)


def sse_events(text: str) -> list[tuple[str, dict]]:
    """(event, data) of each Server-Sent Event in a response body; an unnamed event is a "message"."""
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        out.append((lines.get("event", "message"), json.loads(lines["data"])))
    return out


@pytest.fixture
def hash_embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture
def settings(tmp_path):
    from rag.settings import Settings

    return Settings(persist_dir=tmp_path / "store", collection="test", _env_file=None)
