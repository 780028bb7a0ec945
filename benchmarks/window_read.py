"""What opening a citation costs in a long document: the text window read by the chunks' offsets against
reading all of the document's chunks (and every document's record, for the page count), as before.

    python -m benchmarks.window_read [--chunks 5000] [--opens 50]

The collection is synthetic (`fill_synthetic`: documents of 1,000 chunks of ~120 words, random vectors, no
embedding): about a 600-page book per document. Each open is `text_window` at a random span of a random
document (margin 1,200 characters); `paragraph_around`, which the refusal path reads, makes the same read.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from benchmarks.common import fill_synthetic, p50_p95, table, write
from rag.config import Settings
from rag.index.documents import TextWindow, _stitched, file_name, text_window
from rag.index.store import ChunkStore
from rag.types import DocRecord, DocState


def whole_read(store: ChunkStore, doc_id: str, start: int, end: int, margin: int = 1200) -> TextWindow:
    """`text_window` as it was: every chunk of the document, and every document's record."""
    chunks = store.get_chunks(doc_id)
    lo, hi, start, end, text, page = _stitched(chunks, start, end, margin)
    rec = store.doc_records().get(doc_id)
    pages = (rec.pages if rec else None) or max((c.page or 0) for c in chunks)
    return TextWindow(doc_id, chunks[0].title, file_name(chunks[0].source), lo, hi, start, end, page, pages, text)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunks", type=int, default=5000)
    ap.add_argument("--opens", type=int, default=50)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = ChunkStore(Settings(_env_file=None, store={"persist_dir": Path(tmp), "collection": "window"}))
        fill_synthetic(store, args.chunks)
        docs = [f"doc{d}" for d in range(0, args.chunks, 1000)]
        store.put_doc_records([DocRecord(doc_id=d, source=f"synthetic/{d}.txt", pages=0, state=DocState.complete)
                               for d in docs])
        ends = {d: store.get_chunks(d)[-1].end for d in docs}
        rng = random.Random(13)
        spans = [(d, s, s + 200) for d in (rng.choice(docs) for _ in range(args.opens))
                 for s in [rng.randrange(0, ends[d] - 200)]]
        times: dict[str, list[float]] = {"whole document": [], "by offsets": []}
        for d, s, e in spans:
            for name, read in (("whole document", whole_read), ("by offsets", text_window)):
                t0 = time.perf_counter()
                w = read(store, d, s, e)
                times[name].append((time.perf_counter() - t0) * 1000)
            assert w.text == whole_read(store, d, s, e).text  # the same window either way
    rows = [[name, args.chunks, args.opens, *p50_p95(ms).values()] for name, ms in times.items()]
    md = table(["read", "chunks in collection", "opens", "p50 ms", "p95 ms"], rows)
    print(md)
    write(f"window_read_{args.chunks}", {"chunks": args.chunks, "opens": args.opens,
                                         "times": {k: p50_p95(v) for k, v in times.items()}}, md)


if __name__ == "__main__":
    main()
