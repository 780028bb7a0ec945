"""Builds the parts from settings, once, lazily: front ends ask for what they need and nothing more.

Each part imports its module when it is first asked for, so a command pays only for what it uses: a no-op
`rag sync` opens the store and never imports torch, llama.cpp or llama-index. A part given to the
constructor (a test's scripted LLM, a benchmark's recorder, another `Components`' loaded models) is used
as it is, and never built.

The process environment the libraries read is set here too, in one function, `offline_environment()`, which
each entry point calls first."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from rag.config import RetrievalSettings, Settings, overridden
from rag.logs import Fields

if TYPE_CHECKING:
    from rag.answer.chain import AnswerChain
    from rag.answer.prompting import Prompts
    from rag.backends.embedder import Embedder
    from rag.backends.llm import LLM
    from rag.index.keyword import KeywordIndex
    from rag.index.store import ChunkStore
    from rag.ingest.pipeline import Ingestor, IngestReport
    from rag.retrieval.retrievers import Retriever
    from rag.state.answers import AnswerLog
    from rag.state.conversations import Conversations
    from rag.state.db import Database
    from rag.state.users import Users
    from rag.types import Chunk

warm_log = logging.getLogger("rag.warm")  # one line per warm-up: what loaded, where the prefix came from


def offline_environment() -> None:
    """Keep every library off the network and quiet: the models come from PyPI packages (no model hub),
    tiktoken's file from llama-index-core's wheel, and Gradio sends no analytics. Some of these are read
    when the library is imported, so each entry point calls this first: the `rag` command (`main`), the
    server's app (`create_app`), `app.py`, `rag.adapters.llamaindex` (for llama-index programs), and the test and
    benchmark
    packages. Any other program that embeds
    `rag` should call it before importing anything else. A value already in the environment wins."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # huggingface_hub and transformers read these at import
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from rag.text.tokens import llama_index_static

    # tiktoken would download cl100k_base on first use; llama-index-core's wheel (a dependency) carries it
    with contextlib.suppress(ImportError):
        os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(llama_index_static() / "tiktoken_cache"))


def build_retriever(settings: RetrievalSettings, store: ChunkStore, embedder: Embedder,
                    index: KeywordIndex) -> Retriever:
    """The first stage `settings.mode` names, wrapped in the sentence re-ranker unless `settings.rerank` is
    off; both get the retrieval section (depth, RRF k, rerank weights). It lives here, with the other wiring,
    so that retrieve.py (the first stages) and rerank.py (which wraps any `Retriever`) need not import each
    other."""
    from rag.retrieval.retrievers import Bm25Retriever, DenseRetriever, HybridRetriever

    first: Retriever
    if settings.mode == "dense":
        first = DenseRetriever(store, embedder)
    elif settings.mode == "bm25":
        first = Bm25Retriever(store, index)
    elif settings.mode == "hybrid":
        first = HybridRetriever(store, embedder, index, settings)
    else:
        raise ValueError(f"unknown retrieval mode {settings.mode!r}: choose dense, bm25 or hybrid")
    if not settings.rerank:
        return first
    from rag.retrieval.rerank import SentenceReranker

    return SentenceReranker(first, settings)


# A Chroma name that is also safe as a folder name; "__" is kept for the store's own side collections.
COLLECTION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,62}[A-Za-z0-9]$")


