"""Conversations as the front ends start and resume them; the rest (list, get, rename, delete, export) is the
store's own (`rag.state.conversations`), used as it is."""

from __future__ import annotations

from rag.components import Components
from rag.state.errors import ConversationNotFound


def start(comps: Components, collection: str | None = None, title: str = "") -> str:
    """A new, empty conversation in a collection that exists (`CollectionError` otherwise); its id."""
    return comps.conversations.create(comps.collection(collection).name, title.strip())


def resume(comps: Components, cid: str, collection: str) -> str:
    """The conversation a chat goes on in: `cid` while it exists, else a new one in `collection` (a new chat,
    or one whose conversation was deleted elsewhere)."""
    if cid:
        try:
            comps.conversations.get(cid)
            return cid
        except ConversationNotFound:
            pass
    return start(comps, collection)
