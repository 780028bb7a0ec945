"""Accounts through the HTTP API: every route of the OpenAPI schema asked by a user without access answers 404
(or lists nothing of it), while the owner gets an answer; per-user API keys through the real `openai` client on
a served app; the server token and single-user mode as before."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from rag.components import Components
from rag.config import Settings
from rag.web.server import create_app
from tests.answer.test_stream_truth import OneReplyLLM
from tests.conftest import HashEmbedder
from tests.pdfgen import make_pdf

SECRET_TEXT = "The Zorblat reactor in Vellmar produces 40 megawatts. It was commissioned by engineer Ilsa Brandt."
TOKEN = "server-token-for-the-admin-0123456789"


def _comps(tmp_path, token: str | None = None) -> Components:
    return Components(
        Settings(_env_file=None, retrieval={"min_coverage": 0.0}, answer={"check": False},
                 server={"api_token": token},
                 store={"persist_dir": tmp_path / "store", "collection": "main", "seeds_dir": tmp_path / "none"}),
        embedder=HashEmbedder(), llm=OneReplyLLM("It was commissioned by engineer Ilsa Brandt [1]."))


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def world(tmp_path):
    """ann (a member) owns "secret", with a PDF and a conversation; bob (a member) may not read it."""
    comps = _comps(tmp_path, TOKEN)
    comps.users.add("root", "admin", "pw")
    comps.users.add("ann", "member", "pw")
    comps.users.add("bob", "member", "pw")
    keys = {n: comps.users.create_api_key(n) for n in ("root", "ann", "bob")}
    with TestClient(create_app(comps, with_ui=False)) as client:
        ann = _bearer(keys["ann"])
        assert client.post("/v1/collections", json={"name": "secret"}, headers=ann).status_code == 201
        pdf = make_pdf([SECRET_TEXT, "A second page."], title="Zorblat report")
        up = client.post("/v1/documents", params={"collection": "secret"}, headers=ann,
                         files=[("files", ("zorblat.pdf", pdf, "application/pdf"))])
        assert up.status_code == 201, up.text
        conv = client.post("/v1/conversations", json={"collection": "secret"}, headers=ann).json()["id"]
        said = client.post("/v1/answer", json={"question": "Who commissioned the Zorblat reactor?",
                                               "conversation": conv}, headers=ann)
        assert said.status_code == 200 and said.json()["citations"], said.text
        client.ids = {"doc": up.json()["data"][0]["id"], "cid": conv,  # type: ignore[attr-defined]
                      "answer": said.json()["id"]}
        client.keys = keys  # type: ignore[attr-defined]
        yield client


# Every operation of the schema: how to ask it about ann's collection, document or conversation. A route added
# to the API without a line here fails `test_every_route_hides_what_the_caller_may_not_read`.
def _requests(ids: dict[str, str]) -> dict[tuple[str, str], dict]:
    doc, cid, aid, coll = ids["doc"], ids["cid"], ids["answer"], {"collection": "secret"}
    return {
        ("post", "/v1/answer"): {"json": {"question": "Who commissioned it?", "collection": "secret"}},
        ("post", "/v1/chat/completions"): {"json": {"model": "rag:secret",
                                                    "messages": [{"role": "user", "content": "Who?"}]}},
        ("get", "/v1/models"): {},
        ("get", "/v1/documents"): {"params": coll},
        ("post", "/v1/documents"): {"params": coll, "files": [("files", ("x.txt", b"Some text here.", "text/plain"))]},
        ("post", "/v1/documents/{doc_id}/reingest"): {"params": coll, "path": {"doc_id": doc}},
        ("delete", "/v1/documents/{doc_id}"): {"params": coll, "path": {"doc_id": doc}},
        ("get", "/v1/documents/{doc_id}/text"): {"params": coll | {"start": 0, "end": 10}, "path": {"doc_id": doc}},
        ("get", "/v1/documents/{doc_id}/pages/{page}.png"): {"params": coll, "path": {"doc_id": doc, "page": "1"}},
        ("get", "/v1/collections"): {},
        ("delete", "/v1/collections/{name}"): {"path": {"name": "secret"}},
        ("get", "/v1/collections/{name}/sharing"): {"path": {"name": "secret"}},
        ("put", "/v1/collections/{name}/sharing"): {"path": {"name": "secret"},
                                                    "json": {"visibility": "private", "shared_with": ["bob"]}},
        ("get", "/v1/conversations"): {},
        ("post", "/v1/conversations"): {"json": {"collection": "secret"}},
        ("get", "/v1/conversations/{cid}"): {"path": {"cid": cid}},
        ("patch", "/v1/conversations/{cid}"): {"path": {"cid": cid}, "json": {"title": "renamed"}},
        ("delete", "/v1/conversations/{cid}"): {"path": {"cid": cid}},
        ("get", "/v1/conversations/{cid}/export"): {"path": {"cid": cid}},
        ("post", "/v1/answers/{answer_id}/feedback"): {"path": {"answer_id": aid},
                                                       "json": {"rating": "down", "correction": "Ilsa Brandt"}},
    }


LISTS = {("get", "/v1/models"), ("get", "/v1/collections"), ("get", "/v1/conversations")}  # 200, without it
NOT_ASKED = {("get", "/health"): "holds no collection's data",
             ("post", "/v1/collections"): "makes a collection; a name taken by anyone is 409 (one namespace)"}
# last, for the owner's turn: these remove what the others ask about (or share it)
DESTRUCTIVE = [("put", "/v1/collections/{name}/sharing"), ("delete", "/v1/documents/{doc_id}"),
               ("delete", "/v1/conversations/{cid}"), ("delete", "/v1/collections/{name}")]


def _ask(client, method: str, path: str, spec: dict, key: str):
    url = path
    for name, value in spec.get("path", {}).items():
        url = url.replace("{" + name + "}", value)
    kwargs = {k: v for k, v in spec.items() if k in ("json", "params", "files")}
    return client.request(method.upper(), url, headers=_bearer(key), **kwargs)


def test_every_route_hides_what_the_caller_may_not_read(world) -> None:
    requests = _requests(world.ids)
    operations = {(m, p) for p, item in world.app.openapi()["paths"].items() for m in item}
    assert operations == set(requests) | set(NOT_ASKED), "a route is missing from _requests"
    secret = ("secret", world.ids["doc"], world.ids["cid"], "Zorblat")
    order = [op for op in requests if op not in DESTRUCTIVE] + DESTRUCTIVE
    for method, path in order:  # bob first: nothing of ann's shows
        r = _ask(world, method, path, requests[(method, path)], world.keys["bob"])
        if (method, path) in LISTS:
            assert r.status_code == 200 and not any(s in r.text for s in secret), (method, path, r.text)
        else:
            assert r.status_code == 404, (method, path, r.status_code, r.text)
            assert r.json()["error"]["code"] in ("collection_not_found", "conversation_not_found",
                                                 "answer_not_found"), r.text
    for method, path in order:  # then ann, who owns it all: the same requests are answered
        r = _ask(world, method, path, requests[(method, path)], world.keys["ann"])
        assert r.status_code in (200, 201), (method, path, r.status_code, r.text)
        if (method, path) in LISTS:
            assert "secret" in r.text or world.ids["cid"] in r.text, (method, path)


def test_admins_see_everything_and_members_change_only_their_own(world) -> None:
    root, bob = _bearer(world.keys["root"]), _bearer(world.keys["bob"])
    names = lambda h: {c["name"] for c in world.get("/v1/collections", headers=h).json()["data"]}  # noqa: E731
    assert names(root) == names(_bearer(TOKEN)) == {"main", "secret"} and names(bob) == {"main"}
    assert world.get("/v1/documents", params={"collection": "secret"}, headers=root).status_code == 200
    # bob reads the default collection but may not change it; his own collection is his to change
    refused = world.post("/v1/documents", headers=bob, files=[("files", ("x.txt", b"Bob's notes.", "text/plain"))])
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_owner"
    assert world.post("/v1/collections", json={"name": "bobs"}, headers=bob).status_code == 201
    assert world.post("/v1/documents", params={"collection": "bobs"}, headers=bob,
                      files=[("files", ("x.txt", b"Bob's notes on ferries.", "text/plain"))]).status_code == 201
    # conversations belong to their user, even for an admin; a follow-up in another's is not found
    assert world.get(f"/v1/conversations/{world.ids['cid']}", headers=root).status_code == 404
    follow = world.post("/v1/answer", json={"question": "And when?", "conversation": world.ids["cid"]}, headers=bob)
    assert follow.status_code == 404 and follow.json()["error"]["code"] == "conversation_not_found"


def test_owners_share_their_collections(world) -> None:
    ann, bob = _bearer(world.keys["ann"]), _bearer(world.keys["bob"])
    sharing = world.get("/v1/collections/secret/sharing", headers=ann)
    assert sharing.json() == {"name": "secret", "visibility": "private", "owner": "ann", "shared_with": []}
    unknown = world.put("/v1/collections/secret/sharing", json={"visibility": "private", "shared_with": ["zed"]},
                        headers=ann)
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "unknown_user"
    shared = world.put("/v1/collections/secret/sharing", json={"visibility": "private", "shared_with": ["bob"]},
                       headers=ann)
    assert shared.status_code == 200 and shared.json()["shared_with"] == ["bob"], shared.text
    assert "secret" in {c["name"] for c in world.get("/v1/collections", headers=bob).json()["data"]}
    assert world.get("/v1/documents", params={"collection": "secret"}, headers=bob).status_code == 200
    # bob reads it now, but its sharing and documents stay ann's to change
    taken = world.put("/v1/collections/secret/sharing", json={"visibility": "public"}, headers=bob)
    assert taken.status_code == 403 and taken.json()["error"]["code"] == "not_owner"
    assert world.delete(f"/v1/documents/{world.ids['doc']}", params={"collection": "secret"},
                        headers=bob).status_code == 403
    assert world.put("/v1/collections/secret/sharing", json={"visibility": "private"},
                     headers=ann).json()["shared_with"] == []
    assert world.get("/v1/documents", params={"collection": "secret"}, headers=bob).status_code == 404


def test_keys_and_the_token(world) -> None:
    assert world.get("/v1/collections").status_code == 401
    wrong = world.get("/v1/collections", headers=_bearer("rag-not-a-key"))
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "unauthorized"
    assert "API key" in wrong.json()["error"]["message"] and wrong.headers["www-authenticate"] == "Bearer"
    assert world.get("/v1/collections", headers=_bearer(TOKEN)).status_code == 200
    assert world.get("/health").status_code == 200


def test_wrong_keys_are_throttled(tmp_path) -> None:
    comps = _comps(tmp_path)
    comps.settings.server.auth_failures = 3
    comps.users.add("ann", "member", "pw")
    key = comps.users.create_api_key("ann")
    with TestClient(create_app(comps, with_ui=False)) as client:
        assert client.get("/v1/collections", headers=_bearer(key)).status_code == 200
        for _ in range(3):
            assert client.get("/v1/collections", headers=_bearer("rag-guess")).status_code == 401
        throttled = client.get("/v1/collections", headers=_bearer(key))  # right or wrong, for the window
        assert throttled.status_code == 429 and throttled.json()["error"]["code"] == "too_many_failures"


def test_single_user_mode_is_unchanged(tmp_path) -> None:
    comps = _comps(tmp_path)
    with TestClient(create_app(comps, with_ui=False)) as client:
        assert client.get("/v1/collections").status_code == 200  # no token, no users: open
        assert client.post("/v1/collections", json={"name": "notes"}).status_code == 201
        comps.users.add("ann", "member", "pw")  # the first user: account mode from now on
        assert client.get("/v1/collections").status_code == 401
        key = comps.users.create_api_key("ann")
        names = {c["name"] for c in client.get("/v1/collections", headers=_bearer(key)).json()["data"]}
        assert names == {"main", "notes"}  # made before accounts: public


def test_openai_client_with_per_user_keys(tmp_path) -> None:
    from openai import NotFoundError, OpenAI

    from tests.e2e.conftest import serve

    comps = _comps(tmp_path)
    comps.users.add("ann", "member", "pw")
    comps.users.add("bob", "member", "pw")
    ann_key, bob_key = comps.users.create_api_key("ann"), comps.users.create_api_key("bob")
    url, server, thread = serve(create_app(comps, with_ui=False))
    try:
        ann = OpenAI(base_url=url + "/v1", api_key=ann_key)
        bob = OpenAI(base_url=url + "/v1", api_key=bob_key)
        with TestClient(create_app(comps, with_ui=False)) as setup:  # ann's collection, through the API
            assert setup.post("/v1/collections", json={"name": "secret"}, headers=_bearer(ann_key)).status_code == 201
            assert setup.post("/v1/documents", params={"collection": "secret"}, headers=_bearer(ann_key),
                              files=[("files", ("z.txt", SECRET_TEXT.encode(), "text/plain"))]).status_code == 201
        assert "rag:secret" in {m.id for m in ann.models.list()}
        assert "rag:secret" not in {m.id for m in bob.models.list()}
        r = ann.chat.completions.create(model="rag:secret", messages=[{"role": "user",
                                                                       "content": "Who commissioned the reactor?"}])
        assert "Ilsa Brandt" in r.choices[0].message.content and r.model_extra["citations"]
        with pytest.raises(NotFoundError):
            bob.chat.completions.create(model="rag:secret", messages=[{"role": "user", "content": "Who?"}])
        with pytest.raises(Exception) as refused:
            OpenAI(base_url=url + "/v1", api_key="rag-wrong", max_retries=0).models.list()
        assert getattr(refused.value, "status_code", None) == 401
    finally:
        server.should_exit = True
        thread.join(timeout=10)
