"""The state's errors, importable without SQLAlchemy (a `rag ask` imports these and nothing else of the state)."""

from __future__ import annotations


class StateError(RuntimeError):
    """The state database cannot be reached or refused a statement: the API answers it with a JSON 503."""


class ConversationNotFound(LookupError):
    """No such conversation, or not the caller's."""
