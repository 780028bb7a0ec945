"""What the side panels do: collections, documents, the source viewer and saved conversations. Each function
takes the components and plain values and returns what the page shows; `ui.app` wires them to widgets."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from rag.components import CollectionError, Components
from rag.index.documents import DocumentNotFound, document_file, file_name, render_pdf_page, text_window
from rag.ingest.loaders import LoadError
from rag.ingest.pipeline import IngestInterrupted
from rag.logs import log_refused
from rag.state.conversations import ConversationNotFound
from rag.types import Answer
from rag.web.ui.render import documents_table, render_answer, viewer


def header(comps: Components, collection: str) -> str:
    parts = comps.collection(collection)
    return (f"### Ask your documents\nEvery answer cites the passages it came from.  \n"
            f"Model: `{comps.llm.name}` · collection: `{parts.name}` "
            f"({parts.store.count()} chunks, {len(parts.store.list_documents())} documents)")


# Documents
def documents(comps: Components, collection: str) -> tuple[str, list[tuple[str, str]]]:
    """The table, and the (label, id) choices of the document picker."""
    docs = comps.collection(collection).store.list_documents()
    return documents_table(docs), [(f"{d['title']} ({file_name(str(d['source']))})", str(d["doc_id"]))
                                   for d in docs]


def upload_files(comps: Components, collection: str, paths: list[Path], progress: Any = None) -> str:
    """Ingest each file on its own: one line of result (or error) per file, warnings under it."""
    ingestor = comps.collection(collection).ingestor
    lines = []
    for i, path in enumerate(paths):
        if progress is not None:
            progress((i, len(paths)), desc=f"Ingesting {path.name}")
        try:
            res = ingestor.ingest_upload(path.read_bytes(), path.name)
            lines.append(f"✅ {path.name}: {res.chunks} chunks ({res.embedded} new)")
            lines.extend(f"⚠️ {w}" for w in res.warnings)
        except (LoadError, OSError, IngestInterrupted) as exc:
            message = str(exc)  # a loader's message starts with the file's name already
            log_refused("unreadable_file" if isinstance(exc, LoadError) else "", message)
            lines.append(f"❌ {message}" if message.startswith(path.name) else f"❌ {path.name}: {message}")
    return "\n\n".join(lines) or "No file given."


def delete_document(comps: Components, collection: str, doc_id: str) -> str:
    title = _title(comps, collection, doc_id)
    removed = comps.collection(collection).ingestor.delete_document(doc_id)
    return f"🗑️ Deleted {title} ({removed} chunks)." if removed else f"❌ {title}: not in the collection."


def reingest_document(comps: Components, collection: str, doc_id: str) -> str:
    title = _title(comps, collection, doc_id)
    try:
        res = comps.collection(collection).ingestor.reingest(doc_id)
    except (LoadError, OSError, IngestInterrupted) as exc:
        return f"❌ {exc}"
    return f"🔄 Re-ingested {title}: {res.chunks} chunks ({res.embedded} new, {res.removed} removed)."


def _title(comps: Components, collection: str, doc_id: str) -> str:
    rec = comps.collection(collection).store.doc_record(doc_id)
    return file_name(str(rec.get("source") or doc_id))


# Collections
def create_collection(comps: Components, name: str) -> tuple[str, str]:
    """(the collection now selected, a status line)."""
    name = (name or "").strip()
    try:
        comps.collection(name, create=True)
    except CollectionError as exc:
        return "", f"❌ {exc}"
    return name, f"✅ Created collection {name}."


def delete_collection(comps: Components, name: str) -> str:
    try:
        comps.delete_collection(name)
    except CollectionError as exc:
        return f"❌ {exc}"
    return f"🗑️ Deleted collection {name}."


# The source viewer
def open_source(comps: Components, request: str, collection: str) -> tuple[str, Any]:
    """(the viewer's HTML, a PIL image of the PDF page or None) for a citation link's request."""
    try:
        req = json.loads(request)
        parts = comps.collection(req.get("collection") or collection)
        window = text_window(parts.store, str(req["doc"]), int(req["start"]), int(req["end"]))
    except (ValueError, KeyError, TypeError, DocumentNotFound, CollectionError):
        return "<p>That source is no longer in the collection.</p>", None
    image = None
    path = document_file(parts.store, window.doc_id)
    if window.page and path is not None and path.suffix.lower() == ".pdf":
        import io

        from PIL import Image

        try:
            image = Image.open(io.BytesIO(render_pdf_page(path, window.page)))
        except (IndexError, OSError):
            image = None
    return viewer(window), image


# Conversations
def conversation_choices(comps: Components) -> list[tuple[str, str]]:
    return [(f"{c['title'] or 'New conversation'} · {c['collection']}", c["id"]) for c in comps.conversations.list()]


def reopen(comps: Components, cid: str) -> tuple[list[dict], list[dict], str]:
    """(chat messages, history for follow-ups, the conversation's collection)."""
    try:
        conv = comps.conversations.get(cid)
    except ConversationNotFound:
        return [], [], comps.name
    collection = conv["collection"] if conv["collection"] in comps.collection_names() else comps.name
    chat = []
    for m in conv["messages"]:
        if m["role"] == "assistant" and m.get("answer"):
            chat.append({"role": "assistant", "content": render_answer(Answer.model_validate(m["answer"]),
                                                                       conv["collection"])})
        else:
            chat.append({"role": m["role"], "content": m["content"]})
    history = [{"role": m["role"], "content": m["content"]} for m in conv["messages"]]
    return chat, history, collection


def export(comps: Components, cid: str) -> str | None:
    """A Markdown file of the conversation, for download."""
    try:
        md = comps.conversations.export_markdown(cid)
    except ConversationNotFound:
        return None
    out = Path(tempfile.mkdtemp(prefix="rag-export-")) / f"conversation-{cid}.md"
    out.write_text(md, encoding="utf-8")
    return str(out)
