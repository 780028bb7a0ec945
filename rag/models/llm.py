"""LLM back ends behind one narrow interface: in-process llama.cpp, or any OpenAI-compatible server."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from rag.settings import Settings

Message = dict[str, str]


class LLMError(RuntimeError):
    """The model could not be loaded or reached; the message says what to do."""


class LLM(Protocol):
    name: str

    def stream_chat(self, messages: list[Message], max_tokens: int, temperature: float) -> Iterator[str]: ...


class LlamaCppLLM:
    """A GGUF model run in-process. llama.cpp contexts are not thread-safe, so generation is serialised."""

    def __init__(self, model_path: Path, n_ctx: int, n_threads: int | None, flash_attn: bool = True) -> None:
        self.path = Path(model_path)
        self.name = self.path.stem
        self.n_ctx = n_ctx
        self._n_threads = n_threads or os.cpu_count() or 2
        self._flash_attn = flash_attn
        self._llama = None
        self._lock = threading.Lock()

    def _load(self):
        if self._llama is None:
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise LLMError("llama-cpp-python is not installed: pip install llama-cpp-python") from exc
            if not self.path.is_file():
                raise LLMError(f"GGUF model not found: {self.path}")
            self._llama = Llama(model_path=str(self.path), n_ctx=self.n_ctx, n_threads=self._n_threads,
                                n_batch=512, flash_attn=self._flash_attn, verbose=False, seed=0)
        return self._llama

    def load(self) -> None:
        with self._lock:
            self._load()

    def stream_chat(self, messages: list[Message], max_tokens: int, temperature: float) -> Iterator[str]:
        with self._lock:
            llama = self._load()
            stream = llama.create_chat_completion(messages=messages, max_tokens=max_tokens,
                                                  temperature=temperature, stream=True)
            for part in stream:
                delta = part["choices"][0]["delta"].get("content")
                if delta:
                    yield delta


class OpenAICompatLLM:
    """OpenAI, vLLM, Ollama or llama.cpp's server, through the official `openai` client."""

    def __init__(self, model: str, api_key: str, base_url: str | None) -> None:
        from openai import OpenAI

        self.name = model
        self._client = OpenAI(api_key=api_key or os.environ.get("OPENAI_API_KEY") or "none",
                              base_url=base_url, max_retries=1, timeout=120)

    def stream_chat(self, messages: list[Message], max_tokens: int, temperature: float) -> Iterator[str]:
        import openai

        try:
            stream = self._client.chat.completions.create(model=self.name, messages=messages,  # type: ignore[arg-type]
                                                          max_tokens=max_tokens, temperature=temperature,
                                                          stream=True)
            for part in stream:
                if part.choices and part.choices[0].delta.content:
                    yield part.choices[0].delta.content
        except openai.APIError as exc:
            raise LLMError(f"LLM server error ({self._client.base_url}): {exc}") from exc


def build_llm(settings: Settings) -> LLM:
    match settings.llm_backend:
        case "llamacpp":
            if settings.llm_model_path:
                path = settings.llm_model_path
            else:
                from rag.models.weights import ensure_model

                path = ensure_model(settings.llm_preset, settings.model_cache_dir)
            return LlamaCppLLM(path, settings.n_ctx, settings.n_threads, settings.flash_attn)
        case "openai":
            return OpenAICompatLLM(settings.llm_model, settings.openai_api_key, settings.openai_base_url)
    raise ValueError(f"unknown llm_backend {settings.llm_backend!r}")
