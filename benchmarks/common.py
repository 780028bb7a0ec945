"""Shared by the benchmark scripts: machine facts, percentiles, writing JSON and a Markdown table."""

from __future__ import annotations

import json
import os
import platform
import random
from pathlib import Path
from typing import Any

from rag.eval.metrics import percentile
from rag.index.store import ChunkStore
from rag.types import Chunk

RESULTS = Path("benchmarks/results")


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "system": platform.platform()}


def p50_p95(values_ms: list[float]) -> dict[str, float]:
    return {"p50_ms": round(percentile(values_ms, 0.5), 1), "p95_ms": round(percentile(values_ms, 0.95), 1)}


def table(headers: list[str], rows: list[list[Any]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def write(name: str, data: dict[str, Any], markdown: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {"machine": machine()} | data
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=1))
    m = data["machine"]
    md = f"{markdown}\n\nMachine: {m['cores']} cores, {m['cpu']}.\n"
    (RESULTS / f"{name}.md").write_text(md)
    print(md)


SQUAD_DOCS = Path("../shared/datasets/squad-dev-13/docs")


def file_paragraphs(path: Path) -> list[str]:
    """The blank-line separated paragraphs of a squad-dev-13 style file, stripped; the first is its title."""
    return [p.strip() for p in path.read_text(encoding="utf-8").split("\n\n") if p.strip()]


def paragraphs(docs: Path = SQUAD_DOCS, min_words: int = 40) -> list[str]:
    """The paragraphs of a folder of squad-dev-13 style files with more than `min_words` words, in file order.
    squad-dev-13 has 828 of them."""
    out: list[str] = []
    for f in sorted(Path(docs).glob("*.txt")):
        out += [p for p in file_paragraphs(f) if len(p.split()) > min_words]
    return out


def write_small_files(folder: Path, n: int, docs: Path = SQUAD_DOCS) -> list[str]:
    """N files of one paragraph each (a folder of notes); past the last paragraph they repeat, each file
    still a document of its own. Returns the texts written, in file order."""
    paras = paragraphs(docs)
    if not paras:
        raise SystemExit(f"no paragraphs of over 40 words under {docs}")
    folder.mkdir(parents=True, exist_ok=True)
    texts = [paras[i % len(paras)] for i in range(n)]
    for i, text in enumerate(texts):
        (folder / f"note-{i:05d}.txt").write_text(text + "\n", encoding="utf-8")
    return texts


WORDS_PER_CHUNK = 120
DIM = 384  # the embedder's dimensions


def _vocab(n: int, rng: random.Random) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(3, 10))) for _ in range(n)]


def fill_synthetic(store: ChunkStore, size: int, seed: int = 13) -> list[str]:
    """A large collection without embedding it: chunks of ~120 words drawn from a Zipf-distributed
    vocabulary, with random unit vectors, 1,000 chunks per document, through our own store. Latency depends
    on the collection's size, not on what the vectors mean."""
    import numpy as np

    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    vocab = _vocab(20_000, rng)
    weights = [1.0 / (i + 1) for i in range(len(vocab))]
    texts: list[str] = []
    per_doc = 1000
    for d in range(0, size, per_doc):
        chunks, pos = [], 0
        for i in range(d, min(size, d + per_doc)):
            words = rng.choices(vocab, weights, k=WORDS_PER_CHUNK)
            text = " ".join(words[j] + ("." if j % 15 == 14 else "") for j in range(len(words)))
            chunks.append(Chunk(id=f"s{i}", doc_id=f"doc{d}", source=f"synthetic/{d}.txt", title=f"doc {d}",
                                start=pos, end=pos + len(text), text=text))
            pos += len(text) + 1
            texts.append(text)
        vecs = nrng.normal(size=(len(chunks), DIM)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        store.replace_document(chunks, vecs.tolist(), f"doc{d}", "synthetic", keep={c.id for c in chunks})
    return texts


class Recorder:
    """An LLM that passes calls through and keeps every generation it was asked for (messages, max_tokens),
    so a benchmark can replay the chain's exact prompts."""

    def __init__(self, llm) -> None:
        self.llm = llm
        self.name = llm.name
        self.calls: list[tuple[list[dict], int]] = []

    @property
    def last(self) -> list[dict]:
        return self.calls[-1][0] if self.calls else []

    def stream_chat(self, messages, max_tokens, temperature, usage=None):
        self.calls.append((messages, max_tokens))
        return self.llm.stream_chat(messages, max_tokens, temperature, usage)

    def yes_probability(self, messages):
        return self.llm.yes_probability(messages)
