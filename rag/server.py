"""One ASGI app: the HTTP API (FastAPI) and the Gradio chat page side by side."""

from __future__ import annotations

import threading

from fastapi import Depends, FastAPI

from rag import __version__
from rag.api import answer, chat, documents
from rag.api.auth import bearer_guard
from rag.api.errors import install_error_handlers
from rag.components import Components


def create_app(comps: Components, with_ui: bool = True) -> FastAPI:
    settings = comps.settings
    app = FastAPI(title="rag-chat", version=__version__,
                  description="Answers from your documents, every claim cited to the exact passage.")
    install_error_handlers(app)
    guard = [Depends(bearer_guard(settings.api_token))]
    for module in (answer, chat, documents):
        app.include_router(module.router(comps), dependencies=guard)

    @app.get("/health", tags=["health"], summary="Store reachable, model loaded")
    def health() -> dict:
        try:
            chunks, store_ok = comps.store.count(), True
        except Exception:  # reported, not raised: health must answer
            chunks, store_ok = None, False
        loaded = bool(getattr(comps.llm, "loaded", True))
        return {"status": "ok" if store_ok and loaded else "degraded", "store": store_ok, "chunks": chunks,
                "collection": settings.collection, "model": comps.llm.name, "model_loaded": loaded}

    if hasattr(comps.llm, "load"):  # warm the model in the background: the first question need not wait
        threading.Thread(target=comps.llm.load, daemon=True).start()

    if with_ui:
        import gradio as gr

        from rag.ui import CSS, build_ui, theme

        auth = (lambda _user, password: password == settings.api_token) if settings.api_token else None
        app = gr.mount_gradio_app(app, build_ui(comps), path="/", theme=theme(), css=CSS, footer_links=[],
                                  auth=auth, auth_message="Enter the API token as the password.")
    return app
