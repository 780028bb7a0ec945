"""Token counting with tiktoken's cl100k_base, loaded offline from the copy llama-index-core ships."""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path


def llama_index_static() -> Path:
    """llama-index-core's `_static` folder (tiktoken and nltk data), found without importing the package:
    importing llama_index.core takes about a second."""
    spec = importlib.util.find_spec("llama_index.core")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("llama-index-core is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "_static"


@lru_cache(maxsize=1)
def _encoding():
    # tiktoken would download cl100k_base on first use; llama-index-core's wheel carries the file (the same
    # trick its own get_tokenizer uses), and rag.components.offline_environment() points tiktoken's cache at
    # it (TIKTOKEN_CACHE_DIR), as the entry points start.
    import tiktoken

    return tiktoken.get_encoding("cl100k_base")


def count_tokens(text: str) -> int:
    return len(_encoding().encode(text, disallowed_special=()))


def last_tokens(text: str, n: int) -> str:
    """The end of `text`, `n` tokens long: what is kept of a message cut to a budget."""
    ids = _encoding().encode(text, disallowed_special=())
    return _encoding().decode(ids[-n:]) if n > 0 else ""
