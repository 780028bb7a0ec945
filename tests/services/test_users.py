"""The users store on SQLite and PostgreSQL (the `database` fixture): passwords, API keys, collection access;
and the access rules of `rag.services.access` on a real components root."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from rag.components import CollectionError, Components
from rag.config import Settings
from rag.services import access, collections
from rag.state.tables import api_keys, users
from rag.state.users import UserError, Users
from rag.types import SINGLE_USER
from tests.conftest import HashEmbedder


def test_passwords_are_argon2_and_verified(database) -> None:
    store = Users(database)
    assert not store.accounts()
    ann = store.add("ann", "admin", "correct horse")
    assert store.accounts() and ann.is_admin
    with database.begin() as db:
        stored = db.execute(select(users.c.password_hash).where(users.c.name == "ann")).scalar_one()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert store.verify_password("ann", "correct horse") == ann
    assert store.verify_password("ann", "wrong") is None
    assert store.verify_password("nobody", "correct horse") is None
    store.set_password("ann", "battery staple")
    assert store.verify_password("ann", "correct horse") is None
    assert store.verify_password("ann", "battery staple") == ann


def test_names_and_roles_are_checked(database) -> None:
    store = Users(database)
    store.add("bob", "member", "pw")
    with pytest.raises(UserError) as taken:
        store.add("bob", "member", "pw")
    assert taken.value.status == 409
    for name, role in (("", "member"), ("a b", "member"), ("carl", "owner")):
        with pytest.raises(UserError):
            store.add(name, role, "pw")
    with pytest.raises(UserError) as unknown:
        store.delete("nobody")
    assert unknown.value.status == 404
    assert [u.name for u in store.list()] == ["bob"]


def test_api_keys_are_shown_once_and_kept_as_their_hash(database) -> None:
    store = Users(database)
    bob = store.add("bob", "member")
    key = store.create_api_key("bob", "laptop")
    assert key.startswith("rag-") and len(key) > 40
    with database.begin() as db:
        kept = db.execute(select(api_keys.c.key_hash)).scalars().all()
    assert kept == [hashlib.sha256(key.encode()).hexdigest()]
    assert store.resolve_api_key(key) == bob
    assert store.resolve_api_key(key + "x") is None and store.resolve_api_key("rag-") is None
    other = store.create_api_key("bob")
    assert other != key and store.resolve_api_key(other) == bob
    store.delete("bob")  # the keys go with the user
    assert store.resolve_api_key(key) is None and not store.accounts()


def test_collection_access_rows_and_grants(database) -> None:
    store = Users(database)
    ann, bob = store.add("ann", "member"), store.add("bob", "member")
    assert store.access("notes") is None
    store.set_access("notes", ann.id, "shared", {bob.id})
    row = store.access("notes")
    assert row is not None and row.owner_id == ann.id and row.visibility == "shared" and row.grants == {bob.id}
    store.delete("bob")  # a deleted user's grants go with them
    assert store.access("notes").grants == frozenset()
    store.delete("ann")  # the collection stays, without an owner
    assert store.access("notes").owner_id is None
    store.forget_collection("notes")
    assert store.access("notes") is None and store.all_access() == {}


@pytest.fixture
def comps(tmp_path) -> Components:
    settings = Settings(_env_file=None, store={"persist_dir": tmp_path / "store", "collection": "main",
                                               "seeds_dir": tmp_path / "none"})
    return Components(settings, embedder=HashEmbedder())


def test_single_user_mode_sees_everything_and_opens_no_database(comps, tmp_path) -> None:
    collections.create(comps, "notes")
    assert access.visible_collections(comps, SINGLE_USER) == ["main", "notes"]
    assert access.require_collection(comps, SINGLE_USER, "notes").name == "notes"
    assert not (tmp_path / "store" / "state.sqlite3").exists()


def test_members_see_public_own_and_shared_collections(comps) -> None:
    admin = comps.users.add("root", "admin", "pw")
    ann, bob = comps.users.add("ann", "member", "pw"), comps.users.add("bob", "member", "pw")
    collections.create(comps, "anns", ann)
    collections.create(comps, "bobs", bob)
    collections.create(comps, "legacy")  # made by the token (the single user): public
    assert access.visible_collections(comps, ann) == ["anns", "legacy", "main"]
    assert access.visible_collections(comps, bob) == ["bobs", "legacy", "main"]
    assert access.visible_collections(comps, admin) == ["anns", "bobs", "legacy", "main"]
    with pytest.raises(CollectionError) as hidden:
        access.require_collection(comps, ann, "bobs")
    with pytest.raises(CollectionError) as missing:
        access.require_collection(comps, ann, "nosuch")
    assert (hidden.value.status, hidden.value.code) == (missing.value.status, missing.value.code) == (
        404, "collection_not_found")
    assert str(hidden.value) == str(missing.value).replace("nosuch", "bobs")

    access.share(comps, bob, "bobs", "ann")
    assert "bobs" in access.visible_collections(comps, ann)
    assert access.describe_access(comps, "bobs") == "shared with ann (owner: bob)"
    with pytest.raises(CollectionError) as not_owner:  # ann reads it, but may not change it
        access.require_owner(comps, ann, "bobs")
    assert not_owner.value.status == 403
    with pytest.raises(CollectionError):
        collections.delete(comps, "bobs", ann)
    access.unshare(comps, bob, "bobs", "ann")
    assert "bobs" not in access.visible_collections(comps, ann)
    assert access.describe_access(comps, "bobs") == "private (owner: bob)"
    access.set_visibility(comps, bob, "bobs", "public")
    assert "bobs" in access.visible_collections(comps, ann)
    with pytest.raises(CollectionError) as no_change:  # the default collection is the admin's to change
        access.require_owner(comps, ann, "main")
    assert no_change.value.status == 403
    collections.delete(comps, "bobs", bob)
    assert comps.users.access("bobs") is None  # a new "bobs" starts afresh
