"""The answers' audit trail and their feedback, in the state database (`rag.state.db`).

The trail is append-only: this store inserts records and never updates one; a record goes only when it is
older than the retention (`state.audit_retention_days`) or when its user's records are erased. Feedback hangs
off its answer (deleted with it), one per answer and user: giving it again replaces it."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from sqlalchemy import delete, select

from rag.state.db import Database
from rag.state.tables import answers as ans_table
from rag.state.tables import feedback as fb_table

JSON_COLUMNS = ("history", "retrieved", "context", "settings", "citations", "public")


class AnswerNotFound(LookupError):
    """No recorded answer with this id, or not one the caller may see."""


def _row(mapping: Any) -> dict[str, Any]:
    out = dict(mapping)
    for key in JSON_COLUMNS:
        if key in out and isinstance(out[key], str):
            out[key] = json.loads(out[key])
    return out


def _same_user(column: Any, user_id: str | None) -> Any:
    return column.is_(None) if user_id is None else column == user_id


class AnswerLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, record: dict[str, Any], retention_days: float = 0.0) -> None:
        """Add one answer's record (the columns of `rag.state.tables.answers`; JSON columns as Python
        values); with a retention, records older than it go in the same transaction (an indexed DELETE)."""
        row = {k: json.dumps(v, ensure_ascii=False) if k in JSON_COLUMNS else v for k, v in record.items()}
        row.setdefault("created", time.time())
        with self.db.begin() as db:
            if retention_days > 0:
                db.execute(delete(ans_table).where(ans_table.c.created < row["created"] - retention_days * 86400))
            db.execute(ans_table.insert().values(**row))

    def purge(self, retention_days: float, now: float | None = None) -> int:
        """Delete the records older than the retention (and their feedback); how many went."""
        if retention_days <= 0:
            return 0
        cutoff = (now or time.time()) - retention_days * 86400
        with self.db.begin() as db:
            return db.execute(delete(ans_table).where(ans_table.c.created < cutoff)).rowcount

    def get(self, answer_id: str, user_id: str | None = None, any_user: bool = False) -> dict[str, Any]:
        """One record; another user's is not found unless `any_user` (an administrator, the CLI)."""
        query = select(ans_table).where(ans_table.c.id == answer_id)
        if not any_user:
            query = query.where(_same_user(ans_table.c.user_id, user_id))
        with self.db.begin() as db:
            row = db.execute(query).first()
        if row is None:
            raise AnswerNotFound(answer_id)
        return _row(row._mapping)

    def erase_user(self, user_id: str | None) -> int:
        """Delete every answer record of this user and every feedback the user gave (on any answer); how many
        answer records went. None is the one user of an instance without accounts."""
        with self.db.begin() as db:
            db.execute(delete(fb_table).where(_same_user(fb_table.c.user_id, user_id)))
            return db.execute(delete(ans_table).where(_same_user(ans_table.c.user_id, user_id))).rowcount

    def user_ids(self, name_or_id: str) -> set[str | None]:
        """The user ids the records know by this id or, failing that, by this name (None: the single user)."""
        with self.db.begin() as db:
            for column in (ans_table.c.user_id, fb_table.c.user_id):
                if db.execute(select(column).where(column == name_or_id).limit(1)).first():
                    return {name_or_id}
            return {r.user_id for r in db.execute(select(ans_table.c.user_id)
                                                  .where(ans_table.c.user_name == name_or_id).distinct())}

    def give_feedback(self, answer_id: str, user_id: str | None, rating: int, comment: str = "",
                      correction: str = "") -> dict[str, Any]:
        """Store a user's thumbs up (+1) or down (-1) on an answer, replacing that user's earlier one."""
        fid, now = uuid.uuid4().hex[:16], time.time()
        with self.db.begin() as db:
            if db.execute(select(ans_table.c.id).where(ans_table.c.id == answer_id)).first() is None:
                raise AnswerNotFound(answer_id)
            db.execute(delete(fb_table).where(fb_table.c.answer_id == answer_id,
                                              _same_user(fb_table.c.user_id, user_id)))
            db.execute(fb_table.insert().values(id=fid, answer_id=answer_id, user_id=user_id, rating=rating,
                                                comment=comment, correction=correction, created=now))
        return {"id": fid, "answer_id": answer_id, "rating": rating, "comment": comment, "correction": correction,
                "created": now}

    def feedback(self, answer_id: str | None = None) -> list[dict[str, Any]]:
        """Feedback with its answer's record (question, answer, citations, model, settings digest), oldest
        first; of one answer when `answer_id` is given."""
        query = (select(fb_table.c.id.label("feedback_id"), fb_table.c.rating, fb_table.c.comment,
                        fb_table.c.correction, fb_table.c.user_id.label("feedback_user_id"),
                        fb_table.c.created.label("feedback_created"), ans_table)
                 .join(ans_table, ans_table.c.id == fb_table.c.answer_id).order_by(fb_table.c.created))
        if answer_id is not None:
            query = query.where(fb_table.c.answer_id == answer_id)
        with self.db.begin() as db:
            return [_row(r._mapping) for r in db.execute(query)]

    def ids(self) -> list[str]:
        """Every recorded answer's id, oldest first."""
        with self.db.begin() as db:
            return [r.id for r in db.execute(select(ans_table.c.id).order_by(ans_table.c.created))]
