"""The paragraph-corpus benchmark helper: one document per paragraph, each led by its article's title."""

from __future__ import annotations

from pathlib import Path

from benchmarks.paragraph_corpus import split_articles


def test_each_paragraph_becomes_a_document_led_by_its_title(tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    (src / "Nikola_Tesla.txt").write_text("Nikola Tesla\n\nTesla was born in 1856.\n\n \nHe died in 1943.\n",
                                          encoding="utf-8")
    assert split_articles(src, out) == 2
    assert (out / "Nikola_Tesla__p000.txt").read_text(encoding="utf-8") == "Nikola Tesla\n\nTesla was born in 1856.\n"
    assert (out / "Nikola_Tesla__p001.txt").read_text(encoding="utf-8") == "Nikola Tesla\n\nHe died in 1943.\n"
