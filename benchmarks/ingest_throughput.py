"""Ingestion throughput beside its ceiling and llama-index, and the cost of re-syncing an unchanged corpus.

    python -m benchmarks.ingest_throughput [--docs ../shared/datasets/squad-dev-13/docs]

In one run, on the same documents and the same loaded MiniLM embedder:
- ours: `Ingestor.sync` into a fresh embedded Chroma store (load, chunk, embed, store, BM25, records);
- raw embedder: only `embed_documents` over our chunk texts, in the same batches: the ceiling;
- llama-index: `VectorStoreIndex.from_documents` with its defaults (SentenceSplitter, in-memory store);
- re-sync: `Ingestor.sync` again over the unchanged folder (nothing to embed).
Chunks/s depends on chunk size, so tokens/s (tiktoken, of the text embedded) is the fair comparison.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchmarks.common import table, write
from rag.components import Components
from rag.ingest.chunker import chunk_document
from rag.ingest.loaders import iter_files, load_file
from rag.ingest.tokens import count_tokens
from rag.settings import Settings


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=Path, default=Path("../shared/datasets/squad-dev-13/docs"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        comps = Components(Settings(persist_dir=Path(tmp) / "store", collection="bench"))
        emb = comps.embedder
        emb.embed_documents(["warm up the model"])  # loading the model is not ingestion
        docs = [load_file(f) for f in iter_files([args.docs])]
        chunks = [c for d in docs for c in chunk_document(d, comps.settings.chunk_size, comps.settings.chunk_overlap)]
        tokens = sum(count_tokens(c.text) for c in chunks)
        doc_tokens = sum(count_tokens(d.text) for d in docs)

        t0 = time.perf_counter()
        step = comps.settings.embed_batch_size
        for i in range(0, len(chunks), step):
            emb.embed_documents([c.text for c in chunks[i:i + step]])
        raw_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        report = comps.ingestor.sync(args.docs)
        ours_s = time.perf_counter() - t0
        assert report.chunks == len(chunks) and comps.store.count() == len(chunks)

        t0 = time.perf_counter()
        again = comps.ingestor.sync(args.docs)
        resync_s = time.perf_counter() - t0
        assert again.embedded == 0 and again.unchanged == len(docs)

        from llama_index.core import Document as LIDocument
        from llama_index.core import Settings as LISettings
        from llama_index.core import VectorStoreIndex

        LISettings.llm = None
        li_docs = [LIDocument(text=d.text, metadata={"source": d.source}) for d in docs]
        t0 = time.perf_counter()
        index = VectorStoreIndex.from_documents(li_docs, embed_model=emb._model)  # type: ignore[attr-defined]
        li_s = time.perf_counter() - t0
        li_nodes = len(index.docstore.docs)
        li_tokens = sum(count_tokens(n.get_content()) for n in index.docstore.docs.values())

    rows = [
        ["ours (`rag sync`, Chroma + BM25)", len(chunks), f"{ours_s:.1f}", f"{len(chunks) / ours_s:.1f}",
         f"{tokens / ours_s:,.0f}", f"{(tokens / ours_s) / (tokens / raw_s):.2f}×"],
        ["raw embedder (ceiling)", len(chunks), f"{raw_s:.1f}", f"{len(chunks) / raw_s:.1f}",
         f"{tokens / raw_s:,.0f}", "1.00×"],
        ["llama-index `VectorStoreIndex.from_documents`", li_nodes, f"{li_s:.1f}", f"{li_nodes / li_s:.1f}",
         f"{li_tokens / li_s:,.0f}", f"{(li_tokens / li_s) / (tokens / raw_s):.2f}×"],
        ["re-sync, unchanged corpus", 0, f"{resync_s:.2f}", "—", "—",
         f"{100 * resync_s / ours_s:.1f}% of first ingest"],
    ]
    md = (f"## Ingestion: {len(docs)} documents, {doc_tokens:,} tokens ({args.docs})\n\n"
          + table(["system", "chunks", "seconds", "chunks/s", "tokens/s", "vs raw embedder"], rows))
    write("ingest_throughput", {
        "docs": str(args.docs), "documents": len(docs), "doc_tokens": doc_tokens, "chunks": len(chunks),
        "chunk_tokens": tokens, "ours_s": ours_s, "raw_embedder_s": raw_s, "llamaindex_s": li_s,
        "llamaindex_nodes": li_nodes, "llamaindex_tokens": li_tokens, "resync_s": resync_s,
        "ours_vs_raw_tokens_per_s": (tokens / ours_s) / (tokens / raw_s),
        "resync_share_of_first": resync_s / ours_s}, md)


if __name__ == "__main__":
    main()
