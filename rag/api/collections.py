"""Collections (workspaces): list, create, delete. Each holds its own documents, BM25 index and records."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from rag.components import Components


class CollectionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)


def describe(comps: Components, name: str) -> dict:
    parts = comps.collection(name)
    return {"name": name, "default": name == comps.name, "chunks": parts.store.count(),
            "documents": len(parts.store.doc_records())}


def router(comps: Components) -> APIRouter:
    api = APIRouter(tags=["collections"])

    @api.get("/v1/collections", summary="Every collection, the default one marked")
    def list_collections() -> dict:
        return {"object": "list", "data": [describe(comps, n) for n in comps.collection_names()]}

    @api.post("/v1/collections", status_code=201, summary="Create an empty collection",
              responses={400: {"description": "invalid name"}, 409: {"description": "name taken"}})
    def create(req: CollectionRequest) -> dict:
        comps.collection(req.name, create=True)
        return describe(comps, req.name)

    @api.delete("/v1/collections/{name}", summary="Delete a collection, its documents, index and records",
                responses={400: {"description": "the default collection"}, 404: {"description": "unknown"}})
    def delete(name: str) -> dict:
        comps.delete_collection(name)
        return {"name": name, "deleted": True}

    return api
