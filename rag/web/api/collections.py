"""Collections (workspaces): list, create, delete. Each holds its own documents, BM25 index and records."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from rag.components import Components
from rag.services import collections
from rag.web.api.auth import CallerDep
from rag.web.api.models import COLLECTION_SCHEMA, CollectionDeleted, CollectionInfo, CollectionList, errors


class CollectionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, json_schema_extra=COLLECTION_SCHEMA,
                      description="3-64 of A-Z a-z 0-9 . _ -, starting and ending with a letter or digit, no '__' "
                      "or '..' (400 otherwise)")


def router(comps: Components) -> APIRouter:
    api = APIRouter(tags=["collections"])

    @api.get("/v1/collections", summary="Every collection, the default one marked", response_model=CollectionList,
             responses=errors(503))
    def list_collections(caller: CallerDep) -> dict:
        return {"object": "list", "data": [c.dict() for c in collections.list_collections(comps, caller)]}

    @api.post("/v1/collections", status_code=201, summary="Create an empty collection",
              response_model=CollectionInfo,
              responses=errors(400, 409, 422, 503, _400="invalid name (or malformed JSON)", _409="name taken"))
    def create(req: CollectionRequest, caller: CallerDep) -> dict:
        return collections.create(comps, req.name, caller).dict()

    @api.delete("/v1/collections/{name}", summary="Delete a collection, its documents, index and records",
                response_model=CollectionDeleted,
                responses=errors(400, 403, 404, 409, 503, _400="an invalid name", _403="not its owner",
                                 _409="the default collection"))
    def delete(name: Annotated[str, Path(json_schema_extra=COLLECTION_SCHEMA)], caller: CallerDep) -> dict:
        collections.delete(comps, name, caller)
        return {"name": name, "deleted": True}

    return api
