"""LLM back ends behind one narrow interface: in-process llama.cpp, or any OpenAI-compatible server."""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from rag.config import Settings

Message = dict[str, str]


class LLMError(RuntimeError):
    """The model could not be loaded or reached; the message says what to do."""


class LLM(Protocol):
    name: str

    def stream_chat(self, messages: list[Message], max_tokens: int, temperature: float,
                    usage: dict[str, int] | None = None) -> Iterator[str]:
        """Yield text deltas; when given, `usage` is filled with prompt_tokens and completion_tokens (and
        queue_ms, the time the request waited for a busy model, where the back end queues in-process)."""
        ...

    def yes_probability(self, messages: list[Message]) -> float | None:
        """P("yes") / (P("yes") + P("no")) for the reply's first token; None when the back end cannot tell."""
        ...


_DONE = object()


class LlamaCppLLM:
    """A GGUF model run in-process.

    llama.cpp contexts are not thread-safe, so every generation runs on one worker thread, in arrival
    order (a queue); callers read their tokens from a per-request queue. A caller that stops reading
    (a dropped connection) cancels its generation instead of blocking the queue. The time a request stands
    in that queue is reported apart from the model's work: `usage["queue_ms"]` for a generation, and
    `waited_ms()` for the checks (a running total per calling thread).
    """

    def __init__(self, model_path: Path, n_ctx: int, n_threads: int | None, flash_attn: bool = True,
                 lookup_tokens: int = 0, repack: bool | None = None, state_dir: Path | None = None,
                 saved_prompts: int = 4) -> None:
        self.path = Path(model_path)
        self.repack = repack  # None: chosen from the llama.cpp build when the model loads (`repack_weights`)
        self.lookup_tokens = lookup_tokens
        # Prompt-lookup decoding so far: forward passes, drafted tokens, drafted tokens the model agreed with.
        self.lookup_stats = {"passes": 0, "drafted": 0, "accepted": 0}
        self.name = self.path.stem
        self.n_ctx = n_ctx
        self._n_threads = n_threads or os.cpu_count() or 2
        self._flash_attn = flash_attn
        self._llama = None
        self._formatter = None
        self._yes_no: tuple[list[int], list[int]] | None = None
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama")
        self._waits = threading.local()  # per calling thread: ms its checks waited for the worker, in total
        self.state_dir = Path(state_dir) if state_dir else None  # where the evaluated prefix is kept on disk
        self.saved_prompts = saved_prompts
        # Prompts another request's prompt pushed out of the one llama.cpp context, kept to be restored when
        # their request comes back (tokens -> the sequence's KV state), most recent last; and the warm-up's
        # shared prefix, kept for good.
        self._saved: OrderedDict[tuple[int, ...], ctypes.Array] = OrderedDict()
        self._prefix: tuple[tuple[int, ...], ctypes.Array] | None = None
        self.warm_info: dict[str, Any] = {}  # what the last `warm` did: load_ms, prefix (disk|evaluated|memory)…
        self.cache_stats = {"saved": 0, "restored": 0}

    def waited_ms(self) -> float:
        """Milliseconds this thread's checks (`yes_probability`) have waited for the worker, in total so far;
        a caller takes the difference around its calls."""
        return getattr(self._waits, "ms", 0.0)

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
            self.repack = repack_weights(self.repack)
            with extra_buffers(self.repack):
                self._llama = Llama(model_path=str(self.path), n_ctx=self.n_ctx, n_threads=self._n_threads,
                                    n_batch=512, flash_attn=self._flash_attn, verbose=False, seed=0)
        return self._llama

    def load(self) -> Any:
        """Load the model now (on the generation worker) and return it: the `llama_cpp.Llama`, for callers
        that time it directly. Generations load it themselves when it is not loaded yet."""
        return self._worker.submit(self._load).result()

    def warm(self, prompts: list[list[Message]]) -> dict[str, Any]:
        """Load the model and have the prompts' longest shared token prefix (the system prompt and the answer
        template's start) evaluated, so the first question reads only its own tokens. The prefix's KV state
        comes from `state_dir` when a file there matches this model, build and prefix; otherwise it is
        evaluated and written there, for the next process. Returns (and keeps in `warm_info`) what it did."""

        def job() -> dict[str, Any]:
            started = time.perf_counter()
            llama = self._load()
            loaded = time.perf_counter()
            lists = [self._prompt_tokens(llama, m) for m in prompts]
            n = min((_shared(lists[0], t) for t in lists[1:]), default=len(lists[0]))
            prefix = lists[0][:n]
            info: dict[str, Any] = {"load_ms": round((loaded - started) * 1000, 1), "prefix_tokens": n}
            if n < 2:
                info["prefix"] = "none"
            elif _shared(llama.input_ids[:llama.n_tokens].tolist(), prefix) == n:
                info["prefix"] = "memory"
            elif self._load_prefix(llama, prefix):
                info["prefix"] = "disk"
                restored = time.perf_counter()
                _touch(llama, prefix)
                info["touch_ms"] = round((time.perf_counter() - restored) * 1000, 1)
            else:
                _read(llama, prefix)
                info["prefix"] = "evaluated"
                info["written"] = self._save_prefix(llama, prefix)
            if n >= 2:
                self._prefix = (tuple(prefix), _snapshot(llama))
            info["prefix_ms"] = round((time.perf_counter() - loaded) * 1000 - info.get("touch_ms", 0), 1)
            self.warm_info = info
            return info

        return self._worker.submit(job).result()

    def _state_identity(self, llama, prefix: list[int]) -> dict[str, Any]:
        """What a saved KV state is only valid for: this model file, llama.cpp build, context layout and
        prefix tokens (the prompt text through this tokenizer)."""
        import llama_cpp

        stat = self.path.stat()
        return {"format": 1, "model": self.path.name, "model_bytes": stat.st_size,
                "model_mtime_ns": stat.st_mtime_ns, "llama_cpp": llama_cpp.__version__,
                "build": llama_cpp.llama_print_system_info().decode(errors="replace"),
                "n_ctx": self.n_ctx, "n_batch": llama.n_batch, "n_threads": self._n_threads,
                "flash_attn": self._flash_attn, "repack": self.repack,
                "tokens": hashlib.sha256(json.dumps(prefix).encode()).hexdigest()}

    def _state_file(self, identity: dict[str, Any]) -> Path | None:
        if self.state_dir is None:
            return None
        key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:24]
        return self.state_dir / f"prefix-{key}.kv"

    def _load_prefix(self, llama, prefix: list[int]) -> bool:
        """Restore the prefix's KV state from disk; False (and the context left empty) when there is no file,
        or it is unreadable, truncated or made for something else: the prefix is then evaluated and rewritten."""
        identity = self._state_identity(llama, prefix)
        path = self._state_file(identity)
        if path is None or not path.is_file():
            return False
        try:
            with path.open("rb") as f:
                if f.read(len(_MAGIC)) != _MAGIC:
                    return False
                header = json.loads(f.read(int.from_bytes(f.read(4), "little")))
                if header.get("identity") != identity or header.get("prefix") != prefix:
                    return False
                state = (ctypes.c_uint8 * int(header["bytes"]))()
                if f.readinto(state) != len(state) or f.read(1):
                    return False
        except (OSError, ValueError, KeyError, TypeError):
            return False
        return _restore(llama, prefix, state)

    def _save_prefix(self, llama, prefix: list[int]) -> bool:
        """Write the evaluated prefix's KV state beside the model, atomically (a temporary file renamed): a
        reader sees the old file, the new one, or none. A failure to write costs the next process the prefix."""
        path = self._state_file(self._state_identity(llama, prefix))
        if path is None:
            return False
        state = _snapshot(llama)
        header = json.dumps({"identity": self._state_identity(llama, prefix), "prefix": prefix,
                             "bytes": len(state)}).encode()
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tmp.open("wb") as f:
                f.write(_MAGIC + len(header).to_bytes(4, "little") + header)
                f.write(memoryview(state))
            os.replace(tmp, path)
            return True
        except OSError:
            tmp.unlink(missing_ok=True)
            return False

    def _prepare(self, llama, tokens: list[int]) -> None:
        """Before a prompt is read: put back the evaluated prompt that shares most of it (another request may
        have pushed it out of the one context since), and keep the prompt about to be pushed out, so that
        overlapping requests each find their own prefix for their check, answer and verification. The state is
        the KV cells themselves, put back where they were: what the model computes is unchanged."""
        current = llama.input_ids[:llama.n_tokens].tolist()
        have = _shared(current, tokens)
        best: tuple[tuple[int, ...], ctypes.Array] | None = None
        best_n = have
        candidates = list(self._saved.items()) + ([self._prefix] if self._prefix else [])
        for saved, state in candidates:
            n = _shared(saved, tokens)
            if n > best_n + _RESTORE_MIN:
                best, best_n = (saved, state), n
        if len(current) - have > _RESTORE_MIN and self.saved_prompts > 0 and tuple(current) not in self._saved \
                and (self._prefix is None or tuple(current) != self._prefix[0]):
            self._saved[tuple(current)] = _snapshot(llama)
            self.cache_stats["saved"] += 1
            while len(self._saved) > self.saved_prompts:
                self._saved.popitem(last=False)
        if best is not None:
            if best[0] in self._saved:
                self._saved.move_to_end(best[0])
            if _restore(llama, list(best[0]), best[1]):
                self.cache_stats["restored"] += 1

    def _prompt_tokens(self, llama, messages: list[Message]) -> list[int]:
        """The tokens `create_chat_completion` would evaluate for these messages (the GGUF's own template),
        so a check that extends an answer prompt shares its cached prefix."""
        if self._formatter is None:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            template = llama.metadata.get("tokenizer.chat_template")
            if not template:
                raise LLMError(f"{self.path.name} has no chat template")
            text = lambda tid: llama.detokenize([tid], special=True).decode("utf-8", "ignore") if tid != -1 else ""  # noqa: E731
            self._formatter = Jinja2ChatFormatter(template=template, eos_token=text(llama.token_eos()),
                                                  bos_token=text(llama.token_bos()))
        prompt = self._formatter(messages=messages).prompt
        return llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)

    def yes_probability(self, messages: list[Message]) -> float | None:
        def judge() -> float:
            import numpy as np
            from llama_cpp import llama_get_logits_ith

            llama = self._load()
            tokens = self._prompt_tokens(llama, messages)
            self._prepare(llama, tokens)
            # Reuse the evaluated prefix (the answer prompt's passages and question): only the new tokens
            # are read. llama-cpp-python keeps no logits without logits_all, so the last row is read from
            # the context directly.
            _read(llama, tokens)
            logits = np.ctypeslib.as_array(llama_get_logits_ith(llama.ctx, -1), shape=(llama.n_vocab(),))
            if self._yes_no is None:
                first = lambda w: llama.tokenize(w.encode(), add_bos=False, special=False)[0]  # noqa: E731
                self._yes_no = (sorted({first(w) for w in ("yes", "Yes", "YES", " yes", " Yes")}),
                                sorted({first(w) for w in ("no", "No", "NO", " no", " No")}))
            top = float(logits.max())
            yes = float(np.exp(logits[self._yes_no[0]] - top).sum())
            no = float(np.exp(logits[self._yes_no[1]] - top).sum())
            return yes / (yes + no) if yes + no > 0 else 0.5

        queued = time.perf_counter()
        started: list[float] = []

        def timed_judge() -> float:
            started.append(time.perf_counter())
            return judge()

        try:
            return self._worker.submit(timed_judge).result()
        except LLMError:
            raise
        except Exception as exc:
            raise LLMError(f"llama.cpp check failed: {exc}") from exc
        finally:
            if started:
                self._waits.ms = self.waited_ms() + (started[0] - queued) * 1000

    def stream_chat(self, messages: list[Message], max_tokens: int, temperature: float,
                    usage: dict[str, int] | None = None) -> Iterator[str]:
        out: queue.Queue = queue.Queue()
        cancel = threading.Event()
        queued = time.perf_counter()

        def generate() -> None:
            if usage is not None:
                usage["queue_ms"] = round((time.perf_counter() - queued) * 1000, 1)  # type: ignore[assignment]
            try:
                llama = self._load()
                if temperature == 0 and self.lookup_tokens > 0:
                    counts = self._greedy_lookup(llama, messages, max_tokens, cancel, out.put)
                    if usage is not None:
                        usage.update(prompt_tokens=counts[0], completion_tokens=counts[1])
                    return
                completion = 0
                self._prepare(llama, self._prompt_tokens(llama, messages))
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

    def _greedy_lookup(self, llama, messages: list[Message], max_tokens: int, cancel: threading.Event,
                       emit) -> tuple[int, int]:
        """Greedy decoding with prompt-lookup drafts; returns (prompt tokens, completion tokens).

        Answers copy long runs from their passages, and on a CPU one forward pass over 4 tokens costs about
        1.5 times one over a single token (each pass reads all the weights), so the tokens that followed the
        answer's last few tokens in the prompt are checked in one pass and the run the model agrees with is
        kept. At temperature 0 the text is the model's own greedy text, only written sooner. Hand-written because
        llama-cpp-python's `LlamaPromptLookupDecoding` turns on `logits_all`, which computes and copies the
        logits of every prompt token (a 152k-word vocabulary), and drafts from one-token matches.
        """
        import codecs

        import numpy as np
        from llama_cpp import llama_get_logits_ith, llama_vocab_is_eog

        tokens = self._prompt_tokens(llama, messages)
        self._prepare(llama, tokens)
        # Our passes leave no logits where llama-cpp-python's own generate would look for them: make it
        # read again rather than sample from stale ones.
        llama._requires_eval = True
        _read(llama, tokens)
        n_vocab = llama.n_vocab()
        nxt = int(np.ctypeslib.as_array(llama_get_logits_ith(llama.ctx, -1), shape=(n_vocab,)).argmax())
        # Drafts come from the passages, the question and the answer so far, not from the system prompt:
        # answers do not copy its instructions, and its matches would be checked in vain.
        system = [m for m in messages if m.get("role") == "system"]
        start = _shared(self._prompt_tokens(llama, system), tokens) if system else 0
        vocab = llama._model.vocab
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        produced = 0

        def say(ids: list[int]) -> None:
            if text := decoder.decode(llama.detokenize(ids)):
                emit(text)

        while not cancel.is_set() and not llama_vocab_is_eog(vocab, nxt) and produced < max_tokens:
            say([nxt])  # before its pass, as plain decoding would: the reader gets each token as soon as known
            produced += 1
            n_past = llama.n_tokens
            if produced >= max_tokens or n_past + 1 > llama.n_ctx():
                break
            # The prompt and every kept token are in llama.input_ids already; with nxt after them, that is
            # the history the draft is looked up in.
            llama.input_ids[n_past] = nxt
            draft = _lookup(llama.input_ids[:n_past + 1], self.lookup_tokens, start=start)[: max_tokens - produced]
            batch = [nxt, *draft][: llama.n_ctx() - n_past]
            draft = batch[1:]
            llama._ctx.kv_cache_seq_rm(-1, n_past, -1)
            llama._batch.set_batch(batch=batch, n_past=n_past, logits_all=True)
            llama._ctx.decode(llama._batch)
            preds = np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(len(batch), n_vocab)).argmax(axis=1)
            accepted = 0
            while accepted < len(draft) and int(preds[accepted]) == draft[accepted] \
                    and not llama_vocab_is_eog(vocab, draft[accepted]):
                accepted += 1
            for key, n in (("passes", 1), ("drafted", len(draft)), ("accepted", accepted)):
                self.lookup_stats[key] += n
            kept = batch[:1 + accepted]
            llama.input_ids[n_past:n_past + len(kept)] = kept
            llama.n_tokens = n_past + len(kept)
            llama._ctx.kv_cache_seq_rm(-1, llama.n_tokens, -1)
            if accepted:
                say(draft[:accepted])
                produced += accepted
            nxt = int(preds[accepted])
        tail = decoder.decode(b"", final=True)
        if tail:
            emit(tail)
        return len(tokens), produced


