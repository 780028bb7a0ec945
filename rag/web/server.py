"""One ASGI app: the HTTP API (FastAPI) and the Gradio chat page side by side, and the server that runs it
and stops it promptly. The server builds the page (`rag.web.ui`); the page knows nothing of the server."""

from __future__ import annotations

import socket
from collections.abc import Callable

import uvicorn
from fastapi import Depends, FastAPI
from starlette.routing import Mount

from rag import __version__
from rag.components import Components, offline_environment
from rag.logs import configure
from rag.web.api import answer, chat, collections, conversations, documents
from rag.web.api.auth import bearer_guard
from rag.web.api.errors import MethodNotAllowed, install_error_handlers
from rag.web.api.models import Health, errors
from rag.web.api.openapi import install_openapi


def create_app(comps: Components, with_ui: bool = True) -> FastAPI:
    offline_environment()  # before Gradio is imported
    settings = comps.settings
    configure(settings)
    app = FastAPI(title="rag-chat", version=__version__,
                  description="Answers from your documents, every claim cited to the exact passage.")
    install_error_handlers(app)
    guard = [Depends(bearer_guard(settings.server.api_token))]
    for module in (answer, chat, documents, collections, conversations):
        app.include_router(module.router(comps), dependencies=guard,
                           responses=errors(401) if settings.server.api_token else None)

    @app.get("/health", tags=["health"], summary="Store reachable, model loaded", response_model=Health)
    def health() -> dict:
        try:
            chunks, store_ok = comps.store.count(), True
        except Exception:  # reported, not raised: health must answer
            chunks, store_ok = None, False
        loaded = bool(getattr(comps.llm, "loaded", True))
        warming = comps.warmup.warming
        status = "warming" if warming and store_ok else "ok" if store_ok and loaded else "degraded"
        return {"status": status, "store": store_ok, "chunks": chunks,
                "collection": settings.store.collection, "model": comps.llm.name, "model_loaded": loaded,
                "warm": comps.warmup.done and comps.warmup.error is None}

    # Run first when the server stops: ingests end at their next batch, streams that never end are let go.
    app.state.on_stop = [comps.stopping.set]

    # load the models and evaluate the shared prompt prefix in the background: /health says "warming" until
    # then, and the first question is then as fast as the tenth
    comps.warmup.start()

    if with_ui:
        import gradio as gr

        from rag.web.ui import CSS, HEAD, build_ui, theme

        auth = (lambda _user, password: password == settings.server.api_token) if settings.server.api_token else None
        app = gr.mount_gradio_app(app, build_ui(comps), path="/", theme=theme(), css=CSS, footer_links=[],
                                  auth=auth, auth_message="Enter the API token as the password.", head=HEAD)
        # Each open chat page holds a heartbeat stream that ends only when Gradio's stop event is set, which
        # a mounted Gradio app gets at lifespan shutdown: after uvicorn has waited for every connection to
        # close. Without setting it first, one open page kept the server up for ever after SIGTERM.
        for route in app.routes:
            if isinstance(route, Mount) and hasattr(route.app, "stop_event"):
                app.state.on_stop.append(route.app.stop_event.set)
    install_openapi(app, settings)
    # last, so that it sees every route: the chat page mounted at "/" would answer 404 to a method an API
    # path does not take
    app.add_middleware(MethodNotAllowed, routes=list(app.routes))
    return app


class Server(uvicorn.Server):
    """uvicorn, whose shutdown (on SIGTERM or SIGINT, handled alike) first runs the app's `on_stop` hooks,
    then gives requests still running `timeout_graceful_shutdown` seconds before cancelling them."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        app = self.config.app
        hooks: list[Callable[[], None]] = getattr(getattr(app, "state", None), "on_stop", [])
        for hook in hooks:
            hook()
        await super().shutdown(sockets)


def run(app: FastAPI, host: str, port: int, grace: float) -> None:
    """Serve until SIGTERM or SIGINT; both end the process within `grace` seconds and a little more."""
    Server(uvicorn.Config(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=grace)).run()


def launch(comps: Components, host: str, port: int) -> None:
    """`rag serve`: seed an empty store, name ingests that were cut off, then serve the page and the API."""
    report = comps.seed_if_empty()
    if report is not None:
        print(f"Ingested {len(report.documents)} seed documents ({report.chunks} chunks) "
              f"in {report.seconds:.1f} s")
    for source in comps.unfinished_documents():
        print(f"warning: {source} was cut off while it was being ingested: add it again (or `rag sync` its "
              "folder) to finish it")
    app = create_app(comps)
    print(f"Chat UI on http://{host}:{port}/ · API on http://{host}:{port}/v1 · docs on http://{host}:{port}/docs")
    run(app, host, port, grace=comps.settings.server.shutdown_grace)
