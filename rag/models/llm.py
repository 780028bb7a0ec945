"""LLM back ends behind one narrow interface: in-process llama.cpp, or any OpenAI-compatible server."""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

from rag.settings import Settings

Message = dict[str, str]


class LLMError(RuntimeError):
    """The model could not be loaded or reached; the message says what to do."""


class LLM(Protocol):
    name: str

    def stream_chat(self, messages: list[Message], max_tokens: int, temperature: float,
                    usage: dict[str, int] | None = None) -> Iterator[str]:
        """Yield text deltas; when given, `usage` is filled with prompt_tokens and completion_tokens."""
        ...


_DONE = object()


class LlamaCppLLM:
    """A GGUF model run in-process.

    llama.cpp contexts are not thread-safe, so every generation runs on one worker thread, in arrival
    order (a queue); callers read their tokens from a per-request queue. A caller that stops reading
    (a dropped connection) cancels its generation instead of blocking the queue.
    """

    def __init__(self, model_path: Path, n_ctx: int, n_threads: int | None, flash_attn: bool = True) -> None:
        self.path = Path(model_path)
        self.name = self.path.stem
        self.n_ctx = n_ctx
        self._n_threads = n_threads or os.cpu_count() or 2
        self._flash_attn = flash_attn
        self._llama = None
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama")

    @property
    def loaded(self) -> bool:
        return self._llama is not None

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
        self._worker.submit(self._load).result()

    def stream_chat(self, messages: list[Message], max_tokens: int, temperature: float,
                    usage: dict[str, int] | None = None) -> Iterator[str]:
        out: queue.Queue = queue.Queue()
        cancel = threading.Event()

        def generate() -> None:
            try:
                llama = self._load()
                completion = 0
                for part in llama.create_chat_completion(messages=messages, max_tokens=max_tokens,
                                                         temperature=temperature, stream=True):
                    if cancel.is_set():
                        break
                    delta = part["choices"][0]["delta"].get("content")
                    if delta is not None:
                        completion += 1
                        if delta:
                            out.put(delta)
                if usage is not None:
                    usage.update(prompt_tokens=max(llama.n_tokens - completion, 0), completion_tokens=completion)
            except Exception as exc:  # handed to the caller, whatever it was
                out.put(exc)
            finally:
                out.put(_DONE)

        self._worker.submit(generate)
        try:
            while (item := out.get()) is not _DONE:
                if isinstance(item, LLMError):
                    raise item
                if isinstance(item, Exception):
                    raise LLMError(f"llama.cpp generation failed: {item}") from item
                yield item
        finally:
            cancel.set()


class OpenAICompatLLM:
    """OpenAI, vLLM, Ollama or llama.cpp's server, through the official `openai` client."""

    def __init__(self, model: str, api_key: str, base_url: str | None, stream: bool = True,
                 timeout: float = 120.0) -> None:
        from openai import OpenAI

        self.name = model
        self.loaded = True
        self.stream = stream
        self._client = OpenAI(api_key=api_key or os.environ.get("OPENAI_API_KEY") or "none",
                              base_url=base_url, max_retries=1, timeout=timeout)

    def stream_chat(self, messages: list[Message], max_tokens: int, temperature: float,
                    usage: dict[str, int] | None = None) -> Iterator[str]:
        import openai

        from rag.ingest.tokens import count_tokens

        completion: list[str] = []
        reported = None
        try:
            if self.stream:
                parts = self._client.chat.completions.create(
                    model=self.name, messages=messages, max_tokens=max_tokens,  # type: ignore[arg-type]
                    temperature=temperature, stream=True)
                for part in parts:
                    if part.choices and part.choices[0].delta.content:
                        completion.append(part.choices[0].delta.content)
                        yield part.choices[0].delta.content
                    reported = getattr(part, "usage", None) or reported
            else:  # one request, one reply: for servers or proxies that do not stream
                resp = self._client.chat.completions.create(
                    model=self.name, messages=messages, max_tokens=max_tokens,  # type: ignore[arg-type]
                    temperature=temperature)
                text = (resp.choices[0].message.content or "") if resp.choices else ""
                reported = resp.usage
                if text:
                    completion.append(text)
                    yield text
        except openai.APIConnectionError as exc:
            raise LLMError(f"cannot reach the LLM server at {self._client.base_url}: {exc}") from exc
        except openai.APIError as exc:
            raise LLMError(f"LLM server error ({self._client.base_url}): {exc}") from exc
        if usage is not None:
            if reported is not None and getattr(reported, "prompt_tokens", None):
                usage.update(prompt_tokens=reported.prompt_tokens, completion_tokens=reported.completion_tokens)
            else:  # servers differ in reporting usage when streaming: estimate with tiktoken
                usage.update(prompt_tokens=sum(count_tokens(m["content"]) + 4 for m in messages),
                             completion_tokens=count_tokens("".join(completion)))


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
            return OpenAICompatLLM(settings.llm_model, settings.openai_api_key, settings.openai_base_url,
                                   stream=settings.openai_stream, timeout=settings.openai_timeout)
    raise ValueError(f"unknown llm_backend {settings.llm_backend!r}")
