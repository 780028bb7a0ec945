"""A read-only store folder, seen through the real CLI: one plain error line, exit code 2, nothing lost."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rag.components import Components
from rag.config import Settings
from tests.conftest import ROOT, SEEDS


def test_read_only_store_is_a_clear_error_and_keeps_its_contents(comps, tmp_path) -> None:
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-m", "true"]).returncode != 0:
        pytest.fail("this test needs `unshare -m` (root, util-linux) to mount the store read-only")
    store = tmp_path / "store"
    c = Components(
        Settings(_env_file=None, store={"persist_dir": store, "collection": "readonly"}), embedder=comps.embedder
    )
    count = c.ingestor.ingest_paths([SEEDS]).chunks
    del c
    extra = tmp_path / "extra.txt"
    extra.write_text("Notes on caravanserais along the old Silk Road.")
    rag = str(Path(sys.executable).parent / "rag")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_STORE__PERSIST_DIR=str(store), RAG_STORE__COLLECTION="readonly")
    script = (f"mount --bind {store} {store} && mount -o remount,ro,bind {store} {store} && "
              f"{rag} ingest {extra}")
    res = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=300)
    assert res.returncode == 2, res.stderr
    assert "read-only" in res.stderr and "Traceback" not in res.stderr, res.stderr
    again = Components(Settings(_env_file=None, store={"persist_dir": store, "collection": "readonly"}))
    assert again.store.count() == count
