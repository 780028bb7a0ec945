"""`rag users` and `rag collections` as a user runs them: the CLI as a subprocess on a temporary store; the
key it prints works as the API's bearer key, the sharing it sets decides what that user sees."""

from __future__ import annotations

import os
import subprocess
import sys

from fastapi.testclient import TestClient

from rag.components import Components
from rag.config import Settings
from rag.web.server import create_app
from tests.conftest import ROOT


def _rag(tmp_path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_LLM__BACKEND="scripted", RAG_EMBED__BACKEND="hash", RAG_STORE__PERSIST_DIR=str(tmp_path / "store"),
               RAG_STORE__SEEDS_DIR=str(tmp_path / "none"),
               PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p))
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], cwd=tmp_path, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_users_and_sharing_from_the_command_line(tmp_path) -> None:
    added = _rag(tmp_path, "users", "add", "ann", "--role", "admin", "--password-stdin", stdin="s3cret pass\n")
    assert added.returncode == 0, added.stderr
    assert "s3cret" not in added.stdout + added.stderr
    assert _rag(tmp_path, "users", "add", "bob", "--password-stdin", stdin="bob pass\n").returncode == 0
    taken = _rag(tmp_path, "users", "add", "bob", "--password-stdin", stdin="x\n")
    assert taken.returncode == 1 and "already exists" in taken.stderr
    bad_role = _rag(tmp_path, "users", "add", "cy", "--role", "owner", "--password-stdin", stdin="x\n")
    assert bad_role.returncode != 0 and "admin or member" in bad_role.stderr
    asked = _rag(tmp_path, "users", "add", "cy", stdin="cy pass\ncy pass\n")  # asked twice, not echoed
    assert asked.returncode == 0 and "cy pass" not in asked.stdout + asked.stderr, asked.stderr
    assert _rag(tmp_path, "users", "list").stdout.split() == ["ann", "admin", "bob", "member", "cy", "member"]

    key = _rag(tmp_path, "users", "key", "bob").stdout.strip()
    assert key.startswith("rag-")
    settings = Settings(_env_file=None, llm={"backend": "scripted"}, embed={"backend": "hash"},
                        store={"persist_dir": tmp_path / "store", "seeds_dir": tmp_path / "none"})
    comps = Components(settings)
    assert comps.users.verify_password("ann", "s3cret pass") is not None
    assert comps.users.verify_password("cy", "cy pass") is not None
    comps.collection("plans", create=True)  # made by the instance's admin: public until it is shared
    with TestClient(create_app(comps, with_ui=False)) as client:
        def seen() -> set[str]:
            r = client.get("/v1/collections", headers={"Authorization": f"Bearer {key}"})
            assert r.status_code == 200, r.text
            return {c["name"] for c in r.json()["data"]}

        assert "plans" in seen()
        private = _rag(tmp_path, "collections", "share", "plans", "--private")
        assert private.returncode == 0 and private.stdout.split() == ["plans", "private"], private.stderr
        assert "plans" not in seen()
        shared = _rag(tmp_path, "collections", "share", "plans", "--with", "bob")
        assert shared.stdout.split("\t")[1].strip() == "shared with bob", shared.stdout
        assert "plans" in seen()
        assert "plans\tshared with bob" in _rag(tmp_path, "collections", "list").stdout
        unknown = _rag(tmp_path, "collections", "share", "nosuch", "--public")
        assert unknown.returncode == 1 and "no collection named 'nosuch'" in unknown.stderr
        revoked = _rag(tmp_path, "users", "revoke-keys", "bob")
        assert revoked.returncode == 0 and "revoked 1 key of bob" in revoked.stderr, revoked.stderr
        assert client.get("/v1/collections", headers={"Authorization": f"Bearer {key}"}).status_code == 401
        key = _rag(tmp_path, "users", "key", "bob").stdout.strip()
        assert "plans" in seen()
        assert _rag(tmp_path, "users", "delete", "bob").returncode == 0
        assert client.get("/v1/collections", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    assert _rag(tmp_path, "users", "delete", "bob").returncode == 1