def repack_weights(setting: bool | None) -> bool:
    """Whether llama.cpp should repack the weights into its interleaved CPU layouts (`use_extra_bufts`).

    Left to the build when not set: off where llama.cpp was built with AVX-512. On the 2-core AMD EPYC host
    the AVX-512 build read a prompt 1.4 times faster with the weights as stored (7.2 against 9.8 ms a token)
    and wrote 14% slower (40 against 35 ms a token); the AVX2 build read 4% faster repacked
    (`python -m benchmarks.llm_token_cost`). Reading the passages is most of an answer's time to first token.
    """
    if setting is not None:
        return setting
    from llama_cpp import llama_print_system_info

    return b"AVX512 = 1" not in llama_print_system_info()


@contextmanager
def extra_buffers(enabled: bool) -> Iterator[None]:
    """Load a model with llama.cpp's repacked weight layouts on or off. Hand-written because llama-cpp-python's
    `Llama` takes no argument for `use_extra_bufts`: its default model parameters are wrapped while it loads
    (models load on the one llama worker thread)."""
    import llama_cpp.llama_cpp as lib

    original = lib.llama_model_default_params

    def params():  # noqa: ANN202 - a ctypes struct
        made = original()
        made.use_extra_bufts = enabled
        return made

    lib.llama_model_default_params = params
    try:
        yield
    finally:
        lib.llama_model_default_params = original


