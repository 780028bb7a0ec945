"""The Gradio chat page. Thin on purpose: it calls the answer chain and renders `Answer`s."""

from __future__ import annotations

import html
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls to outside hosts

import gradio as gr  # noqa: E402

from rag.components import Components  # noqa: E402
from rag.ingest.loaders import SUPPORTED_SUFFIXES  # noqa: E402
from rag.schemas import Answer, Citation, Replace  # noqa: E402

CSS = """
.rag-source summary { cursor: pointer; }
.rag-source mark { background: #fde68a; padding: 0 1px; }
.rag-unsupported { text-decoration: underline wavy #f59e0b; }
.rag-source .passage { white-space: pre-wrap; font-size: 0.9em; border-left: 3px solid #d1d5db;
                       padding-left: 8px; margin: 4px 0 8px 0; }
"""


def theme() -> gr.themes.Base:
    """System fonts only: the default theme would fetch web fonts from an outside host."""
    return gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                             font_mono=["ui-monospace", "monospace"])


def render_citation(c: Citation) -> str:
    """One expandable source: document, page, score, and the quote highlighted inside its passage."""
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
            f"score {c.score:.2f}</summary><div><small>{html.escape(c.source)} · characters "
            f'{c.start}–{c.end}</small></div><div class="passage">{passage}</div></details>')


def flag_unsupported(a: Answer) -> str:
    """The answer as HTML, each sentence its cited passages do not support underlined and titled."""
    out = html.escape(a.answer)
    for x in a.sentences:
        if x.supported or not x.text:
            continue
        seen = html.escape(x.text)
        out = out.replace(seen, f'<span class="rag-unsupported" title="not supported by the cited passages '
                                f'(support {x.support:.0%})">{seen}</span>', 1)
    return out


_REASONS = {"weak_retrieval": "nothing relevant was retrieved",
            "check": "the passages do not state the answer",
            "model": "the model found no answer in the passages",
            "unsupported": "the reply was not supported by the passages"}


def render_answer(a: Answer) -> str:
    parts = [flag_unsupported(a)]
    if a.citations:
        parts.append("\n\n**Sources**\n\n" + "\n".join(render_citation(c) for c in a.citations))
    t = a.timings
    details = (f"{a.shape} · {a.model} · retrieve {t.retrieve_ms:.0f} ms · check {t.check_ms:.0f} ms"
               f" · generate {t.generate_ms:.0f} ms · total {t.total_ms:.0f} ms")
    if a.refusal_reason:
        details = f"refused: {_REASONS.get(a.refusal_reason, a.refusal_reason)} · " + details
    if a.grounded is not None:
        details = f"grounded {a.grounded:.0%} · " + details
    if a.query and a.query != a.question:
        details = f"searched for: “{html.escape(a.query)}” · " + details
    parts.append(f"\n\n<small>{details}</small>")
    return "".join(parts)


def _text(content: Any) -> str:
    """Gradio may hand back message content as a string or as a list of typed parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content or "")


def example_questions(seeds_dir: Path, n: int = 5) -> list[str]:
    gold = Path(seeds_dir) / "gold.jsonl"
    if not gold.is_file():
        return []
    rows = [json.loads(line) for line in gold.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["question"] for r in rows if not r.get("unanswerable")][:n]


def build_ui(comps: Components) -> gr.Blocks:
    settings = comps.settings

    def header() -> str:
        return (f"### Ask your documents\nEvery answer cites the passages it came from.  \n"
                f"Model: `{comps.llm.name}` · collection: `{comps.store.name}` "
                f"({comps.store.count()} chunks, {len(comps.store.list_documents())} documents)")

    def respond(message: str, chat: list[dict], history: list[dict]) -> Iterator[tuple]:
        message = (message or "").strip()
        if not message:
            gr.Warning("Type a question first.")
            yield chat, history, ""
            return
        chat = [*chat, {"role": "user", "content": message}, {"role": "assistant", "content": ""}]
        yield chat, history, ""
        streamed = ""
        try:
            for item in comps.chain.stream(message, history=history):
                if isinstance(item, Answer):
                    chat[-1] = {"role": "assistant", "content": render_answer(item)}
                    history = [*history, {"role": "user", "content": message},
                               {"role": "assistant", "content": item.answer}]
                else:
                    streamed = item.text if isinstance(item, Replace) else streamed + item
                    chat[-1] = {"role": "assistant", "content": html.escape(streamed)}
                yield chat, history, ""
        except Exception as exc:  # shown to the user; the app keeps serving
            chat[-1] = {"role": "assistant", "content": f"⚠️ {html.escape(str(exc))}"}
            yield chat, history, ""

    def upload(files: list[Any] | None) -> tuple[str, str]:
        from rag.ingest.loaders import LoadError
        from rag.ingest.pipeline import IngestInterrupted

        lines = []
        for f in files or []:
            path = Path(f if isinstance(f, str) else f.name)
            try:
                res = comps.ingestor.ingest_upload(path.read_bytes(), path.name)
                lines.append(f"✅ {path.name}: {res.chunks} chunks ({res.embedded} new)")
                lines.extend(f"⚠️ {w}" for w in res.warnings)
            except (LoadError, OSError, IngestInterrupted) as exc:
                lines.append(f"❌ {exc}")
        return "\n\n".join(lines) or "No file given.", header()

    with gr.Blocks(title="Cited answers") as demo:
        title = gr.Markdown(header())
        history = gr.State([])
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(height=560, label="Chat", sanitize_html=True)
                with gr.Row():
                    box = gr.Textbox(placeholder="Ask a question about the documents…", show_label=False,
                                     scale=5, max_length=settings.max_question_chars)
                    send = gr.Button("Ask", variant="primary", scale=1)
                clear = gr.Button("New conversation", size="sm")
                examples = example_questions(settings.seeds_dir)
                if examples:
                    gr.Examples(examples=[[q] for q in examples], inputs=[box], label="Try")
            with gr.Column(scale=1):
                files = gr.File(label="Add documents (.txt .md .html .pdf .docx .pptx .xlsx .csv)",
                                file_count="multiple", file_types=sorted(SUPPORTED_SUFFIXES))
                status = gr.Markdown()
        box.submit(respond, [box, chat, history], [chat, history, box])
        send.click(respond, [box, chat, history], [chat, history, box])
        clear.click(lambda: ([], [], ""), None, [chat, history, box])
        files.upload(upload, [files], [status, title])
    return demo


def launch(comps: Components, host: str, port: int) -> None:
    from rag.server import create_app, run

    report = comps.seed_if_empty()
    if report is not None:
        print(f"Ingested {len(report.documents)} seed documents ({report.chunks} chunks) "
              f"in {report.seconds:.1f} s")
    for source in comps.unfinished_documents():
        print(f"warning: {source} was cut off while it was being ingested: add it again (or `rag sync` its "
              "folder) to finish it")
    app = create_app(comps)
    print(f"Chat UI on http://{host}:{port}/ · API on http://{host}:{port}/v1 · docs on http://{host}:{port}/docs")
    run(app, host, port, grace=comps.settings.shutdown_grace)
