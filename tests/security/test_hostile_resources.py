"""Issue #32, item 4's done-when: each hostile file is refused (or, for a page image, rendered smaller) within
its limit, at the default settings: under 300 MB of memory above an idle reader and under 10 s of CPU. Each
runs in a child process, measured by its rusage (peak RSS, user + system CPU), beside a child that reads an
ordinary file of the same format for the idle baseline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.security.test_hostile_files import docx_with, paragraphs, spanned_table, tall_pdf, xlsx_claiming

ROOT = Path(__file__).resolve().parents[2]
MB = 1024  # ru_maxrss is in KiB on Linux

CHILD = """
import sys
from pathlib import Path
from rag.ingest.limits import OverLimit
from rag.ingest.loaders import load_bytes
from rag.ingest.pages import render_pdf_page
path, mode = Path(sys.argv[1]), sys.argv[2]
if mode == "render":
    render_pdf_page(path, 1, 2000, max_pixels=10_000_000)
    print("RENDERED")
else:
    try:
        load_bytes(path.read_bytes(), path.name, source=path.name)
        print("READ")
    except OverLimit as exc:
        print("REFUSED", exc)
"""


def _measure(path: Path, mode: str = "load") -> tuple[str, float, float]:
    """(what the child printed, its peak RSS in MB, its CPU seconds)."""
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path), mode], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    stdout = proc.stdout.read().decode()  # type: ignore[union-attr]
    stderr = proc.stderr.read().decode()  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0, stderr[-2000:]
    return stdout.strip(), usage.ru_maxrss / MB, usage.ru_utime + usage.ru_stime


HOSTILE = {
    "bomb.docx": lambda: docx_with("<w:p/>" * 1_000_000, chunks=50),  # 300 MB of XML in a few hundred KB
    "ratio.docx": lambda: docx_with("<w:p/>" * 1_000_000, chunks=10),  # 60 MB, a thousand times its size
    "elements.docx": lambda: docx_with(paragraphs(200_000)),  # 600,000 elements, incompressible-ish
    "span.docx": lambda: docx_with(spanned_table(1_000_000_000)),  # one cell claiming a billion columns
    "wide.xlsx": lambda: xlsx_claiming("A1:XFD1048576", wide_rows=100),  # 1.6 million cells, claims 17 billion
}
NORMAL = {".docx": lambda: docx_with(paragraphs(200)), ".xlsx": lambda: xlsx_claiming("A1:A2")}


def test_hostile_files_are_refused_within_their_limits(tmp_path) -> None:
    idle = {}
    for suffix, make in NORMAL.items():
        path = tmp_path / f"normal{suffix}"
        path.write_bytes(make())
        said, rss, cpu = _measure(path)
        assert said == "READ", said
        idle[suffix] = (rss, cpu)
    report = []
    for name, make in HOSTILE.items():
        path = tmp_path / name
        path.write_bytes(make())
        said, rss, cpu = _measure(path)
        base_rss, base_cpu = idle[path.suffix]
        report.append(f"{name}: {path.stat().st_size / 1000:.0f} KB, peak {rss:.0f} MB (idle {base_rss:.0f}), "
                      f"CPU {cpu:.2f} s (idle {base_cpu:.2f}): {said}")
        assert said.startswith("REFUSED") and "RAG_INGEST__" in said, report[-1]
        assert rss - base_rss < 300 and cpu - base_cpu < 10, report[-1]
    pdf = tmp_path / "tall.pdf"
    pdf.write_bytes(tall_pdf())
    said, rss, cpu = _measure(pdf, "render")
    base_rss, base_cpu = idle[".docx"]
    report.append(f"tall.pdf at width 2000: {pdf.stat().st_size} bytes, peak {rss:.0f} MB (idle {base_rss:.0f}), "
                  f"CPU {cpu:.2f} s (idle {base_cpu:.2f}): {said}")
    assert said == "RENDERED" and rss - base_rss < 300 and cpu - base_cpu < 10, report[-1]
    print("\n" + "\n".join(report))

