"""Alembic's entry: migrations run on the connection `rag.state.db.Database` hands over (never from an ini
file), or, for `alembic revision --autogenerate` while developing, on the URL in the config."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from rag.state.tables import metadata

config = context.config


def _run(connection) -> None:  # noqa: ANN001 - a SQLAlchemy Connection
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=connection.dialect.name == "sqlite")  # SQLite alters tables by copying
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = engine_from_config(config.get_section(config.config_ini_section) or {}, prefix="sqlalchemy.",
                                poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)
