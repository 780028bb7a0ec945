"""Accounts on the chat page: every event handler of the page, called as a logged-in member without access to
another member's collection, with that collection's name, document id and conversation id as its inputs,
shows nothing of it and changes nothing of it; the page's load shows each user their own collections."""

from __future__ import annotations

import inspect
import io
import json
from types import GeneratorType, SimpleNamespace
from typing import Any

import pytest

from rag.components import Components
from rag.config import Settings
from rag.services import asking, collections
from rag.services import documents as doc_service
from rag.types import Final
from rag.web.ui import build_ui
from rag.web.ui.render import ANSWER_ID_LABEL
from tests.answer.test_stream_truth import OneReplyLLM
from tests.conftest import HashEmbedder
from tests.pdfgen import make_pdf

SECRETS = ("zorblat.pdf", "brandt", "megawatts")  # ann's document (its file name, its text) and her conversation


@pytest.fixture
def world(tmp_path):
    comps = Components(
        Settings(_env_file=None, retrieval={"min_coverage": 0.0}, answer={"check": False},
                 store={"persist_dir": tmp_path / "store", "collection": "main", "seeds_dir": tmp_path / "none"}),
        embedder=HashEmbedder(), llm=OneReplyLLM("It was commissioned by engineer Ilsa Brandt [1]."))
    comps.users.add("root", "admin", "pw")
    ann = comps.users.add("ann", "member", "pw")
    comps.users.add("bob", "member", "pw")
    collections.create(comps, "secret", ann)
    pdf = make_pdf(["The Zorblat reactor produces 40 megawatts. It was commissioned by engineer Ilsa Brandt."])
    doc = doc_service.upload(comps.collection("secret"), [doc_service.Upload("zorblat.pdf", io.BytesIO(pdf))])[0]
    cid = comps.conversations.create("secret", "Zorblat chat", owner=ann.id)
    events = list(asking.ask(comps, "Who commissioned the Zorblat reactor?", conversation=cid, caller=ann))
    assert isinstance(events[-1], Final) and events[-1].answer.citations
    upload = tmp_path / "notes.txt"
    upload.write_text("Bob's notes on ferries.\n")
    return SimpleNamespace(comps=comps, demo=build_ui(comps), doc=doc.doc_id, cid=cid, upload=upload,
                           answer=events[-1].answer.id)


def _request(user: str) -> Any:
    return SimpleNamespace(username=user)  # what the handlers read of a gr.Request


def _inputs(world, user: str) -> dict[str, Any]:
    """A value for each parameter name the page's handlers use: ann's things wherever one is named."""
    return {"message": "Who commissioned the reactor?", "chat": [], "history": [], "collection": "secret",
            "share_collection": "secret", "conv_id": world.cid, "cid": world.cid, "doc_id": world.doc,
            "request_json": json.dumps({"collection": "secret", "doc": world.doc, "start": 0, "end": 20}),
            "name": "ann", "role": "admin", "password": "stolen", "new_title": "stolen", "files": [str(world.upload)],
            "request": _request(user),
            # the feedback row: a thumb on ann's answer (its rendered text names its id), then a correction
            "data": SimpleNamespace(value=f"Ilsa Brandt [1]\n\n{ANSWER_ID_LABEL} {world.answer}", liked=False),
            "answer": world.answer, "rating": "down", "comment": "wrong", "correction": "stolen"}


def _shown(out: Any, choices: list[Any]) -> str:
    """An event's outputs as text; the choices of every dropdown it fills collected in `choices`."""
    if isinstance(out, (list, tuple)):
        return "\n".join(_shown(o, choices) for o in out)
    if isinstance(out, dict):
        choices.extend(out.get("choices") or [])
        return "\n".join(_shown(v, choices) for v in out.values())
    if hasattr(out, "choices") or hasattr(out, "value"):
        choices.extend(getattr(out, "choices", None) or [])
        return f"{getattr(out, 'choices', '')} {getattr(out, 'value', '')}"
    return str(out)


def _run(fn, args: list[Any]) -> Any:
    out = fn(*args)
    return list(out) if isinstance(out, GeneratorType) else out


def _state(comps: Components) -> tuple:
    parts = comps.collection("secret")
    ann = comps.users.get("ann")
    return ("secret" in comps.collection_names(), parts.store.count(), sorted(parts.store.doc_records()),
            comps.conversations.get(world_cid := comps.conversations.list(owner=ann.id)[0]["id"], owner=ann.id),
            world_cid, [(u.name, u.role) for u in comps.users.list()], comps.users.access("secret"),
            comps.answers.feedback())


def test_every_page_event_hides_and_keeps_what_the_caller_may_not_read(world) -> None:
    before = _state(world.comps)
    inputs = _inputs(world, "bob")
    handlers = [f for f in world.demo.fns.values() if f.fn is not None]
    assert len(handlers) > 25
    for block_fn in handlers:
        params = [p for p in inspect.signature(block_fn.fn).parameters.values() if p.default is inspect.Parameter.empty]
        unknown = [p.name for p in params if p.name not in inputs]
        assert not unknown, f"{block_fn.name}: no test input for {unknown}"
        choices: list[Any] = []
        try:
            shown = _shown(_run(block_fn.fn, [inputs[p.name] for p in params]), choices)
        except Exception as exc:  # noqa: BLE001 - a refusal raised is shown by Gradio as an error: check its text
            shown = str(exc)
        for secret in SECRETS:
            assert secret not in shown.lower(), (block_fn.name, secret, shown)
        names = [c[1] if isinstance(c, (list, tuple)) else c for c in choices]
        assert "secret" not in names and world.cid not in names and world.doc not in names, (block_fn.name, names)
    # nothing of ann's changed, no user was added or promoted (bob may make a collection of his own: "ann")
    assert _state(world.comps) == before


def test_the_page_load_shows_each_user_their_collections(world) -> None:
    load = next(f for f in world.demo.fns.values() if any(e == "load" for _, e in f.targets))

    def seen(user: str) -> tuple[list[Any], bool]:
        out = load.fn(_request(user))
        return [c[0] if isinstance(c, tuple) else c for c in out[1].choices], out[5].visible

    assert seen("ann") == (["main", "secret"], False)
    assert seen("bob") == (["main"], False)
    assert seen("root") == (["main", "secret"], True)  # the admin panel, for an admin only


def test_a_page_without_a_login_sees_nothing_once_users_exist(world) -> None:
    """A page served before the first user was added has no login: it shows nothing until a restart."""
    load = next(f for f in world.demo.fns.values() if any(e == "load" for _, e in f.targets))
    out = load.fn(_request(""))
    assert list(out[1].choices) == [] and list(out[0].choices) == [] and not out[5].visible


def test_the_page_login_takes_user_names_and_passwords_and_throttles_failures(world) -> None:
    from fastapi.testclient import TestClient

    from rag.web.server import create_app

    world.comps.settings.server.auth_failures = 3
    with TestClient(create_app(world.comps)) as client:
        assert client.post("/login", data={"username": "ann", "password": "pw"}).status_code == 200
        for password in ("wrong", "pw "):
            assert client.post("/login", data={"username": "ann", "password": password}).status_code == 400
        assert client.post("/login", data={"username": "nobody", "password": "pw"}).status_code == 400
        throttled = client.post("/login", data={"username": "ann", "password": "pw"})
        assert throttled.status_code == 429 and throttled.json()["error"]["code"] == "too_many_failures"
