"""A built wheel answers on its own: `python -m build` makes it, `pip install` puts it in a new virtualenv
outside the checkout, and `rag ingest` + `rag ask` there give a cited answer. This is what catches a file the
package needs but the wheel leaves out (the prompt templates, before they were package data)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

from tests.conftest import ROOT, SEEDS


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_a_wheel_installed_outside_the_checkout_gives_a_cited_answer(tmp_path) -> None:
    # Build from a copy of the tracked sources, so the build leaves nothing in the checkout (build/, *.egg-info).
    src = tmp_path / "src"
    tracked = _run(["git", "ls-files", "pyproject.toml", "README.md", "rag"], cwd=ROOT).split()
    for name in tracked:
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, src / name)
    _run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path / "dist")], cwd=src)
    wheel = next((tmp_path / "dist").glob("rag_chat-*.whl"))

    # A new virtualenv; its dependencies (torch, llama.cpp, the packaged models: gigabytes) are read from this
    # environment's site-packages through a .pth line rather than downloaded again, while `rag` itself comes
    # from the wheel: the new environment's own site-packages is searched first.
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(_run([str(python), "-c", purelib], tmp_path).strip())
    (site / "_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    _run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)], cwd=tmp_path)

    work = tmp_path / "elsewhere"  # no checkout here, nor above it
    work.mkdir()
    shutil.copy(next(SEEDS.glob("*.txt")), work / "some.txt")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env |= {"RAG_STORE__PERSIST_DIR": str(work / "store"), "PYTHONPATH": ""}
    where = _run([str(python), "-c", "import rag; print(rag.__file__)"], cwd=work, env=env)
    assert where.startswith(str(site)), where  # the wheel's copy, not the checkout's
    rag = str(env_dir / "bin" / "rag")
    _run([rag, "ingest", "some.txt"], cwd=work, env=env)
    out = json.loads(_run([rag, "ask", "--json", "Who welcomed Putin at the airport?"], cwd=work, env=env))
    text = (work / "some.txt").read_text(encoding="utf-8")
    assert out["answerable"] is True and out["citations"], out
    assert "Owji" in out["answer"]
    assert all(c["quote"] in text for c in out["citations"])  # cited to the exact passage of the ingested file
