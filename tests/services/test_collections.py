"""Collections (workspaces) through the HTTP API, with the real Chroma store, a hash embedder and a scripted
LLM: questions never cross collections, deleting one leaves the others' chunks, BM25 index and records."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from rag.components import Components
from rag.config import Settings
from rag.web.server import create_app
from tests.answer.test_stream_truth import OneReplyLLM
from tests.conftest import HashEmbedder

ALPHA = b"The Zorblat reactor in Vellmar produces 40 megawatts. It was commissioned by engineer Ilsa Brandt.\n"
BETA = b"The Quintor bridge in Ostwick spans 300 metres. It was designed by architect Tomas Gruber.\n"


@pytest.fixture
def client(tmp_path):
    comps = Components(
        Settings(
            _env_file=None,
            retrieval={"min_coverage": 0.0},
            answer={"check": False},
            store={"persist_dir": tmp_path / "store", "collection": "main", "seeds_dir": tmp_path / "none"},
        ),
        embedder=HashEmbedder(),
        llm=OneReplyLLM("It was commissioned by engineer Ilsa Brandt [1]."),
    )
    with TestClient(create_app(comps, with_ui=False)) as c:
        c.comps = comps  # type: ignore[attr-defined]
        yield c


def _upload(client, name: str, data: bytes, collection: str | None = None) -> dict:
    params = {"collection": collection} if collection else {}
    r = client.post("/v1/documents", params=params, files=[("files", (name, data, "text/plain"))])
    assert r.status_code == 201, r.text
    return r.json()["data"][0]


def _docs(client, collection: str | None = None) -> list[dict]:
    r = client.get("/v1/documents", params={"collection": collection} if collection else {})
    assert r.status_code == 200, r.text
    return r.json()["data"]


def test_create_list_and_documents_stay_apart(client) -> None:
    assert client.post("/v1/collections", json={"name": "beta"}).status_code == 201
    names = {c["name"]: c for c in client.get("/v1/collections").json()["data"]}
    assert set(names) == {"main", "beta"} and names["main"]["default"] and not names["beta"]["default"]
    a = _upload(client, "alpha.txt", ALPHA)
    b = _upload(client, "beta.txt", BETA, "beta")
    assert [d["id"] for d in _docs(client)] == [a["id"]]
    assert [d["id"] for d in _docs(client, "beta")] == [b["id"]]
    assert _docs(client)[0]["file_name"] == "alpha.txt"


def test_questions_do_not_cross_collections(client) -> None:
    client.post("/v1/collections", json={"name": "beta"})
    _upload(client, "alpha.txt", ALPHA)
    _upload(client, "beta.txt", BETA, "beta")
    q = "Who commissioned the Zorblat reactor in Vellmar?"
    main = client.post("/v1/answer", json={"question": q}).json()
    beta = client.post("/v1/answer", json={"question": q, "collection": "beta"}).json()
    assert {c["source"] for c in main["citations"]} == {"upload:alpha.txt"}
    assert all(r["source"] == "upload:beta.txt" for r in beta["retrieved"])
    assert not any("Zorblat" in r["text"] for r in beta["retrieved"])
    # the OpenAI route picks the collection through `model`
    body = {"model": "rag:beta", "messages": [{"role": "user", "content": q}]}
    chat = client.post("/v1/chat/completions", json=body).json()
    assert all(c["source"] == "upload:beta.txt" for c in chat["citations"])
    ids = [m["id"] for m in client.get("/v1/models").json()["data"]]
    assert "rag:main" in ids and "rag:beta" in ids


def test_deleting_one_leaves_the_other_intact(client) -> None:
    comps = client.comps
    client.post("/v1/collections", json={"name": "beta"})
    client.post("/v1/collections", json={"name": "gamma"})
    _upload(client, "beta.txt", BETA, "beta")
    g = _upload(client, "alpha.txt", ALPHA, "gamma")
    persist = comps.settings.store.persist_dir
    assert (persist / "bm25" / "beta").is_dir() and (persist / "bm25" / "gamma").is_dir()
    r = client.delete("/v1/collections/beta")
    assert r.status_code == 200 and r.json()["deleted"]
    assert not (persist / "bm25" / "beta").exists() and not (persist / "files" / "beta").exists()
    assert {c["name"] for c in client.get("/v1/collections").json()["data"]} == {"main", "gamma"}
    assert [d["id"] for d in _docs(client, "gamma")] == [g["id"]]
    gamma = comps.collection("gamma")
    assert gamma.keyword_index.search("Zorblat reactor", 3)  # BM25 of the other collection still answers
    assert g["id"] in gamma.store.doc_records()
    assert client.get("/v1/documents", params={"collection": "beta"}).status_code == 404
    # a collection of the same name made again starts empty
    client.post("/v1/collections", json={"name": "beta"})
    assert _docs(client, "beta") == []


@pytest.mark.parametrize("name", ["a", "bad name", "x__meta", "../etc", "-abc", "a" * 70])
def test_invalid_names_are_400(client, name: str) -> None:
    r = client.post("/v1/collections", json={"name": name})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_collection_name"


def test_unknown_taken_and_default(client) -> None:
    assert client.post("/v1/collections", json={"name": 3}).status_code == 422
    assert client.post("/v1/collections", json={}).status_code == 422
    assert client.get("/v1/documents", params={"collection": "nope"}).status_code == 404
    r = client.post("/v1/answer", json={"question": "Who?", "collection": "nope"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "collection_not_found"
    body = {"model": "rag:nope", "messages": [{"role": "user", "content": "Who?"}]}
    assert client.post("/v1/chat/completions", json=body).status_code == 404
    assert client.delete("/v1/collections/nope").status_code == 404
    default = client.delete("/v1/collections/main")  # the state forbids it, not the name
    assert default.status_code == 409 and default.json()["error"]["code"] == "default_collection"
    assert client.post("/v1/collections", json={"name": "main"}).status_code == 409
    client.post("/v1/collections", json={"name": "beta"})
    assert client.post("/v1/collections", json={"name": "beta"}).status_code == 409
