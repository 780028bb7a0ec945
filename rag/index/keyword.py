"""BM25 over the same chunks as the Chroma collection, persisted beside it and kept in step with it.

Every write to the store (by this process or any other) moves the store's revision. When the index's
revision differs, it compares the chunk ids it holds with the store's and applies the difference: added
chunks go into a small delta segment, deleted ones become tombstones (`rag.index.bm25_segments`). An upload to a
large collection therefore tokenizes one document, not the collection; the delta is merged into the main
segment once it holds more than `max(merge_min, merge_ratio × main)` chunks. Chunk ids are derived from
document, position and content, so an id present on both sides is the same text.

Each state is an immutable `Snapshot`, built aside and published by one reference assignment under the
lock: a search reads one snapshot from start to end and never pairs a new index with old ids. A search that
finds another thread bringing the index in step answers from the last published snapshot instead of
waiting. On disk, `current.json` names the revision, the main segment's folder and the delta's folder;
switching it is one atomic rename, so a crash leaves the previous state, which is then caught up.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.index.bm25_segments import Segment, Snapshot
from rag.index.store import ChunkStore
from rag.text.words import RANKING_STOPWORDS, STOPWORDS, TOKEN_PATTERN, ranking_stems, tokens

FORMAT = 2  # on-disk layout; an index saved in another layout is rebuilt once
STALE_AFTER_S = 60.0  # unreferenced folders older than this are removed (younger ones may be another
#                       process's, written just before it switches the pointer to them)


def tokenize(texts: list[str]) -> list[list[str]]:
    """BM25 terms: rag.text.words's ranking analyser (see RANKING_STOPWORDS for why it is not STOPWORDS)."""
    import bm25s

    return bm25s.tokenize(texts, stopwords=list(RANKING_STOPWORDS), stemmer=ranking_stems,
                          token_pattern=TOKEN_PATTERN,
                          return_ids=False, show_progress=False)


@dataclass
class KeywordHit:
    chunk_id: str
    score: float


