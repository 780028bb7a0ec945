"""The shared state's tables (SQLAlchemy Core): users and their keys, who may read a collection, conversations,
and every answer with its feedback. The schema is made and changed by the Alembic migrations beside this
module (`rag/state/migrations`), never by `create_all`, so SQLite and PostgreSQL go through the same steps."""

from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

metadata = MetaData()

users = Table(
    "users", metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),  # admin or member
    Column("password_hash", Text, nullable=True),  # Argon2id; NULL: cannot log in with a password
    Column("created", Float, nullable=False),
)

api_keys = Table(
    "api_keys", metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),  # sha256 of the key: keys are long and random
    Column("label", String(200), nullable=False, server_default=""),
    Column("created", Float, nullable=False),
    Column("last_used", Float, nullable=True),
)

collection_access = Table(
    "collection_access", metadata,
    Column("collection", String(512), primary_key=True),
    Column("owner_id", String(32), ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("visibility", String(16), nullable=False),  # private, shared or public
)

collection_grants = Table(
    "collection_grants", metadata,
    Column("collection", String(512), ForeignKey("collection_access.collection", ondelete="CASCADE"),
           primary_key=True),
    Column("user_id", String(32), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)

conversations = Table(
    "conversations", metadata,
    Column("id", String(32), primary_key=True),
    Column("owner_id", String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
    Column("title", Text, nullable=False),
    Column("collection", String(512), nullable=False),
    Column("created", Float, nullable=False),
    Column("updated", Float, nullable=False),
    Index("ix_conversations_owner_updated", "owner_id", "updated"),
)

messages = Table(
    "messages", metadata,
    Column("conv_id", String(32), ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("role", String(16), nullable=False),
    Column("content", Text, nullable=False),
    Column("answer", Text, nullable=True),  # the answer's public JSON
    Column("answer_id", String(32), nullable=True),  # its audit record
    Column("created", Float, nullable=False),
)

# the audit trail: append-only (a trigger refuses UPDATE, see the migration); rows are deleted only by retention or a
# user's erasure
answers = Table(
    "answers", metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", String(32), nullable=True),  # no foreign key: the record outlives nothing but erasure
    Column("user_name", String(64), nullable=True),
    Column("created", Float, nullable=False),
    Column("collection", String(512), nullable=False),
    Column("question", Text, nullable=False),
    Column("query", Text, nullable=False),
    Column("history", Text, nullable=False),  # JSON list of {role, content}
    Column("collection_version", String(64), nullable=False),  # sha256 of the sorted chunk ids read
    Column("retrieved", Text, nullable=False),  # JSON: the passages retrieved, with text, offsets and scores
    Column("context", Text, nullable=False),  # JSON: the passages the model read, likewise
    Column("model", String(200), nullable=False),
    Column("settings_digest", String(64), nullable=False),
    Column("settings", Text, nullable=False),  # JSON of the answer-relevant settings
    Column("answer", Text, nullable=False),
    Column("citations", Text, nullable=False),  # JSON list
    Column("refusal_reason", String(32), nullable=True),
    Column("public", Text, nullable=False),  # the answer's public JSON, as returned
    Index("ix_answers_user_created", "user_id", "created"),
    Index("ix_answers_created", "created"),
)

feedback = Table(
    "feedback", metadata,
    Column("id", String(32), primary_key=True),
    Column("answer_id", String(32), ForeignKey("answers.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(32), nullable=True),
    Column("rating", Integer, nullable=False),  # +1 or -1
    Column("comment", Text, nullable=False, server_default=""),
    Column("correction", Text, nullable=False, server_default=""),
    Column("created", Float, nullable=False),
    UniqueConstraint("answer_id", "user_id", name="uq_feedback_answer_user"),
)
