"""Who may read and change a collection, once for every front end (API, chat page, CLI).

Account mode is on while at least one user exists; without users everything is visible, as before accounts.
In account mode an admin sees and changes everything; a member sees the public collections (a collection
without an access row is public: the default one, and any made before accounts), the ones they own and the
ones shared with them, and changes (upload, re-ingest, delete, share) only their own. A collection a caller
may not see is answered exactly as one that does not exist (`CollectionError` 404): no name leaks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.components import CollectionError, Components
from rag.types import SINGLE_USER, Caller

if TYPE_CHECKING:
    from rag.state.users import Access

# A chat page opened without a login while accounts exist (it was served before the first user was added):
# it sees nothing and owns nothing until the server restarts with its login.
NOBODY = Caller(id="", name="", role="nobody")


def caller_for_login(comps: Components, username: str | None) -> Caller:
    """The caller of a chat page: the logged-in user in account mode, the single user otherwise."""
    if not comps.users.accounts():
        return SINGLE_USER
    if not username:
        return NOBODY
    from rag.state.users import UserError

    try:
        return comps.users.get(username)
    except UserError:  # deleted since the login
        return NOBODY


def _may_read(caller: Caller, access: Access | None) -> bool:
    if caller.role == NOBODY.role:
        return False
    if caller.is_admin or access is None or access.visibility == "public":
        return True
    return caller.id is not None and (access.owner_id == caller.id or caller.id in access.grants)


def _may_change(caller: Caller, access: Access | None) -> bool:
    if caller.is_admin:
        return True
    return access is not None and caller.id is not None and access.owner_id == caller.id


def _unknown(name: str) -> CollectionError:
    return CollectionError(f"no collection named {name!r}", 404, "collection_not_found")


def can_read(comps: Components, caller: Caller, name: str) -> bool:
    # an admin (the single user of `rag ask` included) reads everything: no state database is opened for it
    return caller.is_admin or not comps.users.accounts() or _may_read(caller, comps.users.access(name))


def visible_collections(comps: Components, caller: Caller) -> list[str]:
    """The collections `caller` may read (every one in single-user mode), sorted."""
    names = comps.collection_names()
    if caller.is_admin or not comps.users.accounts():
        return names
    rows = comps.users.all_access()
    return [n for n in names if _may_read(caller, rows.get(n))]


def require_collection(comps: Components, caller: Caller, name: str | None = None) -> Components:
    """The parts of collection `name` (the default when None), when `caller` may read it; else the same 404
    as for a collection that does not exist."""
    name = name or comps.name
    if not can_read(comps, caller, name):
        raise _unknown(name)
    return comps.collection(name)


def require_owner(comps: Components, caller: Caller, name: str | None = None) -> Components:
    """The parts of collection `name` when `caller` may change it (its documents, its sharing, deleting it):
    404 when they may not even read it, 403 when they may read but not change it."""
    parts = require_collection(comps, caller, name)
    if not caller.is_admin and comps.users.accounts() and not _may_change(caller, comps.users.access(parts.name)):
        raise CollectionError(f"only the owner of collection {parts.name!r} or an admin may change it", 403,
                              "not_owner")
    return parts


def created(comps: Components, caller: Caller, name: str) -> None:
    """A collection a user made is private to them; one made by the token or in single-user mode stays public."""
    if caller.id and comps.users.accounts():
        comps.users.set_access(name, caller.id, "private", set())


def deleted(comps: Components, name: str) -> None:
    comps.users.forget_collection(name)


def _current(comps: Components, name: str) -> tuple[str | None, str, set[str]]:
    row = comps.users.access(name)
    return (None, "public", set()) if row is None else (row.owner_id, row.visibility, set(row.grants))


def share(comps: Components, caller: Caller, name: str, user: str) -> None:
    """Let `user` read collection `name` (a private one becomes shared)."""
    parts = require_owner(comps, caller, name)
    uid = comps.users.get(user).id
    owner, visibility, grants = _current(comps, parts.name)
    comps.users.set_access(parts.name, owner, "public" if visibility == "public" else "shared", grants | {uid})


def unshare(comps: Components, caller: Caller, name: str, user: str) -> None:
    parts = require_owner(comps, caller, name)
    uid = comps.users.get(user).id
    owner, visibility, grants = _current(comps, parts.name)
    grants.discard(uid)
    if visibility == "shared" and not grants:
        visibility = "private"
    comps.users.set_access(parts.name, owner, visibility, grants)


def set_visibility(comps: Components, caller: Caller, name: str, visibility: str) -> None:
    """`public` (every user) or `private` (the owner and admins: the grants are dropped too)."""
    parts = require_owner(comps, caller, name)
    owner, _, grants = _current(comps, parts.name)
    if visibility == "private":
        grants = set()
    comps.users.set_access(parts.name, owner, visibility, grants)


def sharing(comps: Components, caller: Caller, name: str) -> dict[str, object]:
    """Who reads collection `name`: {name, visibility, owner, shared_with}; for its owner or an admin."""
    parts = require_owner(comps, caller, name)
    owner, visibility, grants = _current(comps, parts.name)
    names = {u.id: u.name for u in comps.users.list()} if owner or grants else {}
    return {"name": parts.name, "visibility": "private" if visibility == "shared" else visibility,
            "owner": names.get(owner or ""), "shared_with": sorted(names[g] for g in grants if g in names)}


def set_sharing(comps: Components, caller: Caller, name: str, visibility: str, users: list[str],
                ) -> dict[str, object]:
    """Set who reads collection `name` at once: `public`, or `private` to its owner, admins and `users`
    (every one of them must exist: `UserError` otherwise, nothing changed)."""
    from rag.state.users import UserError

    if visibility not in ("private", "public"):
        raise UserError(f"visibility {visibility!r}: choose private or public")
    parts = require_owner(comps, caller, name)
    grants = {comps.users.get(u).id for u in users}
    owner, _, _ = _current(comps, parts.name)
    stored = "public" if visibility == "public" else "shared" if grants else "private"
    comps.users.set_access(parts.name, owner, stored, grants)  # type: ignore[arg-type]
    return sharing(comps, caller, parts.name)


def describe_access(comps: Components, name: str) -> str:
    """One line for a collection's sharing: "public", "private (owner: ann)", "shared with bob, cy (owner: ann)"."""
    row = comps.users.access(name)
    if row is None:
        return "public"
    names = {u.id: u.name for u in comps.users.list()}
    owner = f" (owner: {names[row.owner_id]})" if row.owner_id in names else ""
    if row.visibility == "shared":
        return "shared with " + ", ".join(sorted(names.get(g, "?") for g in row.grants)) + owner
    return row.visibility + owner


def delete_user(comps: Components, name: str) -> int:
    """A user removed at their request: the account (its keys, grants and conversations go with it) and every
    answer record and feedback of theirs (`audit.erase_user_records`); how many answer records went. The
    records go first: should the account's deletion then fail, asking again finishes it."""
    from rag.services.audit import erase_user_records

    user = comps.users.get(name)
    erased = erase_user_records(comps, user.id)
    comps.users.delete(name)
    return erased
