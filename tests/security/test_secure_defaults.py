"""Issue #32, item 5: secure by default. A loopback server answers only to loopback Host names (DNS
rebinding), a state-changing request from another origin is refused (CSRF), `rag serve` on a network address
needs a token unless told otherwise, tokens are compared in constant time, and failed attempts are throttled."""

from __future__ import annotations

import hmac

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from rag import cli
from rag.web import server
from rag.web.server import create_app
from tests.security.conftest import TOKEN, call, json_chunks, login, make_comps


def test_a_non_loopback_host_is_refused_while_bound_to_loopback(tmp_path) -> None:
    app = create_app(make_comps(tmp_path, seed=False), with_ui=False)
    assert call(app, "GET", "/v1/conversations", {"host": "evil.example"}).status == 421
    assert call(app, "GET", "/v1/conversations", {"host": "evil.example:7860"}).status == 421
    for ok in ("127.0.0.1:7860", "localhost:7860", "[::1]:7860", "localhost"):
        assert call(app, "GET", "/v1/conversations", {"host": ok}).status == 200, ok
    # bound to a network address, any Host is the proxy's business
    assert call(app, "GET", "/v1/conversations", {"host": "chat.example"}, server=("10.0.0.5", 7860)).status == 200


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/v1/conversations", {"title": "csrf"}),
    ("POST", "/v1/collections", {"name": "csrf-made"}),
    ("DELETE", "/v1/conversations/abc", None),
    ("PATCH", "/v1/conversations/abc", {"title": "x"}),
])
def test_a_cross_site_origin_is_refused_on_state_changing_routes(tmp_path, method, path, body) -> None:
    comps = make_comps(tmp_path, seed=False)
    app = create_app(comps, with_ui=False)
    headers = {"origin": "http://evil.example", "content-type": "application/json"}
    reply = call(app, method, path, headers, json_chunks(body) if body else ())
    assert reply.status == 403
    assert reply.json()["error"]["code"] == "cross_origin"
    assert comps.conversations.list() == [] and comps.collection_names() == ["main"]
    # the same origin (the chat page's own requests) passes
    same = call(app, "POST", "/v1/conversations", {"origin": "http://127.0.0.1:7860",
                                                   "content-type": "application/json"}, json_chunks({}))
    assert same.status == 201


def test_rag_serve_on_a_network_address_without_a_token_refuses_to_start(tmp_path, monkeypatch) -> None:
    served: list[str] = []
    monkeypatch.setattr(server, "run", lambda app, host, port, grace: served.append(host))
    env = {"RAG_EMBED__BACKEND": "hash", "RAG_LLM__BACKEND": "scripted", "RAG_STORE__PERSIST_DIR": str(tmp_path),
           "RAG_STORE__SEEDS_DIR": str(tmp_path / "none")}
    runner = CliRunner()
    refused = runner.invoke(cli.app, ["serve", "--host", "0.0.0.0"], env=env)
    assert refused.exit_code != 0 and served == []
    assert "RAG_SERVER__API_TOKEN" in refused.output + str(refused.exception)
    told = runner.invoke(cli.app, ["serve", "--host", "0.0.0.0", "--insecure-no-token"], env=env)
    assert told.exit_code == 0, told.output
    with_token = runner.invoke(cli.app, ["serve", "--host", "0.0.0.0"], env=env | {"RAG_SERVER__API_TOKEN": TOKEN})
    assert with_token.exit_code == 0, with_token.output
    from rag.state.db import Database
    from rag.state.users import Users

    Users(Database(f"sqlite:///{tmp_path / 'state.sqlite3'}")).add("ann", "member", "pw")  # accounts: keys, logins
    with_users = runner.invoke(cli.app, ["serve", "--host", "0.0.0.0"], env=env)
    assert with_users.exit_code == 0, with_users.output
    assert served == ["0.0.0.0", "0.0.0.0", "0.0.0.0"]


def test_the_chat_page_login_compares_the_token_in_constant_time(tmp_path, monkeypatch) -> None:
    compared: list[bytes] = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: compared.append(a) or real(a, b))
    comps = make_comps(tmp_path, seed=False, server={"api_token": TOKEN})
    with TestClient(create_app(comps)) as client:
        assert login(client, "wrong").status_code == 400
        assert login(client).status_code == 200
    assert len(compared) >= 2


def test_failed_tokens_are_throttled_per_client(tmp_path) -> None:
    comps = make_comps(tmp_path, seed=False, server={"api_token": TOKEN, "auth_failures": 3, "auth_window": 60})
    app = create_app(comps, with_ui=False)
    for _ in range(3):
        assert call(app, "GET", "/v1/conversations", {"authorization": "Bearer guess"}).status == 401
    throttled = call(app, "GET", "/v1/conversations", {"authorization": f"Bearer {TOKEN}"})
    assert throttled.status == 429
    assert 0 < int(throttled.headers["retry-after"]) <= 60
    # another client is not held back by it
    other = call(app, "GET", "/v1/conversations", {"authorization": f"Bearer {TOKEN}"}, client="127.0.0.2")
    assert other.status == 200


def test_failed_page_logins_are_throttled_per_client(tmp_path) -> None:
    comps = make_comps(tmp_path, seed=False, server={"api_token": TOKEN, "auth_failures": 3, "auth_window": 60})
    with TestClient(create_app(comps)) as client:
        for _ in range(3):
            assert login(client, "guess").status_code == 400
        r = login(client)
    assert r.status_code == 429 and "retry-after" in r.headers
