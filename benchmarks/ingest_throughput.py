"""Ingestion throughput beside its ceiling and llama-index, and the cost of re-syncing an unchanged corpus.

    python -m benchmarks.ingest_throughput [--docs ../shared/datasets/squad-dev-13/docs]
    python -m benchmarks.ingest_throughput --small-files 1000     # a folder of notes, whole `rag sync`

In one run, on the same documents and the same loaded MiniLM embedder:
- ours: `Ingestor.sync` into a fresh embedded Chroma store (load, chunk, embed, store, BM25, records);
- raw embedder: only `embed_documents` over our chunk texts, in the same batches: the ceiling;
- llama-index: `VectorStoreIndex.from_documents` with its defaults (SentenceSplitter, in-memory store);
- re-sync: `Ingestor.sync` again over the unchanged folder (nothing to embed).
Chunks/s depends on chunk size, so tokens/s (tiktoken, of the text embedded) is the fair comparison.

With --small-files N: N files of one squad-dev-13 paragraph (over 40 words) each, and a whole-process
`python -m rag.cli sync` of that folder (interpreter, imports, model load included) against plain
sentence-transformers `encode(texts, batch_size=32, normalize_embeddings=True)` of the same N texts, timed
before and after the sync (their mean is the reference, so a change in the machine's load shows). Beside
them: our embedder's `embed_documents` and llama-index's `HuggingFaceEmbedding` (the wrapper used before)
on the same texts, and an in-process `Ingestor.sync` with the model already loaded. The whole-process sync
runs twice: with the default `embed_precision=auto` (bfloat16 on AMX CPUs) and with float32, the plain
reference's arithmetic. Written to
`ingest_small_files.json`/`.md`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import SQUAD_DOCS, table, write, write_small_files
from rag.components import Components
from rag.config import Settings
from rag.ingest.chunker import chunk_document
from rag.ingest.loaders import iter_files, load_file
from rag.text.tokens import count_tokens


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=Path, default=SQUAD_DOCS)
    ap.add_argument("--small-files", type=int, default=0, help="N one-paragraph files, whole `rag sync`")
    args = ap.parse_args()
    if args.small_files:
        small_files(args.small_files, args.docs)
        return
    with tempfile.TemporaryDirectory() as tmp:
        comps = Components(Settings(store={"persist_dir": Path(tmp) / "store", "collection": "bench"}))
        emb = comps.embedder
        emb.embed_documents(["warm up the model"])  # loading the model is not ingestion
        docs = [load_file(f) for f in iter_files([args.docs])]
        chunks = [
            c
            for d in docs
            for c in chunk_document(d, comps.settings.ingest.chunk_size, comps.settings.ingest.chunk_overlap)
        ]
        tokens = sum(count_tokens(c.text) for c in chunks)
        doc_tokens = sum(count_tokens(d.text) for d in docs)

        t0 = time.perf_counter()
        step = comps.settings.embed.batch_size
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
        li_model = emb.llama_index_model()  # type: ignore[attr-defined]
        li_model.get_text_embedding("warm up the model")
        t0 = time.perf_counter()
        index = VectorStoreIndex.from_documents(li_docs, embed_model=li_model)
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


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def small_files(n: int, docs: Path) -> None:
    from sentence_transformers import SentenceTransformer

    from rag.backends.embedder import packaged_minilm_path

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "notes"
        texts = write_small_files(folder, n, docs)
        tokens = sum(count_tokens(t) for t in texts)
        model = SentenceTransformer(packaged_minilm_path(), device="cpu")
        model.encode(["warm up the model"])

        def plain() -> None:
            model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)

        plain_before = _timed(plain)
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
        env.update(RAG_STORE__PERSIST_DIR=str(Path(tmp) / "store"), RAG_STORE__COLLECTION="notes", HF_HUB_OFFLINE="1")

        def whole_sync(store: str, **extra: str) -> float:
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "rag.cli", "sync", str(folder)], capture_output=True,
                                  text=True, env=env | {"RAG_STORE__PERSIST_DIR": str(Path(tmp) / store)} | extra)
            if proc.returncode != 0:
                raise SystemExit(proc.stderr)
            return time.perf_counter() - t0

        sync_s = whole_sync("store")
        sync_fp32_s = whole_sync("store-fp32", RAG_EMBED__PRECISION="float32")
        plain_after = _timed(plain)
        plain_s = (plain_before + plain_after) / 2

        comps = Components(Settings(store={"persist_dir": Path(tmp) / "store2", "collection": "notes"}))
        emb = comps.embedder
        emb.embed_documents(["warm up the model"])
        ours_embed_s = _timed(lambda: emb.embed_documents(texts))
        precision = "bfloat16" if emb.uses_bfloat16() else "float32"  # type: ignore[attr-defined]
        li = emb.llama_index_model()  # type: ignore[attr-defined]
        li_s = _timed(lambda: li.get_text_embedding_batch(texts))
        in_process_s = _timed(lambda: comps.ingestor.sync(folder))
        chunks = comps.store.count()

    def row(name: str, seconds: float) -> list[str]:
        return [name, f"{seconds:.1f}", f"{n / seconds:.1f}", f"{plain_s / seconds:.2f}×"]

    md = (f"## Ingestion of {n} small files (one squad-dev-13 paragraph each, {tokens:,} tokens, "
          f"{chunks} chunks)\n\n"
          + table(["system", "seconds", "files/s", "vs plain sentence-transformers"], [
              row(f"`rag sync` (whole process: start, imports, model load, ingest, BM25), "
                  f"embed_precision=auto ({precision})", sync_s),
              row("`rag sync`, whole process, `RAG_EMBED__PRECISION=float32`", sync_fp32_s),
              row("`Ingestor.sync` in-process (model loaded)", in_process_s),
              row("plain sentence-transformers `encode` (batch 32, normalised)", plain_s),
              row("our embedder `embed_documents`", ours_embed_s),
              row("llama-index `HuggingFaceEmbedding.get_text_embedding_batch` (before)", li_s)])
          + f"\n\nPlain encoding took {plain_before:.1f} s before the sync and {plain_after:.1f} s after.")
    write("ingest_small_files", {
        "files": n, "tokens": tokens, "chunks": chunks, "rag_sync_process_s": sync_s,
        "auto_precision": precision, "rag_sync_process_float32_s": sync_fp32_s,
        "ingestor_sync_in_process_s": in_process_s, "plain_encode_s": plain_s,
        "plain_encode_before_s": plain_before, "plain_encode_after_s": plain_after,
        "our_embedder_s": ours_embed_s, "llamaindex_wrapper_s": li_s,
        "rag_sync_vs_plain": plain_s / sync_s, "rag_sync_float32_vs_plain": plain_s / sync_fp32_s,
        "in_process_vs_plain": plain_s / in_process_s}, md)


if __name__ == "__main__":
    main()
