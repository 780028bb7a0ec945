"""docs/settings.md is generated from the fields of rag/config.py; it must say what the code says."""

from __future__ import annotations

from pathlib import Path

from rag.config_doc import COMMAND, settings_reference
from tests.conftest import ROOT


def test_docs_settings_md_is_the_generated_reference() -> None:
    committed = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert committed == settings_reference(), (
        f"docs/settings.md differs from the settings in rag/config.py; regenerate it with `{COMMAND}`")


def test_every_variable_is_listed_once() -> None:
    text = settings_reference()
    for variable in ("RAG_STORE__PERSIST_DIR", "RAG_ANSWER__CHECK_MIN", "RAG_RETRIEVAL__RERANK_WEIGHTS__RANK",
                     "RAG_LOG__FORMAT", "RAG_SERVER__API_TOKEN"):
        assert text.count(f"| `{variable}` |") == 1, variable
    assert str(ROOT) not in text and str(Path.home()) not in text  # no machine's paths in the page