_MAGIC = b"rag-chat kv state\n"
_RESTORE_MIN = 32  # tokens: below this, reading them again is cheaper than copying a state in or out


def _snapshot(llama) -> ctypes.Array:
    """The KV cells of sequence 0 (the one llama-cpp-python uses): no logits, no other state."""
    from llama_cpp import llama_state_seq_get_data, llama_state_seq_get_size

    size = llama_state_seq_get_size(llama.ctx, 0)
    state = (ctypes.c_uint8 * size)()
    used = llama_state_seq_get_data(llama.ctx, state, size, 0)
    return state if used == size else (ctypes.c_uint8 * used).from_buffer(state)


def _restore(llama, tokens: list[int], state: ctypes.Array) -> bool:
    """Put a snapshot's cells back into an emptied context, as sequence 0 over `tokens`; on failure the
    context is left empty (the prompt is then read from the start)."""
    from llama_cpp import llama_state_seq_set_data

    llama._ctx.kv_cache_seq_rm(-1, 0, -1)
    llama.n_tokens = 0
    if llama_state_seq_set_data(llama.ctx, state, len(state), 0) != len(state):
        llama._ctx.kv_cache_seq_rm(-1, 0, -1)
        return False
    llama.input_ids[:len(tokens)] = tokens
    llama.n_tokens = len(tokens)
    llama._requires_eval = True  # its logits are not those of this state's last token
    return True


