"""The numpy query encoder against sentence-transformers on the packaged MiniLM: the same vectors to float32
rounding, so a store written by one answers queries embedded by the other; and the local embedder's routing,
which keeps torch out of a process that embeds only a question and its passages' sentences."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag.backends.bert_numpy import NumpyBert
from rag.backends.embedder import LocalEmbedder, build_embedder, packaged_minilm_path
from rag.config import Settings
from tests.conftest import SEED_DOC

PARAGRAPHS = [p for p in SEED_DOC.read_text(encoding="utf-8").split("\n\n") if p.strip()][:8]
TEXTS = [*PARAGRAPHS, "Who hosted the summit in Tehran?", "x", "", "naïve café — “quotes” 東京 🙂",
         " ".join(PARAGRAPHS) * 2]  # the last is past the 256-token limit: truncated the same way


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    return np.asarray(LocalEmbedder(packaged_minilm_path(), numpy_max_texts=0).embed_documents(TEXTS))


def test_numpy_vectors_match_sentence_transformers(reference: np.ndarray) -> None:
    encoder = NumpyBert(packaged_minilm_path(), batch_size=4)  # several batches, each padded differently
    together = encoder.encode(TEXTS)
    np.testing.assert_allclose(together, reference, atol=2e-6)
    alone = np.stack([encoder.encode([t])[0] for t in TEXTS])  # padding must not change a text's vector
    np.testing.assert_allclose(alone, together, atol=2e-6)
    assert encoder.encode([]).shape == (0, 384)


def test_only_models_it_computes_exactly_are_run(tmp_path) -> None:
    assert NumpyBert.runs(packaged_minilm_path())
    folder = tmp_path / "cls-pooled"
    src = packaged_minilm_path()
    folder.mkdir()
    for name in ("config.json", "modules.json"):
        (folder / name).write_text((Path(src) / name).read_text())
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True}))
    (folder / "model.safetensors").write_bytes(b"")
    (folder / "tokenizer.json").write_text("{}")
    assert not NumpyBert.runs(folder)  # CLS pooling: sentence-transformers' job
    assert not NumpyBert.runs(tmp_path / "missing")
    embedder = LocalEmbedder(str(folder))
    assert embedder.numpy_encoder is None  # and the embedder falls back to sentence-transformers


def test_queries_and_small_batches_stay_out_of_torch(reference: np.ndarray) -> None:
    embedder = build_embedder(Settings(_env_file=None))
    assert isinstance(embedder, LocalEmbedder) and embedder.numpy_max_texts == 64
    np.testing.assert_allclose(embedder.embed_query(TEXTS[8]), reference[8], atol=2e-6)
    np.testing.assert_allclose(embedder.embed_documents(TEXTS[:3]), reference[:3], atol=2e-6)
    assert embedder._model is None  # sentence-transformers never loaded
    embedder.embed_documents(["text"] * 65)  # a batch past the limit loads it, and then it does the batches
    assert embedder._model is not None


def test_a_question_and_its_sentences_import_neither_torch_nor_scipy() -> None:
    """What a cold `rag ask` embeds and splits, in a new interpreter: scipy and sklearn (nltk's optional
    extras; scipy.special is imported) and torch stay unimported, and importing scipy afterwards still works."""
    code = """
import sys
from pathlib import Path
from rag.backends.embedder import LocalEmbedder, packaged_minilm_path
from rag.text.sentences import sentence_spans, abbreviations
e = LocalEmbedder(packaged_minilm_path())
e.warm(documents=False)
e.embed_documents(["One sentence.", "Another one."])
assert sentence_spans("Dr. Smith met the U.S. envoy. Then he left.") == [(0, 29), (30, 43)]
assert "dr" in abbreviations()
print(sorted(m for m in ("torch", "scipy.stats", "sklearn", "sentence_transformers") if m in sys.modules))
import scipy.stats
print("scipy ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.splitlines() == ["[]", "scipy ok"], out.stderr


def test_the_nltk_guard_holds_only_its_own_thread() -> None:
    code = """
import sys, threading
from rag.text.sentences import _WithoutExtras
guards = []
t = threading.Thread(target=lambda: guards.append(_WithoutExtras())); t.start(); t.join()
sys.meta_path.insert(0, guards[0])
import scipy.special  # another thread's guard: this thread imports as usual
mine = _WithoutExtras()
sys.meta_path.insert(0, mine)
try:
    import sklearn
except ModuleNotFoundError:
    print("refused")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.strip() == "refused", out.stderr
