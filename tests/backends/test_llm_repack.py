"""llama.cpp's repacked weight layouts: off by default on AVX-512 builds (prompts read 1.4x faster there), on
elsewhere, and a setting decides when given."""

from __future__ import annotations

import llama_cpp
import llama_cpp.llama_cpp as lib
import pytest

from rag.backends.llm import extra_buffers, repack_weights
from rag.config import Settings


@pytest.mark.parametrize("info, expected", [
    (b"CPU : AVX2 = 1 | AVX512 = 1 | AVX512_VNNI = 1 | REPACK = 1 | ", False),
    (b"CPU : AVX = 1 | AVX2 = 1 | FMA = 1 | REPACK = 1 | ", True),
])
def test_the_build_chooses_when_no_setting_does(monkeypatch, info: bytes, expected: bool) -> None:
    monkeypatch.setattr(llama_cpp, "llama_print_system_info", lambda: info)
    assert repack_weights(None) is expected
    assert repack_weights(not expected) is (not expected)  # a setting wins over the build


def test_the_model_loads_with_the_chosen_layout_and_the_default_comes_back() -> None:
    assert lib.llama_model_default_params().use_extra_bufts is True  # llama.cpp's own default
    with extra_buffers(False):
        assert lib.llama_model_default_params().use_extra_bufts is False
    assert lib.llama_model_default_params().use_extra_bufts is True
    with pytest.raises(RuntimeError), extra_buffers(False):
        raise RuntimeError("the model failed to load")
    assert lib.llama_model_default_params().use_extra_bufts is True


def test_the_setting_is_read_from_the_environment(monkeypatch) -> None:
    assert Settings(_env_file=None).llm.repack is None
    monkeypatch.setenv("RAG_LLM__REPACK", "false")
    assert Settings(_env_file=None).llm.repack is False
