"""Optional bearer-token auth: off unless `RAG_SERVER__API_TOKEN` is set."""

from __future__ import annotations

import secrets

from fastapi import Request

from rag.types import SINGLE_USER, Caller
from rag.web.api.errors import ApiError


def bearer_guard(token: str | None):
    async def check(request: Request) -> None:
        if not token:
            return
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip(), token):
            raise ApiError(401, "missing or wrong bearer token (Authorization: Bearer <RAG_SERVER__API_TOKEN>)",
                           "unauthorized")

    return check


async def current_caller(request: Request) -> Caller:
    """Who is asking (a FastAPI dependency for the routes). Single-user mode for now: the token, when set, is
    checked by `bearer_guard`; accounts (issue #33) resolve a user from an API key or a login here."""
    return SINGLE_USER
