"""One ASGI app: the FastAPI routes and the Gradio UI side by side."""

from __future__ import annotations

from fastapi import FastAPI

from rag.components import Components


def create_app(comps: Components) -> FastAPI:
    import gradio as gr

    from rag.ui import CSS, build_ui, theme

    app = FastAPI(title="rag-chat", version="0.1.0")

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "chunks": comps.store.count(), "model": comps.llm.name}

    demo = build_ui(comps)
    return gr.mount_gradio_app(app, demo, path="/", theme=theme(), css=CSS, footer_links=[])
