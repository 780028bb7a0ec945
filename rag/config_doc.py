"""The settings reference, docs/settings.md, written from the fields of rag/config.py (their types, defaults and
descriptions), so the two cannot drift apart: `python -m rag.config_doc > docs/settings.md`; a test fails when
the committed page differs. Bottom layer: imports only rag.config."""

from __future__ import annotations

import json
import re
import sys
import types
import typing
from pathlib import Path

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from rag.config import PROJECT_ROOT, Settings, env_name

COMMAND = "python -m rag.config_doc > docs/settings.md"

_HEADER = f"""# Settings

<!-- Generated from rag/config.py by `{COMMAND}`; do not edit by hand. -->

Every setting is an environment variable `RAG_<SECTION>__<FIELD>` (section and field joined by two
underscores), or a line in a `.env` file in the working directory. A setting that holds a list or a table
takes JSON (`RAG_ANSWER__CHECK_MIN_BY_SHAPE='{{"why": 0.45}}'`), and a whole section can be given as JSON
(`RAG_ANSWER='{{"check_min": 0.4}}'`); a misspelt field is an error, not ignored. In Python the sections are
keyword arguments: `Settings(retrieval={{"top_k": 5}}, answer={{"check_min": 0.4}})`. `rag eval --set
answer.check_min=0.3,0.4` measures other values (see [evaluation.md](evaluation.md)). `Components` hands each
part only its own section: the first stage and the rerank get `retrieval`, the answer chain and the citation
checker `answer`.

Where a default was measured, its description links the measurement in
[benchmarks/reports/2026-12-07-settings.md](../benchmarks/reports/2026-12-07-settings.md).
"""

_REPORT_PATH = re.compile(r"(benchmarks/reports/[\w.-]+\.md(?:#[\w-]+)?)")


def _type_name(annotation: object) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        names = [_type_name(a) for a in args if a is not type(None)]
        return " \\| ".join(names) + (" (optional)" if type(None) in args else "")
    if origin is not None:
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in args)}]"
    if isinstance(annotation, type) and issubclass(annotation, Path):
        return "path"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: FieldInfo) -> str:
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if isinstance(value, Path):
        home = Path.home()
        if value.is_relative_to(PROJECT_ROOT):
            text = f"<repo>/{value.relative_to(PROJECT_ROOT).as_posix()}"
        elif value.is_relative_to(home):
            text = f"~/{value.relative_to(home).as_posix()}"
        else:
            text = value.as_posix()
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, dict | list):
        text = json.dumps(value)
    elif value == "":
        return "empty"
    else:
        text = str(value)
    return f"`{text}`"


def _description(field: FieldInfo) -> str:
    text = " ".join((field.description or "").split()).replace("|", "\\|")
    # a report named in a description becomes a link, titled by its heading (or its file name)
    return _REPORT_PATH.sub(lambda m: f"[{m.group(1).rpartition('#')[2] or m.group(1)}](../{m.group(1)})", text)


def _rows(model: type[BaseModel], path: str) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        dotted = f"{path}.{name}"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows.append(f"| `{env_name(dotted)}` | table (JSON), or the variables below | | {_description(field)} |")
            rows.extend(_rows(annotation, dotted))
            continue
        rows.append(f"| `{env_name(dotted)}` | {_type_name(annotation)} | {_default(field)} | {_description(field)} |")
    return rows


def settings_reference() -> str:
    """docs/settings.md: per section of `Settings`, each variable with its type, default and description."""
    parts = [_HEADER]
    for section, field in Settings.model_fields.items():
        model = field.annotation
        assert isinstance(model, type) and issubclass(model, BaseModel)
        parts.append(f"## {section}\n\n{_description(field)} `RAG_{section.upper()}__<FIELD>`.\n\n"
                     "| variable | type | default | description |\n|---|---|---|---|\n"
                     + "\n".join(_rows(model, section)) + "\n")
    return "\n".join(parts)


if __name__ == "__main__":
    sys.stdout.write(settings_reference())
