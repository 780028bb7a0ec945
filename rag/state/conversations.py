"""Conversations in the state database (`rag.state.db`), so a chat survives a reload, a restart, or a move to
another server behind the same load balancer: each turn keeps the question, the answer's text and its public
object (citations with document, page and quote). A conversation belongs to its user (`owner`, a user id;
None in single-user mode): another user's is not found."""

from __future__ import annotations

import html
import json
import re
import time
import uuid
from typing import Any

from sqlalchemy import func, select

from rag.index.documents import file_name
from rag.state.db import Database
from rag.state.errors import ConversationNotFound
from rag.state.tables import conversations as conv_table
from rag.state.tables import messages as msg_table
from rag.types import Answer


def _title(question: str, limit: int = 60) -> str:
    q = " ".join(question.split())
    return q if len(q) <= limit else q[:limit - 1].rstrip() + "…"


def _footnote_markers(text: str, turn: int, markers: set[int]) -> str:
    """`[2]` becomes `[^3-2]` (turn 3, source 2): footnote labels stay unique across the conversation."""
    return re.sub(r"\[(\d+)\]", lambda x: f"[^{turn}-{x.group(1)}]" if int(x.group(1)) in markers else x.group(0),
                  text)


def _inline(text: str) -> str:
    """Text from a user or a document, safe inside one line of the Markdown export: its white space (newlines
    too) collapsed, so it cannot start a turn or a footnote of its own, and its HTML and Markdown punctuation
    escaped, so it renders as the text it is."""
    text = html.escape(" ".join(str(text).split()), quote=False)
    return re.sub(r"([\\`*_\[\]{}#|~])", r"\\\1", text)


class Conversations:
    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def _mine(owner: str | None):  # noqa: ANN205 - a SQLAlchemy clause
        return conv_table.c.owner_id.is_(None) if owner is None else conv_table.c.owner_id == owner

    def create(self, collection: str, title: str = "", owner: str | None = None) -> str:
        cid, now = uuid.uuid4().hex[:16], time.time()
        with self.db.begin() as db:
            db.execute(conv_table.insert().values(id=cid, owner_id=owner, title=title, collection=collection,
                                                  created=now, updated=now))
        return cid

    def list(self, owner: str | None = None) -> list[dict[str, Any]]:
        count = (select(func.count()).select_from(msg_table).where(msg_table.c.conv_id == conv_table.c.id)
                 .scalar_subquery())
        query = (select(conv_table.c.id, conv_table.c.title, conv_table.c.collection, conv_table.c.created,
                        conv_table.c.updated, count.label("messages"))
                 .where(self._mine(owner)).order_by(conv_table.c.updated.desc()))
        with self.db.begin() as db:
            return [dict(r._mapping) for r in db.execute(query)]

    def get(self, cid: str, owner: str | None = None) -> dict[str, Any]:
        with self.db.begin() as db:
            row = db.execute(select(conv_table.c.id, conv_table.c.title, conv_table.c.collection,
                                    conv_table.c.created, conv_table.c.updated)
                             .where(conv_table.c.id == cid, self._mine(owner))).first()
            if row is None:
                raise ConversationNotFound(cid)
            msgs = db.execute(select(msg_table.c.role, msg_table.c.content, msg_table.c.answer)
                              .where(msg_table.c.conv_id == cid).order_by(msg_table.c.seq)).all()
        return dict(row._mapping) | {"messages": [
            {"role": m.role, "content": m.content} | ({"answer": json.loads(m.answer)} if m.answer else {})
            for m in msgs]}

    def history(self, cid: str, owner: str | None = None) -> list[dict[str, str]]:
        """The turns as the chain takes them, to answer a follow-up in a reopened conversation."""
        return [{"role": m["role"], "content": m["content"]} for m in self.get(cid, owner)["messages"]]

    def add_turn(self, cid: str, question: str, answer: Answer, owner: str | None = None,
                 answer_id: str | None = None) -> None:
        now = time.time()
        with self.db.begin() as db:
            # the row lock keeps two servers adding a turn to one conversation from taking the same seq
            row = db.execute(select(conv_table.c.title).where(conv_table.c.id == cid, self._mine(owner))
                             .with_for_update()).first()
            if row is None:
                raise ConversationNotFound(cid)
            seq = db.execute(select(func.coalesce(func.max(msg_table.c.seq), -1) + 1)
                             .where(msg_table.c.conv_id == cid)).scalar_one()
            db.execute(msg_table.insert(), [
                {"conv_id": cid, "seq": seq, "role": "user", "content": question, "answer": None,
                 "answer_id": None, "created": now},
                {"conv_id": cid, "seq": seq + 1, "role": "assistant", "content": answer.answer,
                 "answer": json.dumps(answer.public(), ensure_ascii=False), "answer_id": answer_id, "created": now}])
            db.execute(conv_table.update().where(conv_table.c.id == cid)
                       .values(updated=now, title=row.title or _title(question)))

    def rename(self, cid: str, title: str, owner: str | None = None) -> None:
        with self.db.begin() as db:
            done = db.execute(conv_table.update().where(conv_table.c.id == cid, self._mine(owner))
                              .values(title=title.strip()))
            if done.rowcount == 0:
                raise ConversationNotFound(cid)

    def delete(self, cid: str, owner: str | None = None) -> None:
        with self.db.begin() as db:
            if db.execute(conv_table.delete().where(conv_table.c.id == cid, self._mine(owner))).rowcount == 0:
                raise ConversationNotFound(cid)

    def export_markdown(self, cid: str, owner: str | None = None) -> str:
        """The conversation as Markdown; each citation a footnote with its document, page and quote."""
        conv = self.get(cid, owner)
        out = [f"# {_inline(conv['title']) or 'Conversation'}", "", f"Collection: `{conv['collection']}`", ""]
        turn = 0
        for m in conv["messages"]:
            if m["role"] == "user":
                turn += 1
                out += [f"**You:** {_inline(m['content'])}", ""]
                continue
            cites = {c["marker"]: c for c in (m.get("answer") or {}).get("citations", [])}
            body = _footnote_markers(html.escape(m["content"], quote=False), turn, set(cites))
            out += [f"**Assistant:** {body}", ""]
            for n, c in sorted(cites.items()):
                page = f", page {c['page']}" if c.get("page") else ""
                out.append(f"[^{turn}-{n}]: *{_inline(c['title'])}* ({_inline(file_name(c['source']))}{page}): "
                           f"“{_inline(c['quote'])}”")
            if cites:
                out.append("")
        return "\n".join(out).rstrip() + "\n"
