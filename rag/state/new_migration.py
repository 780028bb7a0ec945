"""Write the next Alembic migration from a change to rag/state/tables.py:

    python -m rag.state.new_migration "add a column to users"

The migrations so far are applied to a scratch SQLite database, and `alembic revision --autogenerate` writes
what the tables have that it lacks to rag/state/migrations/versions/NNNN_<message>.py, numbered after the
last. There is no alembic.ini: the servers run the migrations themselves (rag.state.db.Database.migrate).
Read the file it writes before committing it: autogenerate misses renames and some server defaults."""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from rag.state.db import MIGRATIONS, Database


def pending_changes(url: str) -> list:
    """What rag/state/tables.py has that the database at `url` (migrated to the latest revision) lacks."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from rag.state.tables import metadata

    db = Database(url)
    try:
        db.migrate()
        with db.engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        db.dispose()


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not argv[0].strip():
        print(__doc__, file=sys.stderr)
        return 2
    from alembic import command
    from alembic.config import Config

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/scratch.sqlite3"
        if not pending_changes(url):
            print("rag/state/tables.py and the migrations agree: no migration to write", file=sys.stderr)
            return 1
        numbers = [int(m.group(1)) for p in (MIGRATIONS / "versions").glob("*.py")
                   if (m := re.match(r"(\d+)_", p.name))]
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.set_main_option("sqlalchemy.url", url)
        script = command.revision(cfg, message=argv[0].strip(), autogenerate=True,
                                  rev_id=f"{max(numbers, default=0) + 1:04d}")
    path = Path(script.path) if script and not isinstance(script, list) else None
    print(f"wrote {path}: read it, then run the tests (they migrate SQLite and PostgreSQL)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
