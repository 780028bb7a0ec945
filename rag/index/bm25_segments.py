"""BM25 over immutable segments: a large main segment, a small delta of what was added since it was built,
and tombstones for main rows deleted since. An update writes a new delta (and tombstones), so its cost
follows the change, not the collection; the delta is merged into a new main only once it has grown.

Scores are exact over the live chunks of both segments: document frequencies, the chunk count and the mean
length are taken over what is live at query time, so a document scores the same whether it sits in the main
or in the delta. The formula is bm25s's default (Lucene's BM25: k1 1.5, b 0.75), the library this replaces
for scoring (it builds static indexes only), so rankings did not move.

Nothing here is changed after construction: a `Snapshot` is published whole, and a reader holding one never
sees another half-applied.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

K1 = 1.5
B = 0.75


@dataclass(frozen=True)
class Segment:
    """Term frequencies of some chunks, by term (compressed sparse columns): the chunks holding a term
    are `rows[indptr[col]:indptr[col + 1]]`, with `tfs` beside them."""

    ids: list[str]
    meta: list[tuple[str, str]]  # (doc_id, source) per chunk, for filters
    terms: dict[str, int]  # term -> column
    indptr: np.ndarray  # int64, one more than the terms
    rows: np.ndarray  # int32
    tfs: np.ndarray  # float32
    lengths: np.ndarray  # float32, tokens per chunk

    @property
    def size(self) -> int:
        return len(self.ids)

    @classmethod
    def empty(cls) -> Segment:
        return cls([], [], {}, np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32),
                   np.zeros(0, np.float32))

    @classmethod
    def build(cls, ids: list[str], meta: list[tuple[str, str]], tokens: Sequence[Sequence[str]]) -> Segment:
        terms: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        tfs: list[int] = []
        for r, toks in enumerate(tokens):
            for term, n in Counter(toks).items():
                rows.append(r)
                cols.append(terms.setdefault(term, len(terms)))
                tfs.append(n)
        lengths = np.array([len(t) for t in tokens], np.float32)
        return cls._from_coo(list(ids), list(meta), terms, np.array(rows, np.int32), np.array(cols, np.int64),
                             np.array(tfs, np.float32), lengths)

    @classmethod
    def _from_coo(cls, ids: list[str], meta: list[tuple[str, str]], terms: dict[str, int], rows: np.ndarray,
                  cols: np.ndarray, tfs: np.ndarray, lengths: np.ndarray) -> Segment:
        order = np.argsort(cols, kind="stable")
        indptr = np.zeros(len(terms) + 1, np.int64)
        np.cumsum(np.bincount(cols, minlength=len(terms)), out=indptr[1:])
        return cls(ids, meta, terms, indptr, rows[order].astype(np.int32), tfs[order].astype(np.float32),
                   lengths.astype(np.float32))

    def _coo(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        cols = np.repeat(np.arange(len(self.terms), dtype=np.int64), np.diff(self.indptr))
        return self.rows, cols, self.tfs

    @classmethod
    def concat(cls, parts: Sequence[tuple[Segment, np.ndarray | None]]) -> Segment:
        """The kept rows (a boolean mask per part, None: all) of several segments, as one segment."""
        ids: list[str] = []
        meta: list[tuple[str, str]] = []
        terms: dict[str, int] = {}
        all_rows, all_cols, all_tfs, all_lengths = [], [], [], []
        for seg, keep in parts:
            keep = np.ones(seg.size, bool) if keep is None else keep
            new_row = np.cumsum(keep) - 1 + len(ids)
            ids += [i for i, k in zip(seg.ids, keep, strict=True) if k]
            meta += [m for m, k in zip(seg.meta, keep, strict=True) if k]
            col_map = np.array([terms.setdefault(t, len(terms)) for t in seg.terms], np.int64)
            rows, cols, tfs = seg._coo()
            live = keep[rows]
            all_rows.append(new_row[rows[live]])
            all_cols.append(col_map[cols[live]])
            all_tfs.append(tfs[live])
            all_lengths.append(seg.lengths[keep])
        if not all_rows:
            return cls.empty()
        return cls._from_coo(ids, meta, terms, np.concatenate(all_rows), np.concatenate(all_cols),
                             np.concatenate(all_tfs), np.concatenate(all_lengths))

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        col = self.terms.get(term)
        if col is None:
            return None
        lo, hi = self.indptr[col], self.indptr[col + 1]
        return self.rows[lo:hi], self.tfs[lo:hi]

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(folder / "segment.npz", indptr=self.indptr, rows=self.rows, tfs=self.tfs, lengths=self.lengths)
        (folder / "segment.json").write_text(json.dumps({"ids": self.ids, "meta": self.meta,
                                                         "terms": list(self.terms)}))

    @classmethod
    def load(cls, folder: Path) -> Segment:
        side = json.loads((folder / "segment.json").read_text())
        with np.load(folder / "segment.npz") as arrays:
            return cls(side["ids"], [(str(d), str(s)) for d, s in side["meta"]],
                       {t: i for i, t in enumerate(side["terms"])}, arrays["indptr"], arrays["rows"],
                       arrays["tfs"], arrays["lengths"])


@dataclass(frozen=True)
class Snapshot:
    """One consistent state of the index: main, the tombstones on it, and the delta, at a store revision."""

    revision: str
    main: Segment
    dead: np.ndarray  # bool per main row: deleted since the main was built
    delta: Segment
    main_rows: dict[str, int] = field(repr=False)  # chunk id -> main row (shared by snapshots of one main)
    count: int = field(init=False)
    mean_length: float = field(init=False)

    def __post_init__(self) -> None:
        live = ~self.dead
        count = int(live.sum()) + self.delta.size
        total = float(self.main.lengths[live].sum()) + float(self.delta.lengths.sum())
        object.__setattr__(self, "count", count)
        object.__setattr__(self, "mean_length", total / count if count else 0.0)

    @classmethod
    def of(cls, revision: str, main: Segment, dead: np.ndarray | None = None,
           delta: Segment | None = None) -> Snapshot:
        return cls(revision, main, np.zeros(main.size, bool) if dead is None else dead,
                   delta or Segment.empty(), {cid: i for i, cid in enumerate(main.ids)})

    @property
    def tombstones(self) -> int:
        return int(self.dead.sum())

    def live_ids(self) -> set[str]:
        return {cid for cid, d in zip(self.main.ids, self.dead, strict=True) if not d} | set(self.delta.ids)

    def at(self, revision: str) -> Snapshot:
        return Snapshot(revision, self.main, self.dead, self.delta, self.main_rows)

    def apply(self, revision: str, added: Segment, removed: set[str]) -> Snapshot:
        """A new snapshot with chunks added and removed: tombstones for main rows, and a new delta of the
        old delta's remaining chunks plus the added ones. Costs follow the delta and the change."""
        dead = self.dead
        gone_rows = [self.main_rows[cid] for cid in removed if cid in self.main_rows]
        if gone_rows:
            dead = dead.copy()
            dead[gone_rows] = True
        keep = np.array([cid not in removed for cid in self.delta.ids], bool)
        delta = Segment.concat([(self.delta, keep), (added, None)])
        return Snapshot(revision, self.main, dead, delta, self.main_rows)

    def merged(self) -> Snapshot:
        """The live chunks of main and delta as a new main, without tombstones."""
        return Snapshot.of(self.revision, Segment.concat([(self.main, ~self.dead), (self.delta, None)]))

    def document_frequency(self, term: str) -> int:
        n = 0
        for seg, dead in ((self.main, self.dead), (self.delta, None)):
            hit = seg.postings(term)
            if hit is not None:
                n += int((~dead[hit[0]]).sum()) if dead is not None else len(hit[0])
        return n

    def scores(self, tokens: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """BM25 of every main and every delta chunk for the query tokens (a repeated token counts again, as
        in bm25s); deleted main chunks score 0."""
        out = (np.zeros(self.main.size, np.float32), np.zeros(self.delta.size, np.float32))
        if not self.count:
            return out
        for term, times in Counter(tokens).items():
            hits = []
            for i, (seg, dead) in enumerate(((self.main, self.dead), (self.delta, None))):
                hit = seg.postings(term)
                if hit is None:
                    continue
                rows, tfs = hit
                if dead is not None:
                    alive = ~dead[rows]
                    rows, tfs = rows[alive], tfs[alive]
                hits.append((i, rows, tfs))
            df = sum(len(rows) for _, rows, _ in hits)
            if not df:
                continue
            idf = math.log(1 + (self.count - df + 0.5) / (df + 0.5))
            for i, rows, tfs in hits:
                seg = self.main if i == 0 else self.delta
                norm = K1 * (1 - B + B * seg.lengths[rows] / self.mean_length)
                out[i][rows] += times * idf * tfs / (tfs + norm)
        return out
