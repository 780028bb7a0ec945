"""HTML for the chat page: answers with their sources, the documents table and the source viewer. Pure
functions of what the chain and the stores return, so they are tested without a browser."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from rag.index.documents import TextWindow, file_name
from rag.types import Answer, Citation


def open_link(c: Citation, collection: str, label: str, cls: str = "rag-open") -> str:
    """A link the page's script turns into a viewer request (see `ui.app.HEAD`). The request rides in the
    fragment: the chat's HTML sanitiser keeps an href but drops data attributes."""
    req = quote(json.dumps({"doc": c.doc_id, "start": c.start, "end": c.end, "collection": collection},
                           separators=(",", ":")), safe="")
    return f'<a class="{cls}" href="#rag-open={req}" title="open in the document">{label}</a>'


def render_citation(c: Citation, collection: str = "") -> str:
    """One expandable source: document, page, score, the quote highlighted inside its passage, and a link
    that opens the document at the quote."""
    rel_s, rel_e = c.start - c.passage_start, c.end - c.passage_start
    body = c.passage or c.quote
    if c.passage and 0 <= rel_s <= rel_e <= len(body):
        passage = (html.escape(body[:rel_s]) + "<mark>" + html.escape(body[rel_s:rel_e]) + "</mark>"
                   + html.escape(body[rel_e:]))
    else:
        passage = "<mark>" + html.escape(c.quote) + "</mark>"
    passage = passage.replace("\n", "<br>")  # a blank line would end the HTML block in Markdown
    page = f", page {c.page}" if c.page else ""
    return (f'<details class="rag-source"><summary>[{c.marker}] {html.escape(c.title)}{page} · '
            f"score {c.score:.2f}</summary><div><small>{html.escape(file_name(c.source))} · characters "
            f"{c.start}–{c.end} · {open_link(c, collection, 'open in document ↗')}</small></div>"
            f'<div class="passage">{passage}</div></details>')


def flag_unsupported(a: Answer, collection: str = "") -> str:
    """The answer as HTML: each sentence its cited passages do not support underlined and titled, each
    marker a link that opens its source."""
    out = html.escape(a.answer)
    for x in a.sentences:
        if x.supported or not x.text:
            continue
        seen = html.escape(x.text)
        out = out.replace(seen, f'<span class="rag-unsupported" title="not supported by the cited passages '
                                f'(support {x.support:.0%})">{seen}</span>', 1)
    by_marker = {c.marker: c for c in a.citations}

    def link(m: re.Match[str]) -> str:
        c = by_marker.get(int(m.group(1)))
        return open_link(c, collection, m.group(0), "rag-open rag-marker") if c else m.group(0)

    return re.sub(r"\[(\d+)\]", link, out)


_REASONS = {"weak_retrieval": "nothing relevant was retrieved",
            "check": "the passages do not state the answer",
            "missing_terms": "the passages never mention a name or number the question asks about",
            "unstated_terms": "the passages the reply cites never state a name or number the question asks about",
            "model": "the model found no answer in the passages",
            "unsupported": "the reply was not supported by the passages",
            "verify": "read back against the passages, the reply did not answer the question"}


def render_answer(a: Answer, collection: str = "") -> str:
    parts = [flag_unsupported(a, collection)]
    if a.citations:
        parts.append("\n\n**Sources**\n\n" + "\n".join(render_citation(c, collection) for c in a.citations))
    t = a.timings
    waited = f" · waited for the model {t.queue_ms:.0f} ms" if t.queue_ms >= 1 else ""
    details = (f"{a.shape} · {a.model} · retrieve {t.retrieve_ms:.0f} ms · context {t.context_ms:.0f} ms"
               f" · check {t.check_ms:.0f} ms{waited}"
               f" · generate {t.generate_ms:.0f} ms · total {t.total_ms:.0f} ms")
    if a.refusal_reason:
        details = f"refused: {_REASONS.get(a.refusal_reason, a.refusal_reason)} · " + details
    if a.grounded is not None:
        details = f"grounded {a.grounded:.0%} · " + details
    if a.query and a.query != a.question:
        details = f"searched for: “{html.escape(a.query)}” · " + details
    parts.append(f"\n\n<small>{details} · {ANSWER_ID_LABEL} {a.id}</small>")
    return "".join(parts)


ANSWER_ID_LABEL = "answer id"  # the rendered answer names its id: a thumbs up or down finds the answer by it
_ANSWER_ID = re.compile(rf"{ANSWER_ID_LABEL} ([0-9a-f]{{16}})")


def answer_id(content: Any) -> str | None:
    """The id a rendered answer names (the last one: a message holds one answer), or None (a warning, text
    still streaming)."""
    found = _ANSWER_ID.findall(text(content))
    return found[-1] if found else None


def text(content: Any) -> str:
    """Gradio may hand back message content as a string or as a list of typed parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # typed parts, or (a liked message) its parts' strings
        return " ".join(p if isinstance(p, str) else p.get("text", "") for p in content if isinstance(p, str | dict))
    return str(content or "")


def when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def documents_table(docs: list[dict[str, Any]]) -> str:
    """Title, file name (never the server's path), pages, chunks and ingest time of every document."""
    if not docs:
        return '<p class="rag-empty">No documents in this collection yet.</p>'
    rows = "".join(
        f"<tr data-doc=\"{html.escape(str(d['doc_id']))}\"><td>{html.escape(str(d['title']))}</td>"
        f"<td>{html.escape(file_name(str(d['source'])))}</td><td>{d['pages'] or '–'}</td><td>{d['chunks']}</td>"
        f"<td>{when(float(d['ingested_at']))}</td></tr>" for d in docs)
    return ('<table class="rag-docs"><thead><tr><th>Title</th><th>File</th><th>Pages</th><th>Chunks</th>'
            f"<th>Ingested</th></tr></thead><tbody>{rows}</tbody></table>")


def viewer(w: TextWindow) -> str:
    """The document's text around a quote, the quote marked (the page's script scrolls it into view)."""
    a, b = w.span_start - w.start, w.span_end - w.start
    body = (("…" if w.start > 0 else "") + html.escape(w.text[:a]) + '<mark id="rag-quote">'
            + html.escape(w.text[a:b]) + "</mark>" + html.escape(w.text[b:]))
    where = f"page {w.page} of {w.pages} · " if w.page else ""
    return (f'<div class="rag-viewer-head"><b>{html.escape(w.title)}</b><br><small>{html.escape(w.file_name)}'
            f" · {where}characters {w.span_start}–{w.span_end}</small></div>"
            f'<div class="rag-viewer-text">{body}</div>')
