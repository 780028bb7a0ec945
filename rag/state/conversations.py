"""Conversations kept in SQLite under the persist folder, so a chat survives a reload or a restart: each turn
keeps the question, the answer's text and its public object (citations with document, page and quote)."""

from __future__ import annotations

import html
import json
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from rag.index.documents import file_name
from rag.types import Answer

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, collection TEXT NOT NULL, created REAL NOT NULL,
    updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    conv_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE, seq INTEGER NOT NULL,
    role TEXT NOT NULL, content TEXT NOT NULL, answer TEXT, created REAL NOT NULL, PRIMARY KEY (conv_id, seq));
"""


class ConversationNotFound(LookupError):
    pass


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
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()  # one writer at a time inside this process; SQLite guards the rest
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=10)) as db:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA foreign_keys = ON")
            with db:  # one transaction
                yield db

    def create(self, collection: str, title: str = "") -> str:
        cid, now = uuid.uuid4().hex[:16], time.time()
        with self._lock, self._db() as db:
            db.execute("INSERT INTO conversations VALUES (?, ?, ?, ?, ?)", (cid, title, collection, now, now))
        return cid

    def list(self) -> list[dict[str, Any]]:
        with self._db() as db:
            rows = db.execute("SELECT c.*, (SELECT COUNT(*) FROM messages m WHERE m.conv_id = c.id) AS messages "
                              "FROM conversations c ORDER BY updated DESC").fetchall()
        return [dict(r) for r in rows]

    def get(self, cid: str) -> dict[str, Any]:
        with self._db() as db:
            row = db.execute("SELECT * FROM conversations WHERE id = ?", (cid,)).fetchone()
            if row is None:
                raise ConversationNotFound(cid)
            msgs = db.execute("SELECT role, content, answer FROM messages WHERE conv_id = ? ORDER BY seq",
                              (cid,)).fetchall()
        return dict(row) | {"messages": [
            {"role": m["role"], "content": m["content"]} | ({"answer": json.loads(m["answer"])} if m["answer"] else {})
            for m in msgs]}

    def history(self, cid: str) -> list[dict[str, str]]:
        """The turns as the chain takes them, to answer a follow-up in a reopened conversation."""
        return [{"role": m["role"], "content": m["content"]} for m in self.get(cid)["messages"]]

    def add_turn(self, cid: str, question: str, answer: Answer) -> None:
        now = time.time()
        with self._lock, self._db() as db:
            row = db.execute("SELECT title FROM conversations WHERE id = ?", (cid,)).fetchone()
            if row is None:
                raise ConversationNotFound(cid)
            seq = db.execute("SELECT COALESCE(MAX(seq), -1) + 1 FROM messages WHERE conv_id = ?", (cid,)).fetchone()[0]
            db.execute("INSERT INTO messages VALUES (?, ?, 'user', ?, NULL, ?)", (cid, seq, question, now))
            db.execute("INSERT INTO messages VALUES (?, ?, 'assistant', ?, ?, ?)",
                       (cid, seq + 1, answer.answer, json.dumps(answer.public(), ensure_ascii=False), now))
            title = row["title"] or _title(question)
            db.execute("UPDATE conversations SET updated = ?, title = ? WHERE id = ?", (now, title, cid))

    def rename(self, cid: str, title: str) -> None:
        with self._lock, self._db() as db:
            if db.execute("UPDATE conversations SET title = ? WHERE id = ?", (title.strip(), cid)).rowcount == 0:
                raise ConversationNotFound(cid)

    def delete(self, cid: str) -> None:
        with self._lock, self._db() as db:
            if db.execute("DELETE FROM conversations WHERE id = ?", (cid,)).rowcount == 0:
                raise ConversationNotFound(cid)

    def export_markdown(self, cid: str) -> str:
        """The conversation as Markdown; each citation a footnote with its document, page and quote."""
        conv = self.get(cid)
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