class CollectionError(ValueError):
    """A collection name that is invalid, unknown, taken or not to be deleted; `status` is the HTTP code."""

    def __init__(self, message: str, status: int, code: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


def check_collection_name(name: str) -> str:
    if not COLLECTION_NAME.match(name or "") or "__" in name or ".." in name:
        raise CollectionError(f"{name!r} is not a valid collection name: 3-64 of A-Z a-z 0-9 . _ -, starting and "
                              "ending with a letter or digit, no '__' or '..'", 400, "invalid_collection_name")
    return name


class Warmup:
    """Loads the embedder and the LLM and has the LLM evaluate the prompt prefix every answer shares, once,
    in the background: `rag serve` starts it with the server (its /health says "warming" until it is done)
    and `rag ask` while it opens the store. A question asked meanwhile waits for it (`wait`), never runs a
    second one. Nothing waits on a warm-up that was never started (tests, eval, library use)."""

    def __init__(self, comps: Components) -> None:
        self._comps = comps
        self._lock = threading.Lock()
        self._done = threading.Event()
        self.started = False
        self.error: BaseException | None = None
        self.info: dict[str, object] = {}
        self._level = logging.INFO
        self._documents = True

    def start(self, log_level: int = logging.INFO, documents: bool = True) -> Warmup:
        """Start it (once; later calls return the same); its line is logged at `log_level` (`rag ask` keeps
        its stderr to the answer's line: DEBUG). Without `documents` the embedder loads only what one
        question needs (`LocalEmbedder.warm`): a server embeds uploads, one `rag ask` does not."""
        with self._lock:
            if not self.started:
                # numpy is imported by both warm-up threads and the caller's; its package imports itself in
                # a cycle, and two threads importing it at once can see it half initialised (seen: "cannot
                # import name 'NDArray' from partially initialized module"). One import first, here.
                import numpy  # noqa: F401

                self.started, self._level, self._documents = True, log_level, documents
                threading.Thread(target=self._run, name="rag-warmup", daemon=True).start()
        return self

    @property
    def warming(self) -> bool:
        return self.started and not self._done.is_set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a started warm-up to end (True when none is running by then). A failed warm-up is not
        raised here: the question then meets the same error itself and reports it."""
        return self._done.wait(timeout) if self.started else True

    def _run(self) -> None:
        started = time.perf_counter()
        embedder_ms: list[float] = []

        def embedder() -> None:  # beside the LLM: on 2 cores torch's import overlaps llama.cpp's load
            warm = getattr(self._comps.embedder, "warm", None)
            if warm is not None:
                t = time.perf_counter()
                warm(documents=self._documents)
                embedder_ms.append(round((time.perf_counter() - t) * 1000, 1))

        side = threading.Thread(target=self._guarded, args=(embedder,), name="rag-warmup-embedder", daemon=True)
        side.start()
        self._guarded(self._warm_llm)
        side.join()
        self.info["embedder_ms"] = embedder_ms[0] if embedder_ms else None
        self.info["total_ms"] = round((time.perf_counter() - started) * 1000, 1)
        warm_log.log(self._level, Fields(kind="warmup", ok=self.error is None, **self.info))
        self._done.set()

    def _guarded(self, step: Callable[[], None]) -> None:
        try:
            step()
        except Exception as exc:  # noqa: BLE001 - kept for /health and the log; the question reports it again
            self.error = exc
            self.info["error"] = str(exc)

    def _warm_llm(self) -> None:
        llm = self._comps.llm
        if hasattr(llm, "warm"):
            self.info.update(llm.warm(prefix_prompts(self._comps.prompts)))
        elif hasattr(llm, "load"):
            llm.load()


def prefix_prompts(prompts: Prompts) -> list[list[dict[str, str]]]:
    """Two answer prompts that differ from their first passage on: what they share is the prefix every check
    and answer starts with (the system prompt, the user turn up to the first passage's text)."""
    from rag.answer.prompting import answer_messages
    from rag.types import Chunk, Passage

    def one(word: str) -> list[dict[str, str]]:
        chunk = Chunk(id=word, doc_id=word, source=word, title=word, start=0, end=len(word), text=word)
        return answer_messages(prompts, f"{word}?", [Passage(chunk=chunk, score=1.0)])

    return [one("Alpha"), one("Zulu")]


class Components:
    """The parts of one collection. The root (built from settings) also keeps a registry of the other
    collections: each gets its own store, BM25 index, retriever, chain and ingestor, built on first use,
    and shares the root's embedder, LLM, prompts and stop event.

    A part passed in is used instead of the one the settings would build: `Components(settings, llm=...)`."""

    def __init__(self, settings: Settings, root: Components | None = None, *, store: ChunkStore | None = None,
                 embedder: Embedder | None = None, llm: LLM | None = None, prompts: Prompts | None = None,
                 conversations: Conversations | None = None, keyword_index: KeywordIndex | None = None,
                 retriever: Retriever | None = None) -> None:
        self.settings = settings
        self.root = root
        self.stopping = root.stopping if root else threading.Event()  # set when the server shuts down
        self._collections: dict[str, Components] = {}
        self._registry_lock = threading.Lock()
        given = {"store": store, "embedder": embedder, "llm": llm, "prompts": prompts,
                 "conversations": conversations, "keyword_index": keyword_index, "retriever": retriever}
        for name, part in given.items():
            if part is not None:
                self.__dict__[name] = part  # where the cached_property keeps its value: it never builds one

    @cached_property
    def store(self) -> ChunkStore:
        from rag.index.store import ChunkStore

        return ChunkStore(self.settings)

    @cached_property
    def embedder(self) -> Embedder:
        from rag.backends.embedder import build_embedder

        return self.root.embedder if self.root else build_embedder(self.settings)

    @cached_property
    def llm(self) -> LLM:
        from rag.backends.llm import build_llm

        return self.root.llm if self.root else build_llm(self.settings)

    @cached_property
    def prompts(self) -> Prompts:
        from rag.answer.prompting import Prompts, packaged_prompts

        folder = self.settings.answer.prompts_dir
        if self.root and self.root.settings.answer.prompts_dir == folder:
            return self.root.prompts
        return Prompts.load(folder or packaged_prompts())

    @cached_property
    def warmup(self) -> Warmup:
        """The root's warm-up, shared by every collection (they share the models)."""
        return self.root.warmup if self.root else Warmup(self)

    @cached_property
    def conversations(self) -> Conversations:
        """One conversation store for every collection (each conversation names its collection)."""
        from rag.state.conversations import Conversations

        if self.root:
            return self.root.conversations
        return Conversations(self.database)

    @cached_property
    def users(self) -> Users:
        """Users, API keys and collection access, shared by every collection."""
        from rag.state.users import Users

        if self.root:
            return self.root.users
        return Users(self.database)

    @cached_property
    def answers(self) -> AnswerLog:
        """The answers' audit trail and their feedback, for every collection (each record names its collection)."""
        from rag.state.answers import AnswerLog

        return self.root.answers if self.root else AnswerLog(self.database)

    @cached_property
    def database(self) -> Database:
        """The state database (users, conversations, answers, feedback), shared by every collection."""
        from rag.state.db import Database

        if self.root:
            return self.root.database
        return Database(self.settings.state.url(self.settings.store.persist_dir))

    @property
    def name(self) -> str:
        return self.settings.store.collection

    # The registry (on the root): names, lookup, create, delete.
    def _top(self) -> Components:
        return self.root or self

    def collection_names(self) -> list[str]:
        top = self._top()
        return sorted(set(top.store.collection_names()) | {top.name})

    def collection(self, name: str | None = None, create: bool = False) -> Components:
        """The parts of collection `name` (the default one when None); an unknown name is a 404 unless
        `create`, a taken one a 409 when `create`."""
        top = self._top()
        if name is None or name == top.name:
            if create:
                raise CollectionError(f"collection {name!r} already exists", 409, "collection_exists")
            return top
        with top._registry_lock:
            exists = name in top._collections or name in top.store.collection_names()
            if create or not exists:  # one made under looser rules (RAG_STORE__COLLECTION) opens
                check_collection_name(name)
            if create and exists:
                raise CollectionError(f"collection {name!r} already exists", 409, "collection_exists")
            if not create and not exists:
                raise CollectionError(f"no collection named {name!r}", 404, "collection_not_found")
            if name not in top._collections:
                store = top.settings.store.model_copy(update={"collection": name})
                other = Components(top.settings.model_copy(update={"store": store}), root=top)
                other.store  # noqa: B018 - opening the store creates the collection
                top._collections[name] = other
            return top._collections[name]

    def delete_collection(self, name: str) -> None:
        """Drop a collection's chunks, records, BM25 index and kept uploads; the others are untouched."""
        top = self._top()
        if name == top.name:
            raise CollectionError(f"{name!r} is the default collection and cannot be deleted", 409,
                                  "default_collection")
        parts = self.collection(name)
        with top._registry_lock:
            top._collections.pop(name, None)
            parts.store.drop()
            shutil.rmtree(top.settings.store.persist_dir / "bm25" / name, ignore_errors=True)
            shutil.rmtree(top.settings.store.persist_dir / "files" / name, ignore_errors=True)

    @cached_property
    def keyword_index(self) -> KeywordIndex:
        from rag.index.keyword import KeywordIndex

        return KeywordIndex(
            self.store,
            self.settings.store.persist_dir / "bm25" / self.settings.store.collection,
            merge_min=self.settings.store.bm25_merge_min,
            merge_ratio=self.settings.store.bm25_merge_ratio,
        )

    @cached_property
    def retriever(self) -> Retriever:
        return build_retriever(self.settings.retrieval, self.store, self.embedder, self.keyword_index)

    @cached_property
    def ingestor(self) -> Ingestor:
        from rag.ingest.pipeline import Ingestor

        return Ingestor(self.settings, self.store, self.embedder, self.keyword_index, stop=self.stopping)

    @cached_property
    def chain(self) -> AnswerChain:
        from rag.answer.chain import AnswerChain
        from rag.answer.context import embedding_scorer
        from rag.index.documents import paragraph_around
        from rag.logs import answer_log

        scorer = embedding_scorer(self.embedder.embed_query, self.embedder.embed_documents)
        coverage = self.keyword_index.coverage if self.settings.retrieval.min_coverage > 0 else None
        store = self.store

        def paragraph(chunk: Chunk) -> str:
            """Read after the reply has streamed: a store error must refuse the answer (the term stays
            unstated), not end the stream without its final answer."""
            try:
                return paragraph_around(store, chunk.doc_id, chunk.start, chunk.end)
            except Exception:  # noqa: BLE001 - any store failure fails closed
                answer_log.warning("paragraph of %s unreadable", chunk.doc_id, exc_info=True)
                return ""

        return AnswerChain(self.settings, self.retriever, self.llm, self.prompts, scorer, coverage, paragraph)

    def with_settings(self, overrides: Mapping[str, object]) -> Components:
        """The same store, models and prompts with other retrieval or answering settings (eval modes and
        sweeps): `overrides` maps dotted names to values, `{"retrieval.mode": "bm25"}` (`rag.config.overridden`)."""
        settings = overridden(self.settings, overrides)
        same_prompts = settings.answer.prompts_dir == self.settings.answer.prompts_dir  # else a swept folder
        return Components(settings, root=self.root, store=self.store, embedder=self.embedder, llm=self.llm,
                          prompts=self.prompts if same_prompts else None, keyword_index=self.keyword_index)

    def seed_if_empty(self) -> IngestReport | None:
        """First run: an empty store gets the seed documents; so does one whose seeding was cut off (a seed's
        record still "writing"): unchanged seeds are skipped by hash, the cut-off one is finished."""
        seeds = self.settings.store.seeds_dir
        if not seeds.is_dir():
            return None
        root = seeds.resolve()
        cut_off = any(not r.complete and r.path and Path(r.path).is_relative_to(root)
                      for r in self.store.doc_records().values())
        if self.store.count() == 0 or cut_off:
            return self.ingestor.ingest_paths([seeds])
        return None

    def unfinished_documents(self) -> list[str]:
        """Sources whose ingest was cut off (killed, or stopped with the server) and not yet redone."""
        return sorted(r.source or d for d, r in self.store.doc_records().items() if not r.complete)
