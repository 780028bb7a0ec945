"""The settings: the retrieval and answer sections, their environment names, and dotted overrides."""

from __future__ import annotations

import pydantic
import pytest

from rag.config import Settings, overridden


def test_the_tuned_numbers_keep_the_values_they_had_in_the_modules() -> None:
    """Moving a number into the settings changes nothing: each default is the literal it replaced."""
    r, a = Settings(_env_file=None).retrieval, Settings(_env_file=None).answer
    assert (r.mode, r.rerank, r.top_k, r.min_score, r.min_coverage, r.second_hop) == (
        "hybrid", True, 4, 0.05, 0.11, True)
    assert (r.depth, r.rrf_k) == (20, 5)  # rerank.py and retrieve.py depth=20, retrieve.py RRF_K
    assert r.rerank_weights.model_dump() == {"lexical": 1.0, "rank": 0.6, "dense": 1.0}  # rerank.py
    assert r.context_weights.model_dump() == {"lexical": 1.0, "rank": 0.3, "dense": 1.0}  # context.py
    assert (a.support_min, a.restated_support_min, a.attribute_min, a.miscited_max) == (0.5, 0.3, 0.5, 0.2)
    assert (a.holdback_chars, a.reserved_tokens, a.condense_max_tokens, a.condense_temperature) == (13, 300, 64, 0.0)
    assert (a.context_tokens, a.context_tokens_long, a.check, a.check_min, a.missing_terms_check_max) == (
        150, 250, True, 0.35, 0.55)
    assert (a.verdict_rules, a.verdict_min_overlap, a.verdict_yes_min, a.verdict_substitution_overlap,
            a.history_turns) == (True, 0.3, 0.35, 0.55, 3)


def test_sections_are_read_from_nested_environment_names(monkeypatch) -> None:
    monkeypatch.setenv("RAG_ANSWER__CHECK_MIN", "0.4")
    monkeypatch.setenv("RAG_RETRIEVAL__TOP_K", "5")
    monkeypatch.setenv("RAG_RETRIEVAL__CONTEXT_WEIGHTS__RANK", "0.5")
    s = Settings(_env_file=None)
    assert (s.answer.check_min, s.retrieval.top_k) == (0.4, 5)
    assert s.retrieval.context_weights.model_dump() == {"lexical": 1.0, "rank": 0.5, "dense": 1.0}
    assert s.answer.support_min == 0.5 and s.retrieval.rerank_weights.rank == 0.6  # the rest as they were
    monkeypatch.setenv("RAG_ANSWER__CHEK_MIN", "0.4")
    with pytest.raises(pydantic.ValidationError, match="chek_min"):  # a misspelt field is not silently ignored
        Settings(_env_file=None)


def test_overrides_are_validated_and_leave_the_rest_as_read() -> None:
    base = Settings(_env_file=None, server={"api_token": "t"})
    s = overridden(base, {"answer.check_min": "0.4", "retrieval.mode": "bm25", "retrieval.rerank_weights.dense": 0})
    assert (s.answer.check_min, s.retrieval.mode, s.server.api_token) == (0.4, "bm25", "t")
    assert s.retrieval.rerank_weights.dense == 0
    assert base.answer.check_min == 0.35 and overridden(base, {}) == base
    for bad in ("answer.nope", "nope.check_min", "answer.check_min.x"):
        with pytest.raises(ValueError, match="unknown setting"):
            overridden(base, {bad: 1})
    with pytest.raises(pydantic.ValidationError):
        overridden(base, {"answer.check_min": "1.5"})


def test_every_setting_is_read_from_its_section_variable(monkeypatch, tmp_path) -> None:
    """`RAG_<SECTION>__<FIELD>`, from the environment over the env file; a flat name means nothing."""
    env_file = tmp_path / ".env"
    env_file.write_text("RAG_ANSWER__CHECK_MIN=0.4\nRAG_RETRIEVAL__TOP_K=4\nRAG_STORE__COLLECTION=fromfile\n")
    monkeypatch.setenv("RAG_RETRIEVAL__TOP_K", "5")
    monkeypatch.setenv("RAG_LLM__BACKEND", "scripted")
    monkeypatch.setenv("RAG_SERVER__PORT", "8123")
    monkeypatch.setenv("RAG_CHECK_MIN", "0.9")  # the flat name of an unreleased version: not read
    s = Settings(_env_file=env_file)
    assert (s.answer.check_min, s.retrieval.top_k, s.store.collection) == (0.4, 5, "fromfile")
    assert (s.llm.backend, s.server.port) == ("scripted", 8123)


def test_per_shape_budgets_and_caps_are_bounded(monkeypatch) -> None:
    """A budget under 32 tokens or a cap of 0 sentences (which would refuse every answer) is an error at
    start-up, not a silent change of behaviour."""
    import pydantic

    for name, value in (("RAG_ANSWER__CONTEXT_TOKENS_BY_SHAPE", '{"why": 0}'),
                        ("RAG_ANSWER__MAX_SENTENCES_BY_SHAPE", '{"why": 0}')):
        monkeypatch.setenv(name, value)
        with pytest.raises(pydantic.ValidationError):
            Settings(_env_file=None)
        monkeypatch.delenv(name)
    monkeypatch.setenv("RAG_ANSWER__CONTEXT_TOKENS_BY_SHAPE", '{"why": 300}')
    assert Settings(_env_file=None).answer.context_tokens_by_shape == {"why": 300}
