"""Whether two `rag eval` runs gave the same answers, word for word: the check that a refactor changed no
behaviour. Rows are matched by gold id; for each, the answer text, whether it was answered, the shape, the
short answer, the refusal reason, the rewritten query and every citation (marker, document, offsets, quote)
must be equal. Timings are not compared. A document id ends in a hash of its source's absolute path
(rag/ingest/loaders.py), so two runs that read the documents from two checkouts differ there alone: that
hash is left out unless --same-folder says both runs read one folder.

    python -m benchmarks.same_answers before.json after.json [more-before.json more-after.json ...]

Exits 1 and lists the differing rows when any answer differs or a row is missing on either side."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

FIELDS = ("answer", "answerable", "shape", "short_answer", "refusal_reason", "query")
CITATION_FIELDS = ("marker", "doc_id", "start", "end", "quote")
_PATH_HASH = re.compile(r"-[0-9a-f]{8}$")


def _rows(path: Path) -> dict[str, dict[str, Any]]:
    rows = json.loads(path.read_text(encoding="utf-8"))["rows"]
    keyed = {f"{row['id']} ({row['question']})": row for row in rows}
    if len(keyed) != len(rows):
        raise SystemExit(f"{path}: two rows share an id and question; cannot match rows")
    return keyed


def _view(row: dict[str, Any], same_folder: bool) -> dict[str, Any]:
    out = {name: row.get(name) for name in FIELDS}
    out["citations"] = [{k: c.get(k) for k in CITATION_FIELDS} for c in row.get("citations") or []]
    if not same_folder:
        for c in out["citations"]:
            c["doc_id"] = _PATH_HASH.sub("", c["doc_id"] or "")
    return out


def differences(before: Path, after: Path, same_folder: bool = False) -> tuple[int, list[str]]:
    """(rows compared, a line per row that differs or is missing on one side)."""
    old, new = _rows(before), _rows(after)
    lines = [f"{key}: only in {before}" for key in old.keys() - new.keys()]
    lines += [f"{key}: only in {after}" for key in new.keys() - old.keys()]
    for key in sorted(old.keys() & new.keys()):
        a, b = _view(old[key], same_folder), _view(new[key], same_folder)
        for name in a:
            if a[name] != b[name]:
                lines.append(f"{key}: {name} {a[name]!r} -> {b[name]!r}")
    return len(old.keys() & new.keys()), lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", type=Path, nargs="+", help="pairs of eval JSON files: before after [before after ...]")
    ap.add_argument("--same-folder", action="store_true", help="both runs read the documents from one folder: "
                    "compare document ids whole")
    args = ap.parse_args(argv)
    if len(args.runs) % 2:
        ap.error("give the runs in pairs: before after")
    total, diffs = 0, []
    for before, after in zip(args.runs[::2], args.runs[1::2], strict=True):
        n, lines = differences(before, after, args.same_folder)
        total += n
        diffs += lines
        print(f"{before.name} -> {after.name}: {n} answers compared, {len(lines)} differences")
    for line in diffs:
        print(" ", line)
    print(f"{total} answers compared: {'all the same, word for word' if not diffs else f'{len(diffs)} differ'}")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