def _touch(llama, prefix: list[int], n: int = 16) -> None:
    """One forward pass of `n` tokens after the prefix, then forgotten: a restored state has run no pass, and
    the first one pages the mapped weights in and sets up the compute buffers (seconds, paid here rather
    than by the first question). The prefix's cells are not changed; the pass's own are dropped."""
    _read(llama, prefix + prefix[-n:])
    llama.n_tokens = len(prefix)
    llama._ctx.kv_cache_seq_rm(-1, len(prefix), -1)


def _read(llama, tokens: list[int]) -> None:
    """Have the model read `tokens`, reusing the prefix it has already read (at least the last token is
    read again, so its logits are fresh)."""
    llama.n_tokens = min(_shared(llama.input_ids[:llama.n_tokens].tolist(), tokens), len(tokens) - 1)
    llama.eval(tokens[llama.n_tokens:])


def _shared(a: list[int], b: list[int]) -> int:
    """How many leading tokens two token lists share."""
    same = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        same += 1
    return same


def _lookup(history, k: int, start: int = 0, longest: int = 4, shortest: int = 2) -> list[int]:
    """Up to k tokens that followed the latest earlier occurrence, at or after `start`, of the history's last
    n tokens (n from `longest` down to `shortest`): the draft that prompt-lookup decoding checks. One-token
    matches are not used: they propose a wrong run more often than a right one."""
    import numpy as np

    size = len(history)
    for n in range(min(longest, size - 1 - start), shortest - 1, -1):
        windows = np.lib.stride_tricks.sliding_window_view(history[start:-1], n)
        hits = np.nonzero((windows == history[-n:]).all(axis=1))[0]
        if len(hits):
            begin = start + int(hits[-1]) + n
            return history[begin:begin + k].tolist()
    return []


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

        from rag.text.tokens import count_tokens

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


    def yes_probability(self, messages: list[Message]) -> float | None:
        """From the first token's log-probabilities where the server gives them, else from the reply's word."""
        import math

        import openai

        try:
            resp = self._client.chat.completions.create(
                model=self.name, messages=messages, max_tokens=1, temperature=0.0,  # type: ignore[arg-type]
                logprobs=True, top_logprobs=10)
        except openai.APIStatusError:  # a server without logprobs (400, or 500 from llama.cpp's): ask for the word
            try:
                resp = self._client.chat.completions.create(
                    model=self.name, messages=messages, max_tokens=2, temperature=0.0)  # type: ignore[arg-type]
            except openai.APIError as exc:
                raise LLMError(f"LLM server error ({self._client.base_url}): {exc}") from exc
        except openai.APIConnectionError as exc:
            raise LLMError(f"cannot reach the LLM server at {self._client.base_url}: {exc}") from exc
        except openai.APIError as exc:
            raise LLMError(f"LLM server error ({self._client.base_url}): {exc}") from exc
        if not resp.choices:
            return None
        choice = resp.choices[0]
        content = getattr(choice.logprobs, "content", None) if choice.logprobs else None
        if content:
            yes = no = 0.0
            for alt in content[0].top_logprobs or []:
                word = alt.token.strip().lower()
                if word == "yes":
                    yes += math.exp(alt.logprob)
                elif word == "no":
                    no += math.exp(alt.logprob)
            if yes + no > 0:
                return yes / (yes + no)
        word = (choice.message.content or "").strip().lower()
        return 1.0 if word.startswith("yes") else 0.0 if word.startswith("no") else None


def build_llm(settings: Settings) -> LLM:
    match settings.llm.backend:
        case "llamacpp":
            if settings.llm.model_path:
                path = settings.llm.model_path
            else:
                from rag.backends.weights import ensure_model

                path = ensure_model(settings.llm.preset, settings.llm.cache_dir)
            return LlamaCppLLM(
                path,
                settings.llm.n_ctx,
                settings.llm.n_threads,
                settings.llm.flash_attn,
                settings.llm.lookup_tokens,
                settings.llm.repack,
                state_dir=settings.llm.cache_dir / "prefix-states" if settings.llm.prefix_cache else None,
                saved_prompts=settings.llm.saved_prompts,
            )
        case "openai":
            return OpenAICompatLLM(settings.llm.model, settings.llm.openai_api_key, settings.llm.openai_base_url,
                                   stream=settings.llm.openai_stream, timeout=settings.llm.openai_timeout)
        case "scripted":
            from rag.backends.fakes import ScriptedLLM

            return ScriptedLLM()
    raise ValueError(f"unknown llm_backend {settings.llm.backend!r}")
