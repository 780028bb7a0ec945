"""Collections (workspaces) as both front ends handle them: list, create, delete. The names' rules and the
refusals (`CollectionError`: invalid 400, unknown 404, taken or the default 409) come from the components."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from rag.components import Components


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


def list_collections(comps: Components) -> list[CollectionSummary]:
    return [describe(comps, n) for n in comps.collection_names()]


def create(comps: Components, name: str) -> CollectionSummary:
    """An empty collection, its store opened."""
    comps.collection(name, create=True)
    return describe(comps, name)


def delete(comps: Components, name: str) -> None:
    """Its chunks, records, BM25 index and kept uploads; the other collections are untouched."""
    comps.delete_collection(name)
