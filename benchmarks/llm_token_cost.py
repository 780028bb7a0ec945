"""What the local model costs per token on this machine: reading a prompt (after a cached prefix, as an answer
reads its passages after the system prompt) and writing, for a few llama.cpp settings.

    python -m benchmarks.llm_token_cost
"""

from __future__ import annotations

import os
import time

from rag.components import offline_environment

# "repack": llama.cpp's repacked weight layouts (use_extra_bufts), which `rag` turns off on AVX-512 builds
CONFIGS = [{"flash_attn": True, "repack": True}, {"flash_attn": True, "repack": False},
           {"flash_attn": False, "repack": False}, {"flash_attn": True, "n_batch": 64, "n_ubatch": 64, "repack": False}]


def main() -> None:
    offline_environment()
    from llama_cpp import Llama

    from benchmarks.common import table, write
    from rag.backends.llm import extra_buffers, repack_weights
    from rag.backends.weights import ensure_model
    from rag.config import PROJECT_ROOT, Settings

    settings = Settings()
    path = ensure_model(settings.llm.preset, settings.llm.cache_dir)
    text = next((PROJECT_ROOT / "seeds").glob("*.txt")).read_text(encoding="utf-8")
    rows, data = [], []
    for cfg in CONFIGS:
        params = {k: v for k, v in cfg.items() if k != "repack"}
        with extra_buffers(cfg["repack"]):
            llm = Llama(
                model_path=str(path),
                **(
                    {
                        "n_ctx": 2048,
                        "verbose": False,
                        "seed": 0,
                        "n_batch": 512,
                        "n_threads": settings.llm.n_threads or os.cpu_count() or 2,
                    }
                    | params
                ),
            )
        toks = llm.tokenize(text.encode())[:700]
        llm.eval(toks[:500])  # the cached prefix
        read, write_ms = [], []
        for _ in range(3):
            llm.n_tokens = 500
            t = time.perf_counter()
            llm.eval(toks[500:700])
            read.append((time.perf_counter() - t) * 1000 / 200)
            t = time.perf_counter()
            for tok in toks[600:608]:
                llm.eval([tok])
            write_ms.append((time.perf_counter() - t) * 1000 / 8)
        read_ms, one_ms = sorted(read)[1], sorted(write_ms)[1]
        rows.append([str(cfg), f"{read_ms:.1f}", f"{one_ms:.1f}"])
        data.append({"config": cfg, "read_ms_per_token": round(read_ms, 2), "write_ms_per_token": round(one_ms, 2)})
        del llm
    write("llm_token_cost", {"model": path.name, "runs": data},
          f"Model {path.name}; `rag` default here: repack {repack_weights(settings.llm.repack)}.\n\n"
          "Median of 3 runs, 200 prompt tokens after a 500-token cached prefix, 8 tokens "
          "written one at a time, threads as `rag` uses them.\n\n"
          + table(["llama.cpp settings", "read ms/token", "write ms/token"], rows))


if __name__ == "__main__":
    main()
