"""The answer chain's events, pulled for a request in a worker thread one at a time, until its client leaves.

A client that drops its connection must not keep the model busy: between two events (a token, for the text) the
request is asked whether its client is still there, and when it is gone, or the response is cancelled, the
events are closed. Closing runs the chain's and the model's `finally`: llama.cpp's stream then cancels its
generation (`rag.backends.llm`). A plain iterator in a StreamingResponse is not enough for a chat completion:
its text is held until the answer is verified, so nothing is sent, and nothing notices, until the model ends."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from rag.types import Event, Final

_END = object()


async def events_while_connected(events: Iterator[Event], request: Request) -> AsyncIterator[Event]:
    """`events`, until they end or the client is gone; then they are closed, which ends the model's work."""
    try:
        while not await request.is_disconnected():
            event = await run_in_threadpool(next, events, _END)
            if event is _END:
                return
            yield event  # type: ignore[misc]
    finally:
        with anyio.CancelScope(shield=True):  # also when the response was cancelled: a dropped stream
            await run_in_threadpool(getattr(events, "close", lambda: None))


async def final_event(events: Iterator[Event], request: Request) -> Final | None:
    """The `Final` event, the stream consumed; None when the client left first."""
    final = None
    async for event in events_while_connected(events, request):
        if isinstance(event, Final):
            final = event
    return final
