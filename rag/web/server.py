"""One ASGI app: the HTTP API (FastAPI) and the Gradio chat page side by side, and the server that runs it
and stops it promptly. The server builds the page (`rag.web.ui`); the page knows nothing of the server."""

from __future__ import annotations

import socket
from collections.abc import Callable

import anyio
import uvicorn
from fastapi import FastAPI
from starlette.routing import Mount

from rag import __version__
from rag.components import Components, offline_environment
from rag.ingest.limits import max_file_bytes
from rag.logs import configure
from rag.state.errors import StateError
from rag.web.api import answer, chat, collections, conversations, documents, feedback
from rag.web.api.auth import Authenticator, token_matches
from rag.web.api.errors import MethodNotAllowed, install_error_handlers
from rag.web.api.guard import Guard, is_loopback
from rag.web.api.models import Health, errors
from rag.web.api.openapi import install_openapi


def create_app(comps: Components, with_ui: bool = True) -> FastAPI:
    offline_environment()  # before Gradio is imported
    settings = comps.settings
    configure(settings)
    # no /docs or /redoc: FastAPI's pages load their scripts from a CDN, and no package here serves them offline;
    # the schema itself stays at /openapi.json
    app = FastAPI(title="rag-chat", version=__version__, docs_url=None, redoc_url=None,
                  description="Answers from your documents, every claim cited to the exact passage.")
    install_error_handlers(app)
    auth = Authenticator(settings.server.api_token, lambda: comps.users)
    accounts = _accounts(comps)
    for module in (answer, chat, documents, collections, conversations, feedback):
        app.include_router(module.router(comps),
                           responses=errors(401) if settings.server.api_token or accounts else None)

    @app.get("/health", tags=["health"], summary="Store reachable, model loaded", response_model=Health)
    async def health() -> dict:
        # async, and its store call on a thread limiter of its own: answers that hold every worker thread of
        # the shared pool (a full queue) do not hold health
        if not hasattr(app.state, "health_limiter"):
            app.state.health_limiter = anyio.CapacityLimiter(1)
        chunks, store_ok = None, False
        with anyio.move_on_after(5):
            try:
                chunks = await anyio.to_thread.run_sync(lambda: comps.store.count(), abandon_on_cancel=True,
                                                        limiter=app.state.health_limiter)
                store_ok = True
            except Exception:  # reported, not raised: health must answer
                chunks = None
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

        login, message = page_login(comps, accounts)
        # Gradio refuses a larger file while it streams in, before any of it is read whole
        app = gr.mount_gradio_app(app, build_ui(comps), path="/", theme=theme(), css=CSS, footer_links=[],
                                  auth=login, auth_message=message, head=HEAD,
                                  max_file_size=max_file_bytes(settings.ingest))
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
    app.add_middleware(Guard, settings=settings, auth=auth)  # outermost: before anything reads the body
    return app


def _accounts(comps: Components) -> bool:
    """Account mode as the app is built (the page's login is chosen then); a state database that cannot be
    opened now is asked again by each request."""
    try:
        return comps.users.accounts()
    except StateError:
        return False


def page_login(comps: Components, accounts: bool) -> tuple[Callable[[str, str], bool] | None, str]:
    """The chat page's login and its message: a user's name and password in account mode, any name and the
    token in single-user mode with a token, none without. Chosen when the server starts: a server started
    before the first user was added keeps its page as it was (it then shows nothing) until it is restarted."""
    token = comps.settings.server.api_token
    if accounts:
        def check(user: str, password: str) -> bool:
            return comps.users.verify_password(user, password) is not None

        return check, "Log in with your user name and password."
    if token:
        return (lambda _user, password: token_matches(password, token)), "Enter the API token as the password."
    return None, ""


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


def check_exposure(host: str, token: str | None, allowed: bool, accounts: bool = False) -> None:
    """Refuse to serve anyone on the network without a token or accounts, unless told so explicitly: a server
    on a LAN address with neither would hand every document and conversation to whoever finds it."""
    if not is_loopback(host) and not token and not accounts and not allowed:
        raise SystemExit(f"refusing to serve on {host} without a token: set RAG_SERVER__API_TOKEN, add a user "
                         "(`rag users add`), or pass --insecure-no-token (RAG_SERVER__ALLOW_NO_TOKEN=true) to serve it "
                         "open to the network")


def launch(comps: Components, host: str, port: int, insecure_no_token: bool = False) -> None:
    """`rag serve`: seed an empty store, name ingests that were cut off, then serve the page and the API. A
    host other than loopback needs a token or users (`check_exposure`)."""
    server = comps.settings.server
    check_exposure(host, server.api_token, insecure_no_token or server.allow_no_token, _accounts(comps))
    report = comps.seed_if_empty()
    if report is not None:
        print(f"Ingested {len(report.documents)} seed documents ({report.chunks} chunks) "
              f"in {report.seconds:.1f} s")
    for source in comps.unfinished_documents():
        print(f"warning: {source} was cut off while it was being ingested: add it again (or `rag sync` any "
              "folder) to finish it")
    app = create_app(comps)
    print(f"Chat UI on http://{host}:{port}/ · API on http://{host}:{port}/v1 · "
          f"schema on http://{host}:{port}/openapi.json")
    run(app, host, port, grace=comps.settings.server.shutdown_grace)
