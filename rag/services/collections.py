"""Collections (workspaces) as both front ends handle them: list, create, delete. The names' rules and the
refusals (`CollectionError`: invalid 400, unknown 404, taken or the default 409) come from the components."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from rag.components import Components
from rag.services import access
from rag.types import SINGLE_USER, Caller


@dataclass(frozen=True)
class CollectionSummary:
    name: str
    default: bool
    chunks: int
    documents: int

    def dict(self) -> dict[str, str | bool | int]:
        return asdict(self)


def describe(comps: Components, name: str) -> CollectionSummary:
    parts = comps.collection(name)
    return CollectionSummary(name, name == comps.name, parts.store.count(), len(parts.store.doc_records()))


def list_collections(comps: Components, caller: Caller = SINGLE_USER) -> list[CollectionSummary]:
    """The collections `caller` may read."""
    return [describe(comps, n) for n in access.visible_collections(comps, caller)]


def create(comps: Components, name: str, caller: Caller = SINGLE_USER) -> CollectionSummary:
    """An empty collection, its store opened; a user's is private to them (`access.created`). A name taken by a
    collection the caller may not see is refused as taken all the same (409): names are one namespace."""
    comps.collection(name, create=True)
    access.created(comps, caller, name)
    return describe(comps, name)


def delete(comps: Components, name: str, caller: Caller = SINGLE_USER) -> None:
    """Its chunks, records, BM25 index, kept uploads and sharing; the other collections are untouched. Only its
    owner or an admin may (`access.require_owner`)."""
    access.require_owner(comps, caller, name)
    comps.delete_collection(name)
    access.deleted(comps, name)
