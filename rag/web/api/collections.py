"""Collections (workspaces): list, create, delete. Each holds its own documents, BM25 index and records."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from rag.components import Components
from rag.services import access, collections
from rag.state.users import UserError
from rag.web.api.auth import CallerDep
from rag.web.api.errors import ApiError
from rag.web.api.models import COLLECTION_SCHEMA, CollectionDeleted, CollectionInfo, CollectionList, errors


class CollectionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, json_schema_extra=COLLECTION_SCHEMA,
                      description="3-64 of A-Z a-z 0-9 . _ -, starting and ending with a letter or digit, no '__' "
                      "or '..' (400 otherwise)")


class Sharing(BaseModel):
    """Who reads a collection (account mode): every user when public; else its owner, admins and `shared_with`."""

    model_config = ConfigDict(extra="forbid")

    visibility: Literal["private", "public"]
    shared_with: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=1000,
                                                                    description="user names")


class SharingInfo(Sharing):
    name: str
    owner: str | None = Field(description="the user who made it; null for one made by the token or before accounts")


NameParam = Annotated[str, Path(json_schema_extra=COLLECTION_SCHEMA)]


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
    def delete(name: NameParam, caller: CallerDep) -> dict:
        collections.delete(comps, name, caller)
        return {"name": name, "deleted": True}

    owner_only = dict(_403="not its owner (only its owner or an admin sees and sets its sharing)",
                      _404="unknown collection, or one the caller may not read")

    @api.get("/v1/collections/{name}/sharing", summary="Who may read a collection", response_model=SharingInfo,
             responses=errors(400, 403, 404, 503, **owner_only))
    def get_sharing(name: NameParam, caller: CallerDep) -> dict:
        return access.sharing(comps, caller, name)

    @api.put("/v1/collections/{name}/sharing", summary="Set who may read a collection", response_model=SharingInfo,
             responses=errors(400, 403, 404, 422, 503, _400="an unknown user name, an invalid collection name",
                              **owner_only))
    def put_sharing(name: NameParam, req: Sharing, caller: CallerDep) -> dict:
        try:
            return access.set_sharing(comps, caller, name, req.visibility, req.shared_with)
        except UserError as exc:
            raise ApiError(400, str(exc), "unknown_user") from exc

    return api
