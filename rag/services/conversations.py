"""Conversations as the front ends start and resume them; the rest (list, get, rename, delete, export) is the
store's own (`rag.state.conversations`), used as it is."""

from __future__ import annotations

from rag.components import Components
from rag.services import access
from rag.state.errors import ConversationNotFound
from rag.types import SINGLE_USER, Caller


def start(comps: Components, collection: str | None = None, title: str = "", caller: Caller = SINGLE_USER) -> str:
    """A new, empty conversation of `caller`'s in a collection they may read (`CollectionError` otherwise); its
    id."""
    name = access.require_collection(comps, caller, collection).name
    return comps.conversations.create(name, title.strip(), owner=caller.id)


def resume(comps: Components, cid: str, collection: str, caller: Caller = SINGLE_USER) -> str:
    """The conversation a chat goes on in: `cid` while it exists, else a new one in `collection` (a new chat,
    or one whose conversation was deleted elsewhere)."""
    if cid:
        try:
            comps.conversations.get(cid, owner=caller.id)
            return cid
        except ConversationNotFound:
            pass
    return start(comps, collection, caller=caller)