class KeywordIndex:
    """One BM25 index per collection under `<folder>/`; `current.json` points at the live segments."""

    def __init__(self, store: ChunkStore, folder: Path, merge_min: int = 2000, merge_ratio: float = 0.1) -> None:
        self.store = store
        self.folder = Path(folder)
        self.merge_min = merge_min
        self.merge_ratio = merge_ratio
        self._lock = threading.Lock()  # one writer at a time; readers take `_snap` without it
        self._snap: Snapshot | None = None
        self._saved_main: tuple[Segment, str] | None = None  # the main segment already on disk, and its folder
        self._written: set[str] = set()  # folders this index wrote: removed as soon as they are replaced

    @property
    def size(self) -> int:
        snap = self._snap
        return snap.count if snap is not None else 0

    @property
    def snapshot(self) -> Snapshot | None:
        """The last published state (not brought in step first)."""
        return self._snap

    def sync(self) -> bool:
        """Make the index match the store; True if it had to change."""
        with self._lock:
            return self._sync_locked()

    def _current(self) -> Snapshot | None:
        """The index in step with the store, unless another thread is bringing it in step right now: then
        the last published snapshot, whole, rather than a wait."""
        if self._lock.acquire(blocking=self._snap is None):
            try:
                self._sync_locked()
            finally:
                self._lock.release()
        return self._snap

    def _sync_locked(self) -> bool:
        rev = self.store.revision()
        snap = self._snap
        if snap is not None and snap.revision == rev:
            return False
        if snap is None:
            snap = self._load()
            if snap is not None and snap.revision == rev:
                self._snap = snap
                return False
        new = self._build(rev) if snap is None else self._catch_up(snap, rev)
        self._snap = new  # the switch: one reference; a reader holds whichever snapshot it took
        # a read-only store still answers; the index then lives in memory until the next start
        with contextlib.suppress(OSError):
            self._save(new)
        return True

    def _build(self, rev: str) -> Snapshot:
        ids, texts, meta = [], [], []
        for cid, text, m in self.store.iter_chunks():
            ids.append(cid)
            texts.append(text)
            meta.append((str(m.get("doc_id", "")), str(m.get("source", ""))))
        return Snapshot.of(rev, Segment.build(ids, meta, tokenize(texts) if texts else []))

    def _catch_up(self, snap: Snapshot, rev: str) -> Snapshot:
        """Apply the difference between the ids the snapshot holds and the ids the store holds."""
        stored = set(self.store.iter_ids())
        have = snap.live_ids()
        added, removed = sorted(stored - have), have - stored
        if not added and not removed:
            return snap.at(rev)
        ids, texts, meta = [], [], []
        for cid, text, m in self.store.iter_chunks_by_ids(added):
            ids.append(cid)
            texts.append(text)
            meta.append((str(m.get("doc_id", "")), str(m.get("source", ""))))
        new = snap.apply(rev, Segment.build(ids, meta, tokenize(texts) if texts else []), removed)
        if new.delta.size + new.tombstones > max(self.merge_min, self.merge_ratio * new.main.size):
            new = new.merged()
        return new

    # On disk: main-<id>/ (segment), delta-<id>/ (segment + dead.npy, the tombstoned main rows), and
    # current.json naming both with the revision. Folders are written whole under a temporary name first.
    def _load(self) -> Snapshot | None:
        try:
            cur = json.loads((self.folder / "current.json").read_text())
            if cur.get("format") != FORMAT:
                return None
            main = Segment.load(self.folder / cur["main"])
            dead = np.zeros(main.size, bool)
            delta = None
            if cur.get("delta"):
                delta_dir = self.folder / cur["delta"]
                delta = Segment.load(delta_dir)
                dead[np.load(delta_dir / "dead.npy")] = True
        except (OSError, ValueError, KeyError, IndexError):
            return None
        self._saved_main = (main, cur["main"])
        return Snapshot.of(str(cur["revision"]), main, dead, delta)

    def _save(self, snap: Snapshot) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if (self._saved_main is not None and self._saved_main[0] is snap.main
                and (self.folder / self._saved_main[1]).is_dir()):  # (another process may have merged it away)
            main_name = self._saved_main[1]
        else:
            main_name = self._write_folder("main", snap.main.save)
            self._saved_main = (snap.main, main_name)
        delta_name = None
        if snap.delta.size or snap.tombstones:
            def write_delta(folder: Path) -> None:
                snap.delta.save(folder)
                np.save(folder / "dead.npy", np.flatnonzero(snap.dead))

            delta_name = self._write_folder("delta", write_delta)
        tmp = self.folder / f".current.json.tmp{os.getpid()}-{threading.get_ident()}"
        tmp.write_text(json.dumps({"format": FORMAT, "revision": snap.revision, "main": main_name,
                                   "delta": delta_name}))
        os.replace(tmp, self.folder / "current.json")  # the switch is one atomic rename
        self._remove_unused({main_name, delta_name})

    def _write_folder(self, kind: str, write: Any) -> str:
        name = f"{kind}-{uuid.uuid4().hex[:12]}"
        tmp = self.folder / f".{name}.tmp"
        write(tmp)
        os.replace(tmp, self.folder / name)
        self._written.add(name)
        return name

    def _remove_unused(self, keep: set[str | None]) -> None:
        """Folders the pointer no longer names: this index's own at once; others (another process's, a
        crashed write's, the layout before segments) once they are old enough not to be in use."""
        now = time.time()
        for entry in self.folder.iterdir():
            if entry.name == "current.json" or entry.name in keep:
                continue
            with contextlib.suppress(OSError):
                mine = entry.name in self._written or entry.name.startswith("build-")
                if not mine and now - entry.stat().st_mtime <= STALE_AFTER_S:
                    continue
                self._written.discard(entry.name)
                if entry.is_dir():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()

    def coverage(self, query: str, texts: list[str]) -> float:
        """Share of the query's idf weight that the texts contain: how much of what the question asks
        about the retrieved passages mention at all. A term found nowhere in the collection weighs most."""
        snap = self._current()
        # question words ("who", "which") are not what a question is about, and rare in documents: the
        # evidence stop list drops them before the ranking analyser reads the rest
        q = set(tokenize([" ".join(w for w in tokens(query) if w not in STOPWORDS)])[0])
        if not q:
            return 1.0
        have = set().union(*map(set, tokenize(texts))) if texts else set()
        n = max(1, snap.count if snap else 0)
        df = {t: snap.document_frequency(t) if snap else 0 for t in q}
        idf = {t: math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in q}
        total = sum(idf.values())
        return sum(w for t, w in idf.items() if t in have) / total if total else 1.0

    def search(self, query: str, k: int, doc_ids: list[str] | None = None,
               sources: list[str] | None = None) -> list[KeywordHit]:
        snap = self._current()
        if snap is None or not snap.count:
            return []
        tokens = tokenize([query])
        if not tokens or not tokens[0]:
            return []
        parts = snap.scores(tokens[0])
        if doc_ids or sources:
            for seg, scores in zip((snap.main, snap.delta), parts, strict=True):
                scores *= np.array([(not doc_ids or d in doc_ids) and (not sources or s in sources)
                                    for d, s in seg.meta], dtype=np.float32).reshape(-1)
        scores = np.concatenate(parts)
        k = min(k, len(scores))
        if k < 1:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        n_main = snap.main.size
        return [KeywordHit(snap.main.ids[i] if i < n_main else snap.delta.ids[i - n_main], float(scores[i]))
                for i in map(int, top) if scores[i] > 0.0]
