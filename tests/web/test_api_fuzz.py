"""Schema fuzzing of the OpenAPI spec: no generated input may cause a 5xx, and every response has a status,
content type and body the schema declares for it. (The live `schemathesis run --checks all` against `rag serve`
is in the README's Tests section; this runs in-process, with every test.)

The store is real (Chroma in a temporary folder); the embedder and LLM are fast stand-ins, because the
target here is the API's input handling, and thousands of real generations would take hours.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from rag.components import Components
from rag.web.server import create_app
from tests.conftest import SEED_DOC, HashEmbedder


class EchoLLM:
    name = "echo"
    loaded = True

    def stream_chat(self, messages, max_tokens, temperature, usage=None):
        yield "Putin's plane landed at Tehran's Mehrabad airport."
        if usage is not None:
            usage.update(prompt_tokens=10, completion_tokens=10)

    def yes_probability(self, messages):
        return None  # cannot tell: the chain answers without the check


CONFORMANCE = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_no_generated_input_causes_a_server_error_or_an_undeclared_response(tmp_path, database_url) -> None:
    """Every operation with SQLite as the state database; on PostgreSQL, the ones that read or write the state
    (what PostgreSQL refuses that SQLite takes, like a NUL in a title, would be a 503)."""
    # Driven through hypothesis directly: schemathesis' pytest plugin does not load under pytest 9.
    from rag.config import Settings

    comps = Components(
        Settings(
            _env_file=None,
            store={"persist_dir": tmp_path / "store", "collection": "fuzz"},
            answer={"max_question_chars": 500},
            state={"database_url": database_url},
        ),
        embedder=HashEmbedder(),
        llm=EchoLLM(),
    )
    comps.ingestor.ingest_paths([SEED_DOC])
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(comps, with_ui=False))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/v1/answer", "/v1/chat/completions", "/v1/documents",
                                              "/v1/documents/{doc_id}", "/v1/models", "/health"}
    if not database_url.startswith("sqlite"):
        operations = [op for op in operations if op.path.startswith(("/v1/conversations", "/v1/answer"))]
    seen: dict[str, set[int]] = {}
    for op in operations:

        @given(case=op.as_strategy())
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def no_server_error(case) -> None:
            response = case.call()
            assert response.status_code < 500, (case.method, case.path, case.body, response.text[:500])
            case.validate_response(response, checks=CONFORMANCE)
            if response.status_code >= 400:
                assert "error" in response.json(), response.text[:500]
            seen.setdefault(f"{case.method.upper()} {case.operation.path}", set()).add(response.status_code)

        no_server_error()
    assert len(seen) == len(operations), seen
