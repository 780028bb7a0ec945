"""`rag eval --set answer.check_min=0.3,0.35,0.4`: one evaluation per value of a policy setting.

Several `--set` options make a grid (every combination of their values). Only the policy sections can be
swept, `retrieval` and `answer`: the documents are ingested once, so a setting read at ingest (chunk size)
would change nothing, and the models are loaded once. Every value is checked against the settings before
the first question is asked, so a typo fails at once, not after the first run.
"""

from __future__ import annotations

from itertools import product

from pydantic import ValidationError

from rag.config import Settings, overridden

SECTIONS = ("retrieval", "answer")
Point = dict[str, str]  # dotted setting -> the value as written ("answer.check_min" -> "0.3")


def parse_set(option: str) -> tuple[str, list[str]]:
    """"answer.check_min=0.3,0.35" -> ("answer.check_min", ["0.3", "0.35"])."""
    path, sep, values = option.partition("=")
    path = path.strip()
    if not sep or not path:
        raise ValueError(f"--set {option!r}: write SECTION.NAME=VALUE[,VALUE...], e.g. answer.check_min=0.3,0.4")
    if path.split(".")[0] not in SECTIONS or "." not in path:
        raise ValueError(f"--set {option!r}: only the {' and '.join(SECTIONS)} settings can be swept "
                         f"(e.g. answer.check_min, retrieval.rrf_k)")
    parts = [v.strip() for v in top_level_split(values)]
    if not all(parts):
        raise ValueError(f"--set {option!r}: an empty value")
    return path, list(dict.fromkeys(parts))


def top_level_split(values: str) -> list[str]:
    """Split on the commas outside brackets: a JSON table is one value ('{"list":0.45,"why":0.45},{}' is two)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(values):
        if ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(values[start:i])
            start = i + 1
    return [*parts, values[start:]]


def grid(options: list[str], settings: Settings) -> list[Point]:
    """One point per combination of the options' values, each already checked against `settings`."""
    axes = [parse_set(o) for o in options]
    paths = [path for path, _ in axes]
    if len(set(paths)) < len(paths):
        raise ValueError(f"--set names a setting twice: {', '.join(sorted({p for p in paths if paths.count(p) > 1}))}")
    for path, values in axes:
        for value in values:
            try:
                overridden(settings, {path: value})
            except ValidationError as exc:
                raise ValueError(f"--set {path}={value}: {exc.errors()[0]['msg']}") from exc
            except ValueError as exc:
                raise ValueError(f"--set {path}: {exc}") from exc
    return [dict(zip(paths, combo, strict=True)) for combo in product(*(values for _, values in axes))]


def point_name(point: Point) -> str:
    return ", ".join(f"{path}={value}" for path, value in point.items())


def variants(points: list[Point], modes: list[str] | None) -> list[tuple[str, Point, Point]]:
    """(run name, the values swept, every override of the run) for each point and retrieval mode: "ours" alone,
    "ours (dense)" for one of several modes, the values set for a sweep ("answer.check_min=0.3 (dense)").
    A mode from `--mode` wins over a retrieval.mode the point sets."""
    out = []
    for point in points:
        for mode in modes or [None]:
            named = mode if modes and len(modes) > 1 else None
            label = point_name(point) if point else "ours"
            overrides = point | ({"retrieval.mode": mode} if mode else {})
            out.append((f"{label} ({named})" if named else label, point, overrides))
    return out
