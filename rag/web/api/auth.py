"""Who calls the API. Single-user mode (no users): open, or the one `RAG_SERVER__API_TOKEN` as the bearer key.
Account mode (at least one user, `rag.state.users`): a user's API key as the bearer key, or the server token,
which stands for the single user, an admin. The guard (`rag.web.api.guard`) resolves the key from the headers,
before the body is read, and leaves the caller in the request's state for `current_caller`."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from rag.state.errors import StateError
from rag.types import SINGLE_USER, Caller
from rag.web.api.errors import ApiError

if TYPE_CHECKING:
    from rag.state.users import Users

CALLER_KEY = "rag_caller"  # where the guard leaves the caller, in the ASGI scope's state
TOKEN_HELP = "missing or wrong bearer token (Authorization: Bearer <RAG_SERVER__API_TOKEN>)"
KEY_HELP = "missing or wrong API key (Authorization: Bearer <your API key>; `rag users key NAME` makes one)"


def token_matches(given: str, token: str) -> bool:
    """In constant time: how much of a guess was right never shows in how long the refusal took."""
    return hmac.compare_digest(given.encode(), token.encode())


class Authenticator:
    """Resolves a bearer key to a caller. `users` is called on first use: the state database is opened only
    when a request needs it."""

    def __init__(self, token: str | None, users: Callable[[], Users] | None = None) -> None:
        self.token, self._users = token, users

    @property
    def uses_database(self) -> bool:
        return self._users is not None

    def accounts(self) -> bool:
        return self._users is not None and self._users().accounts()

    def resolve(self, given: str | None) -> Caller | None:
        """The caller of a request whose bearer key is `given` (None: no Authorization header); None when
        refused. Blocking (a database look-up): run it on a thread."""
        if self.token and given is not None and token_matches(given, self.token):
            return SINGLE_USER
        if self.accounts():
            return self._users().resolve_api_key(given) if given else None  # type: ignore[misc]
        return None if self.token else SINGLE_USER

    def check(self, given: str | None) -> tuple[Caller | None, str]:
        """(the caller, or None and the refusal's message): both from one thread hop."""
        caller = self.resolve(given)
        if caller is not None:
            return caller, ""
        try:
            return None, KEY_HELP if self.accounts() else TOKEN_HELP
        except StateError:
            return None, TOKEN_HELP


async def current_caller(request: Request) -> Caller:
    """Who is asking (a FastAPI dependency of every /v1 route): the caller the guard resolved. A request that
    reached a route without one is refused (fail closed), never taken for the single user."""
    caller = request.scope.get("state", {}).get(CALLER_KEY)
    if caller is None:
        raise ApiError(401, TOKEN_HELP, "unauthorized")
    return caller


CallerDep = Annotated[Caller, Depends(current_caller)]
