"""The local embedder with the packaged MiniLM: bfloat16 (the default on AMX CPUs) must give the vectors float32
gives, closely enough that a store written in one precision answers queries embedded in the other."""

from __future__ import annotations

import numpy as np
import pytest

from rag.backends.embedder import LocalEmbedder, build_embedder, packaged_minilm_path
from rag.config import Settings
from tests.conftest import SEED_DOC

TEXTS = [p for p in SEED_DOC.read_text(encoding="utf-8").split("\n\n") if p.strip()][:6] + [
    "Who hosted the summit in Tehran?", "x"]


@pytest.fixture(scope="module")
def vectors() -> dict[str, np.ndarray]:
    path = packaged_minilm_path()
    return {p: np.asarray(LocalEmbedder(path, precision=p).embed_documents(TEXTS)) for p in ("float32", "bfloat16")}


def test_bfloat16_vectors_match_float32(vectors: dict[str, np.ndarray]) -> None:
    a, b = vectors["float32"], vectors["bfloat16"]
    assert a.shape == b.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-3)
    cosine = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    assert cosine.min() > 0.999, cosine
    assert not np.array_equal(a, b)  # the setting really changed the arithmetic


def test_precision_is_a_setting() -> None:
    assert build_embedder(Settings(embed={"precision": "float32"})).uses_bfloat16() is False  # type: ignore[union-attr]
    assert build_embedder(Settings(embed={"precision": "bfloat16"})).uses_bfloat16() is True  # type: ignore[union-attr]
    import torch

    auto = build_embedder(Settings()).uses_bfloat16()  # type: ignore[union-attr]
    assert auto is bool(torch.cpu.get_capabilities().get("amx_bf16"))


def test_a_query_is_embedded_once_for_retrieval_and_context_assembly() -> None:
    from rag.backends.embedder import _QueryMemo

    class Counting(_QueryMemo):
        def __init__(self) -> None:
            self.calls: list[list[str]] = []

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            self.calls.append(list(texts))
            return [[float(len(t)), 1.0] for t in texts]

    e = Counting()
    first = e.embed_query("Who welcomed Putin?")
    first.append(99.0)  # a caller's change does not reach the kept vector
    assert e.embed_query("Who welcomed Putin?") == [19.0, 1.0] and e.calls == [["Who welcomed Putin?"]]
    assert e.embed_query("Where?") == [6.0, 1.0] and len(e.calls) == 2
