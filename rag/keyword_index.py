"""BM25 over the same chunks as the Chroma collection, persisted beside it and rebuilt when it changes.

bm25s builds a static index (no incremental add or delete), so keeping it in step means rebuilding it from
the collection whenever the store's revision moves. Rebuilding is cheap next to embedding: the 1,360
chunks of squad-dev-13 index in well under a second. The saved index names the revision it was built
from; a crash mid-save leaves the previous index in place, still marked with its older revision.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from rag.store import ChunkStore

TOKEN_PATTERN = r"(?u)\b\w+\b"  # keep one-character tokens: "5", "B" matter in questions


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(texts: list[str]) -> list[list[str]]:
    import bm25s

    return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), token_pattern=TOKEN_PATTERN,
                          return_ids=False, show_progress=False)


@dataclass
class KeywordHit:
    chunk_id: str
    score: float


class KeywordIndex:
    """One BM25 index per collection under `<dir>/`; `current.json` points at the live build."""

    def __init__(self, store: ChunkStore, folder: Path) -> None:
        self.store = store
        self.folder = Path(folder)
        self._lock = threading.Lock()
        self._bm25: Any = None
        self._ids: list[str] = []
        self._meta: list[tuple[str, str]] = []  # (doc_id, source) per indexed chunk, for filters
        self._revision: str | None = None
        self._df: dict[str, int] = {}  # chunks holding each token, for idf-weighted query coverage

    @property
    def size(self) -> int:
        return len(self._ids)

    def sync(self) -> bool:
        """Make the index match the store; True if it had to be rebuilt."""
        with self._lock:
            rev = self.store.revision()
            if self._revision == rev and self._bm25 is not None:
                return False
            if self._load(rev):
                return False
            self._build(rev)
            return True

    def _load(self, rev: str) -> bool:
        import bm25s

        pointer = self.folder / "current.json"
        try:
            cur = json.loads(pointer.read_text())
            if cur.get("revision") != rev:
                return False
            build = self.folder / cur["build"]
            side = json.loads((build / "chunks.json").read_text())
            bm25 = bm25s.BM25.load(str(build), show_progress=False) if side["ids"] else None
        except (OSError, ValueError, KeyError):
            return False
        self._bm25, self._ids, self._meta = bm25, side["ids"], [tuple(m) for m in side["meta"]]
        self._df = side.get("df", {})
        self._revision = rev
        return True

    def _build(self, rev: str) -> None:
        import bm25s

        ids, texts, meta = [], [], []
        for cid, text, m in self.store.iter_chunks():
            ids.append(cid)
            texts.append(text)
            meta.append((str(m.get("doc_id", "")), str(m.get("source", ""))))
        bm25 = None
        df: dict[str, int] = {}
        if ids:
            tokens = tokenize(texts)
            for toks in tokens:
                for t in set(toks):
                    df[t] = df.get(t, 0) + 1
            bm25 = bm25s.BM25()
            bm25.index(tokens, show_progress=False)
        self._bm25, self._ids, self._meta, self._revision, self._df = bm25, ids, meta, rev, df
        # a read-only store still answers; the index then lives in memory until the next start
        with contextlib.suppress(OSError):
            self._save(rev)

    def _save(self, rev: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        build_name = f"build-{rev[:16] or 'empty'}"
        tmp = self.folder / f".{build_name}.tmp{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        if self._bm25 is not None:
            self._bm25.save(str(tmp), show_progress=False)
        (tmp / "chunks.json").write_text(json.dumps({"ids": self._ids, "meta": self._meta, "df": self._df}))
        final = self.folder / build_name
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        pointer_tmp = self.folder / f".current.json.tmp{os.getpid()}"
        pointer_tmp.write_text(json.dumps({"revision": rev, "build": build_name}))
        os.replace(pointer_tmp, self.folder / "current.json")  # the switch is one atomic rename
        for old in self.folder.glob("build-*"):
            if old.name != build_name:
                shutil.rmtree(old, ignore_errors=True)

    def coverage(self, query: str, texts: list[str]) -> float:
        """Share of the query's idf weight that the texts contain: how much of what the question asks
        about the retrieved passages mention at all. A term found nowhere in the collection weighs most."""
        self.sync()
        from rag.citations import STOPWORDS

        # question words ("who", "which") are not what a question is about, and rare in documents
        words = " ".join(w for w in re.findall(r"\w+", query) if w.lower() not in STOPWORDS)
        q = set(tokenize([words])[0]) if words.strip() else set()
        if not q:
            return 1.0
        have = set().union(*map(set, tokenize(texts))) if texts else set()
        n = max(1, len(self._ids))
        idf = {t: math.log(1 + (n - self._df.get(t, 0) + 0.5) / (self._df.get(t, 0) + 0.5)) for t in q}
        total = sum(idf.values())
        return sum(w for t, w in idf.items() if t in have) / total if total else 1.0

    def search(self, query: str, k: int, doc_ids: list[str] | None = None,
               sources: list[str] | None = None) -> list[KeywordHit]:
        self.sync()
        if self._bm25 is None or not self._ids:
            return []
        mask = None
        if doc_ids or sources:
            mask = np.array([(not doc_ids or d in doc_ids) and (not sources or s in sources)
                             for d, s in self._meta], dtype=np.float32)
            if not mask.any():
                return []
        tokens = tokenize([query])
        if not tokens or not tokens[0]:
            return []
        k = min(k, len(self._ids))
        docs, scores = self._bm25.retrieve(tokens, k=k, show_progress=False, weight_mask=mask, n_threads=1)
        return [KeywordHit(self._ids[int(i)], float(s)) for i, s in zip(docs[0], scores[0], strict=True)
                if float(s) > 0.0]
