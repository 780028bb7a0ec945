"""Token counting with tiktoken's cl100k_base, loaded offline from the copy llama-index-core ships."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def _encoding():
    # tiktoken would download cl100k_base on first use; llama-index-core's wheel carries the file
    # (the same trick its own get_tokenizer uses), so point tiktoken's cache at it.
    import llama_index.core
    import tiktoken

    cache = Path(llama_index.core.__file__).parent / "_static" / "tiktoken_cache"
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(cache))
    return tiktoken.get_encoding("cl100k_base")


def count_tokens(text: str) -> int:
    return len(_encoding().encode(text, disallowed_special=()))
