"""No import cycles in `rag/`, between modules or between folders, and no import running up the layers,
counting imports inside functions too: a cycle hidden in a function-level import is still two modules that
cannot be understood, tested or replaced one without the other."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT


def _import_graph() -> dict[str, set[str]]:
    modules: dict[str, Path] = {}
    for path in (ROOT / "rag").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                # `from pkg import submodule` depends on the submodule; `from module import name` on the module
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while (w := stack.pop()) != v:
                component.append(w)
            if component:
                out.append(sorted([v, *component]))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


# The layers, bottom first: a module may import from its own layer's folders and from any layer below it,
# never from one above. Each folder (or top-level module) of rag/ is in exactly one layer.
LAYERS: list[set[str]] = [
    {"rag", "rag.config", "rag.config_doc", "rag.types", "rag.text"},  # settings, the contract, words
    {"rag.logs"},
    {"rag.backends"},  # LLM, embedder, packaged weights, fakes
    {"rag.index"},  # Chroma store, BM25, document windows
    {"rag.ingest", "rag.retrieval"},
    {"rag.answer", "rag.state"},
    {"rag.components"},  # the composition root
    {"rag.services"},  # the use cases the front ends share
    {"rag.eval", "rag.adapters", "rag.web"},  # the front ends
    {"rag.cli", "rag.cli_audit"},
]


def _folder(module: str) -> str:
    """The top-level folder or module of rag/ a module belongs to: rag.answer.rules.verdict -> rag.answer."""
    return ".".join(module.split(".")[:2])


def _layer(module: str) -> int:
    folder = _folder(module)
    found = [i for i, layer in enumerate(LAYERS) if folder in layer]
    assert found, f"{folder} is in no layer of tests/test_imports.py: add it where it belongs"
    return found[0]


def test_no_module_imports_one_that_imports_it_back() -> None:
    graph = _import_graph()
    assert {"rag.retrieval.retrievers", "rag.retrieval.rerank", "rag.web.server", "rag.web.ui.app"} <= graph.keys()
    assert "rag.retrieval.retrievers" in graph["rag.retrieval.rerank"]  # the walk sees imports
    assert "rag.web.ui" in graph["rag.web.server"]
    assert _cycles(graph) == []


def test_no_folder_imports_one_that_imports_it_back() -> None:
    folders: dict[str, set[str]] = {}
    for module, targets in _import_graph().items():
        folders.setdefault(_folder(module), set()).update(_folder(t) for t in targets if _folder(t) != _folder(module))
    for targets in list(folders.values()):
        for t in targets:
            folders.setdefault(t, set())
    assert "rag.index" in folders["rag.ingest"]  # the walk sees folder imports
    assert _cycles(folders) == []


def test_no_import_runs_up_the_layers() -> None:
    graph = _import_graph()
    upward = sorted(f"{module} (layer {_layer(module)}) imports {target} (layer {_layer(target)})"
                    for module, targets in graph.items() for target in targets if _layer(target) > _layer(module))
    assert upward == []
