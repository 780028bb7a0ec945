"""What is checked from a request's line and headers alone, before the app reads a byte of its body (issue #32):
the Host (DNS rebinding), the Origin of a state-changing request (CSRF), the bearer token and a client's failed
attempts, the body's size (declared and streamed), the answer routes' per-client rate and the queue waiting for
the model. One ASGI middleware, outermost: a refused request costs no body read, no thread and no model time."""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from urllib.parse import urlsplit

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.config import Settings
from rag.state.errors import StateError
from rag.web.api.auth import CALLER_KEY, Authenticator
from rag.web.api.errors import BodyTooLarge, json_error

ANSWER_PATHS = frozenset({"/v1/answer", "/v1/chat/completions"})
UPLOAD_PATH = "/v1/documents"
PAGE_BODY_BYTES = 16 * 1024 * 1024  # the chat page's own requests other than uploads (a question, its chat)
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOGIN_PATHS = frozenset({"/login", "/login/"})
BUSY_RETRY_S = 5  # Retry-After when the answer queue is full: about one answer's time on 2 cores
MAX_CLIENTS = 10_000  # clients remembered by the throttles; the oldest are forgotten first


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(value: str) -> str:
    """The host of a Host header or an origin's netloc, without its port."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    return value.rpartition(":")[0] if value.count(":") == 1 else value


@dataclass(frozen=True)
class Limit:
    bytes: int
    described: str  # "64 KiB limit (RAG_SERVER__MAX_JSON_KB)"


class _Clients(OrderedDict):
    """Per-client state, the least recently seen forgotten past MAX_CLIENTS: bounded, whoever knocks."""

    def touch(self, client: str, default):
        value = self.pop(client, None)
        self[client] = default() if value is None else value
        while len(self) > MAX_CLIENTS:
            self.popitem(last=False)
        return self[client]


class Guard:
    """The checks, in order: Host, Origin, token (with its throttle), body size, rate, queue; then the app, its
    body counted as it streams. Runs in the event loop only, so its counters need no lock."""

    def __init__(self, app: ASGIApp, settings: Settings, auth: Authenticator | None = None) -> None:
        self.app, self.settings = app, settings
        self.auth = auth or Authenticator(settings.server.api_token)
        s = settings.server
        upload_mb = s.max_upload_mb or 2 * settings.ingest.max_file_mb
        self.json_limit = Limit(s.max_json_kb * 1024, f"{s.max_json_kb} KiB limit (RAG_SERVER__MAX_JSON_KB)")
        self.upload_limit = Limit(int(upload_mb * 1e6), f"{upload_mb:g} MB limit of one upload "
                                  "(RAG_SERVER__MAX_UPLOAD_MB, default twice RAG_INGEST__MAX_FILE_MB)")
        self.page_limit = Limit(PAGE_BODY_BYTES, f"{PAGE_BODY_BYTES // 2**20} MiB limit of the chat page's requests")
        self.failures: _Clients = _Clients()  # client -> times of its failed attempts
        self.buckets: _Clients = _Clients()  # client -> [tokens, time]
        self.answering = 0  # answers in progress or waiting for the model

    # ---- the checks; each returns a refusal (status, message, code, headers) or None

    def _host(self, scope: Scope, headers: dict[str, str]) -> tuple | None:
        server = scope.get("server")
        host = headers.get("host", "")
        if server and is_loopback(str(server[0])) and host and not is_loopback(host_name(host)):
            return (421, f"this server answers on loopback only; Host {host!r} is not a loopback name "
                    "(a DNS rebinding?)", "invalid_host", None)
        return None

    def _origin(self, scope: Scope, headers: dict[str, str]) -> tuple | None:
        if scope["method"] not in STATE_CHANGING:
            return None
        origin = headers.get("origin")
        cross = headers.get("sec-fetch-site") == "cross-site"
        if origin is not None:
            netloc = urlsplit(origin).netloc.lower() if origin != "null" else ""
            cross = cross or not netloc or netloc != headers.get("host", "").lower()
        if cross:
            return 403, f"a cross-site {scope['method']} is refused (Origin {origin!r})", "cross_origin", None
        return None

    def _throttled(self, client: str) -> tuple | None:
        window, now = self.settings.server.auth_window, time.monotonic()
        times = self.failures.get(client)
        if times is None:
            return None
        while times and times[0] <= now - window:
            times.popleft()
        if len(times) >= self.settings.server.auth_failures:
            retry = max(1, math.ceil(times[0] + window - now))
            return (429, f"too many failed logins from this client; try again in {retry} s", "too_many_failures",
                    {"Retry-After": str(retry)})
        return None

    def _failed(self, client: str) -> None:
        self.failures.touch(client, deque).append(time.monotonic())

    async def _token(self, scope: Scope, headers: dict[str, str], client: str) -> tuple | None:
        """The caller from the bearer key (the server token, or a user's API key in account mode), left in the
        scope's state for the routes; a wrong or missing key counts as a failed attempt."""
        if not scope["path"].startswith("/v1/"):
            return None
        scheme, _, given = headers.get("authorization", "").partition(" ")
        key = given.strip() if scheme.lower() == "bearer" else None
        if refused := self._throttled(client):  # right or wrong, once a client has failed too often
            return refused
        try:
            caller, refusal = (await anyio.to_thread.run_sync(self.auth.check, key) if self.auth.uses_database
                               else self.auth.check(key))
        except StateError as exc:
            return 503, str(exc), "storage_unavailable", None
        if caller is not None:
            scope.setdefault("state", {})[CALLER_KEY] = caller
            return None
        self._failed(client)
        return 401, refusal, "unauthorized", {"WWW-Authenticate": "Bearer"}

    def _limit(self, scope: Scope) -> Limit:
        path = scope["path"]
        if path.startswith("/v1/"):
            return self.upload_limit if path == UPLOAD_PATH and scope["method"] == "POST" else self.json_limit
        return self.upload_limit if path.rstrip("/").endswith("/upload") else self.page_limit

    def _declared(self, headers: dict[str, str], limit: Limit) -> tuple | None:
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError:
            return 400, "Content-Length is not a number", "invalid_request", None
        if length > limit.bytes:
            return 413, f"the request body ({length} bytes) is over the {limit.described}", "body_too_large", None
        return None

    def _rate(self, client: str) -> tuple | None:
        per_minute, burst = self.settings.server.rate_per_minute, self.settings.server.rate_burst
        if per_minute <= 0:
            return None
        now, per_s = time.monotonic(), per_minute / 60
        bucket = self.buckets.touch(client, lambda: [float(burst), now])
        bucket[0] = min(burst, bucket[0] + (now - bucket[1]) * per_s)
        bucket[1] = now
        if bucket[0] < 1:
            retry = max(1, math.ceil((1 - bucket[0]) / per_s))
            return (429, f"more than {per_minute:g} answers a minute from this client (RAG_SERVER__RATE_PER_MINUTE); "
                    f"try again in {retry} s", "rate_limited", {"Retry-After": str(retry)})
        bucket[0] -= 1
        return None

    def _queue(self) -> tuple | None:
        waiting = self.settings.server.max_waiting
        if self.answering >= waiting:
            return (429, f"{self.answering} answers are in progress or waiting for the model, the most this server "
                    "queues (RAG_SERVER__MAX_WAITING); try again shortly", "queue_full",
                    {"Retry-After": str(BUSY_RETRY_S)})
        return None

    # ---- the middleware

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        client = str((scope.get("client") or ("?",))[0])
        limit = self._limit(scope)
        answering = scope["path"] in ANSWER_PATHS and scope["method"] == "POST"
        refused = (self._host(scope, headers) or self._origin(scope, headers)
                   or await self._token(scope, headers, client)
                   or self._login_throttled(scope, client) or self._declared(headers, limit)
                   or (answering and (self._queue() or self._rate(client))) or None)
        if refused:
            status, message, code, extra = refused
            await json_error(status, message, code, headers=extra)(scope, receive, send)
            return
        await self._serve(scope, receive, send, limit, client, answering)

    def _login_throttled(self, scope: Scope, client: str) -> tuple | None:
        if scope["path"] in LOGIN_PATHS and scope["method"] == "POST":
            return self._throttled(client)  # failures are counted only where a login can fail
        return None

    async def _serve(self, scope: Scope, receive: Receive, send: Send, limit: Limit, client: str,
                     answering: bool) -> None:
        read, started = 0, False
        login = scope["path"] in LOGIN_PATHS and scope["method"] == "POST"

        async def counted() -> Message:
            nonlocal read
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > limit.bytes:
                    raise BodyTooLarge(limit.described)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if login and message["status"] in (400, 401, 403):  # the chat page's login refused a password
                    self._failed(client)
            await send(message)

        self.answering += answering
        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge as exc:
            if started:
                raise
            await json_error(413, str(exc.detail), "body_too_large")(scope, receive, send)
        finally:
            self.answering -= answering
