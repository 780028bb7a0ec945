"""The chat box: a question asked through `services.asking`, its text shown as it streams and the answer with
its sources at the end. A module of its own, outside the page's layout, so that it runs in tests."""

from __future__ import annotations

import html
import sqlite3
from collections.abc import Iterator
from typing import Any

import gradio as gr

from rag.components import Components
from rag.services import access, asking, conversations
from rag.types import SINGLE_USER, Caller, Delta, Final, Replace
from rag.web.ui import panels
from rag.web.ui.render import render_answer

WARMING = "⏳ *Warming up: the model is loading. Your question is answered as soon as it is ready.*"


def respond(comps: Components, message: str, chat: list[dict], history: list[dict], collection: str,
            conv_id: str, caller: Caller = SINGLE_USER) -> Iterator[tuple[Any, ...]]:
    """(chat, history, question box, conversation id, conversations picker) as the answer comes. The turn is
    saved as the API saves it, in the chat's conversation: one is started for a new chat (as a client of the API
    does first), and when its own was deleted in another tab. A store that cannot be written costs the saving,
    not the answer."""
    message = (message or "").strip()
    if not message:
        gr.Warning("Type a question first.")
        yield chat, history, "", conv_id, gr.skip()
        return
    chat = [*chat, {"role": "user", "content": message}, {"role": "assistant", "content": ""}]
    if comps.warmup.warming:  # the first start: say why the answer is slow to come, rather than a silent wait
        chat[-1]["content"] = WARMING
    yield chat, history, "", conv_id, gr.skip()
    streamed = ""
    try:
        name = access.require_collection(comps, caller, collection).name
        try:
            conv_id = conversations.resume(comps, conv_id, name, caller)
        except (sqlite3.Error, OSError) as exc:
            gr.Warning(f"This conversation could not be saved: {exc}")
            conv_id = ""
        for event in asking.ask(comps, message, collection=name, conversation=conv_id or None, history=history,
                                caller=caller):
            match event:
                case Final(answer=answer, warnings=warnings):
                    for warning in warnings:  # the turn could not be saved: the answer is shown all the same
                        gr.Warning(warning)
                    chat[-1] = {"role": "assistant", "content": render_answer(answer, name)}
                    history = [*history, {"role": "user", "content": message},
                               {"role": "assistant", "content": answer.answer}]
                    yield chat, history, "", conv_id, gr.Dropdown(choices=panels.conversation_choices(comps, caller),
                                                                  value=conv_id or None)
                case Delta(text=text) | Replace(text=text):  # the sources are shown with the answer
                    streamed = text if isinstance(event, Replace) else streamed + text
                    chat[-1] = {"role": "assistant", "content": html.escape(streamed)}
                    yield chat, history, "", conv_id, gr.skip()
    except Exception as exc:  # shown to the user; the app keeps serving
        chat[-1] = {"role": "assistant", "content": f"⚠️ {html.escape(str(exc))}"}
        yield chat, history, "", conv_id, gr.skip()
