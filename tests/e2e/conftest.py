from __future__ import annotations

import pytest

from rag.components import Components
from rag.settings import Settings
from tests.conftest import SEEDS


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def e2e_settings(tmp_path_factory) -> Settings:
    """The real defaults (MiniLM + Qwen2.5-Coder-1.5B via llama.cpp), on a temporary store."""
    return Settings(_env_file=None, persist_dir=tmp_path_factory.mktemp("e2e") / "store", collection="e2e")


@pytest.fixture(scope="session")
def comps(e2e_settings) -> Components:
    c = Components(e2e_settings)
    report = c.ingestor.ingest_paths([SEEDS])
    assert report.documents and not report.skipped
    return c
