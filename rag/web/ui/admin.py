"""What the chat page's admin panel does: add users, set passwords, make API keys, delete users, and set who
may read a collection. Shown to admins only, and every action checks the caller again: a member who calls
one (the page's API is open to any logged-in user) is refused."""

from __future__ import annotations

import html
from typing import Any

import gradio as gr

from rag.components import CollectionError, Components
from rag.services import access
from rag.state.users import UserError
from rag.types import Caller

ADMINS_ONLY = "❌ Only an admin may do that."


def _allowed(comps: Components, caller: Caller) -> bool:
    return caller.is_admin and comps.users.accounts()


def view(comps: Components, caller: Caller, collection: str | None) -> tuple[Any, ...]:
    """(status, users table, the collection picker, that collection's sharing), for an admin; nothing else."""
    if not _allowed(comps, caller):
        return ADMINS_ONLY, "", gr.Dropdown(choices=[], value=None), ""
    rows = "\n".join(f"| {html.escape(u.name)} | {u.role} |" for u in comps.users.list())
    names = comps.collection_names()
    chosen = collection if collection in names else None
    sharing = f"`{chosen}`: {html.escape(access.describe_access(comps, chosen))}" if chosen else ""
    return "", f"| user | role |\n|---|---|\n{rows}", gr.Dropdown(choices=names, value=chosen), sharing


def user_action(comps: Components, caller: Caller, action: str, name: str, role: str, password: str) -> str:
    """add, password, key (shown once) or delete; a status line."""
    if not _allowed(comps, caller):
        return ADMINS_ONLY
    name = (name or "").strip()
    try:
        if action == "add":
            comps.users.add(name, role, password or None)
            return f"✅ Added {role} {name}."
        if action == "password":
            comps.users.set_password(name, password)
            return f"✅ Password of {name} set."
        if action == "key":
            key = comps.users.create_api_key(name, "made on the admin panel")
            return f"🔑 API key of {name}, shown once: `{key}`"
        if action == "delete":
            if name == caller.name:
                return "❌ You cannot delete yourself here (use `rag users delete`)."
            erased = access.delete_user(comps, name)
            return f"🗑️ Deleted {name} and {erased} answer record(s) of theirs."
    except UserError as exc:
        return f"❌ {exc}"
    return f"❌ unknown action {action!r}"


def sharing_action(comps: Components, caller: Caller, action: str, collection: str | None, user: str) -> str:
    """share, unshare (with `user`), public or private; a status line."""
    if not _allowed(comps, caller):
        return ADMINS_ONLY
    if not collection:
        return "❌ Pick a collection first."
    try:
        if action in ("share", "unshare"):
            (access.share if action == "share" else access.unshare)(comps, caller, collection, (user or "").strip())
        else:
            access.set_visibility(comps, caller, collection, action)
    except (UserError, CollectionError) as exc:
        return f"❌ {exc}"
    return f"✅ {collection}: {access.describe_access(comps, collection)}"
