"""What the side panels do: collections, documents, the source viewer and saved conversations. Each function
takes the components and plain values and returns what the page shows; `ui.app` wires them to widgets."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from rag.components import CollectionError, Components
from rag.index.documents import DocumentNotFound, document_file, file_name, text_window
from rag.ingest.loaders import LoadError
from rag.ingest.pages import render_pdf_page
from rag.ingest.pipeline import IngestInterrupted
from rag.logs import log_refused
from rag.services import access, collections
from rag.services import documents as services
from rag.services.documents import Refusal, Upload
from rag.state.errors import ConversationNotFound
from rag.types import SINGLE_USER, Answer, Caller
from rag.web.ui.render import documents_table, render_answer, viewer


def header(comps: Components, collection: str, caller: Caller = SINGLE_USER) -> str:
    parts = access.require_collection(comps, caller, collection)
    return (f"### Ask your documents\nEvery answer cites the passages it came from.  \n"
            f"Model: `{comps.llm.name}` · collection: `{parts.name}` "
            f"({parts.store.count()} chunks, {len(parts.store.list_documents())} documents)"
            + (" · ⏳ *warming up: the model is loading*" if comps.warmup.warming else ""))


# Documents
def documents(comps: Components, collection: str, caller: Caller = SINGLE_USER,
              ) -> tuple[str, list[tuple[str, str]]]:
    """The table, and the (label, id) choices of the document picker."""
    docs = services.list_documents(access.require_collection(comps, caller, collection))
    return documents_table(docs), [(f"{d['title']} ({file_name(str(d['source']))})", str(d["doc_id"]))
                                   for d in docs]


def upload_files(comps: Components, collection: str, paths: list[Path], progress: Any = None,
                 caller: Caller = SINGLE_USER) -> str:
    """Check every file, then ingest them together, as the API does (`rag.services.documents.upload`): one line
    of result or error per file, warnings under it. One refused file keeps the others out too. The files at
    `paths` (Gradio's temporary copies) are deleted afterwards, whatever came of them: a kept upload lives in
    the store's own folder."""
    if not paths:
        return "No file given."

    def embedded(done: int, queued: int) -> None:
        if progress is not None:
            progress((done, max(queued, 1)), desc=f"Ingesting {len(paths)} file{'s' * (len(paths) > 1)}")

    try:
        parts = access.require_owner(comps, caller, collection)
        results = services.upload(parts, [Upload(p.name, p) for p in paths], embedded)
    except CollectionError as exc:
        return f"❌ {exc}"
    except services.UploadRefused as exc:
        return "\n\n".join(_refused_lines(exc))
    except IngestInterrupted as exc:
        return f"❌ {exc}"
    finally:  # Gradio's copies: served at /gradio_api/file= while they exist, long after a document is deleted
        for path in paths:
            path.unlink(missing_ok=True)
    lines = []
    for res in results:
        lines.append(f"✅ {file_name(res.source)}: {res.chunks} chunks ({res.embedded} new)")
        lines.extend(f"⚠️ {w}" for w in res.warnings)
    return "\n\n".join(lines)


def _refused_lines(exc: services.UploadRefused) -> list[str]:
    """A line per file: why it was refused, or that it was kept out with the refused ones (an upload is taken
    whole, as the API takes it)."""
    for r in exc.refusals:
        log_refused(r.code, r.message)
    if exc.whole:
        return [f"❌ {exc.whole.message}"]
    return [_refused_line(name, r) if r else f"⏸️ {name}: not added, because another file of this upload was "
            "refused; add it again without that file" for name, r in exc.files]


def _refused_line(name: str, refusal: Refusal) -> str:
    message = refusal.message  # a loader's message starts with the file's name already
    return f"❌ {message}" if message.startswith(name) else f"❌ {name}: {message}"


def delete_document(comps: Components, collection: str, doc_id: str, caller: Caller = SINGLE_USER) -> str:
    try:
        parts = access.require_owner(comps, caller, collection)
    except CollectionError as exc:
        return f"❌ {exc}"
    title = _title(parts, doc_id)
    try:
        removed = services.delete(parts, doc_id)
    except DocumentNotFound:
        return f"❌ {title}: not in the collection."
    return f"🗑️ Deleted {title} ({removed} chunks)."


def reingest_document(comps: Components, collection: str, doc_id: str, caller: Caller = SINGLE_USER) -> str:
    try:
        parts = access.require_owner(comps, caller, collection)
    except CollectionError as exc:
        return f"❌ {exc}"
    title = _title(parts, doc_id)
    try:
        res = services.reingest(parts, doc_id)
    except DocumentNotFound:
        return f"❌ {title}: not in the collection."
    except (LoadError, OSError, IngestInterrupted) as exc:
        return f"❌ {exc}"
    return f"🔄 Re-ingested {title}: {res.chunks} chunks ({res.embedded} new, {res.removed} removed)."


def _title(parts: Components, doc_id: str) -> str:
    rec = parts.store.doc_record(doc_id)
    return file_name(rec.source if rec and rec.source else doc_id)


# Collections
def create_collection(comps: Components, name: str, caller: Caller = SINGLE_USER) -> tuple[str, str]:
    """(the collection now selected, a status line)."""
    name = (name or "").strip()
    try:
        collections.create(comps, name, caller)
    except CollectionError as exc:
        return "", f"❌ {exc}"
    return name, f"✅ Created collection {name}."


def delete_collection(comps: Components, name: str, caller: Caller = SINGLE_USER) -> str:
    try:
        collections.delete(comps, name, caller)
    except CollectionError as exc:
        return f"❌ {exc}"
    return f"🗑️ Deleted collection {name}."


# The source viewer
def open_source(comps: Components, request: str, collection: str, caller: Caller = SINGLE_USER,
                ) -> tuple[str, Any]:
    """(the viewer's HTML, a PIL image of the PDF page or None) for a citation link's request."""
    try:
        req = json.loads(request)
        parts = access.require_collection(comps, caller, req.get("collection") or collection)
        window = text_window(parts.store, str(req["doc"]), int(req["start"]), int(req["end"]))
    except (ValueError, KeyError, TypeError, DocumentNotFound, CollectionError):
        return "<p>That source is no longer in the collection.</p>", None
    image = None
    path = document_file(parts.store, window.doc_id)
    if window.page and path is not None and path.suffix.lower() == ".pdf":
        import io

        from PIL import Image

        try:
            png = render_pdf_page(path, window.page, max_pixels=parts.settings.ingest.max_page_pixels)
            image = Image.open(io.BytesIO(png))
        except (IndexError, OSError):
            image = None
    return viewer(window), image


# Conversations
def conversation_choices(comps: Components, caller: Caller = SINGLE_USER) -> list[tuple[str, str]]:
    return [(f"{c['title'] or 'New conversation'} · {c['collection']}", c["id"])
            for c in comps.conversations.list(owner=caller.id)]


def reopen(comps: Components, cid: str, caller: Caller = SINGLE_USER) -> tuple[list[dict], list[dict], str]:
    """(chat messages, history for follow-ups, the conversation's collection)."""
    try:
        conv = comps.conversations.get(cid, owner=caller.id)
    except ConversationNotFound:
        return [], [], comps.name
    readable = access.visible_collections(comps, caller)
    collection = conv["collection"] if conv["collection"] in readable else comps.name
    chat = []
    for m in conv["messages"]:
        if m["role"] == "assistant" and m.get("answer"):
            chat.append({"role": "assistant", "content": render_answer(Answer.model_validate(m["answer"]),
                                                                       conv["collection"])})
        else:
            chat.append({"role": m["role"], "content": m["content"]})
    history = [{"role": m["role"], "content": m["content"]} for m in conv["messages"]]
    return chat, history, collection


def export(comps: Components, cid: str, caller: Caller = SINGLE_USER) -> str | None:
    """A Markdown file of the conversation, for download."""
    try:
        md = comps.conversations.export_markdown(cid, owner=caller.id)
    except ConversationNotFound:
        return None
    out = Path(tempfile.mkdtemp(prefix="rag-export-")) / f"conversation-{cid}.md"
    out.write_text(md, encoding="utf-8")
    return str(out)
