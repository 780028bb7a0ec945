"""benchmarks.same_answers, the word-for-word check of a refactor: equal runs pass, any changed answer,
citation or missing row fails, and only the source-path hash of a document id is forgiven."""

from __future__ import annotations

import json

from benchmarks.same_answers import main


def _run(path, rows) -> str:
    path.write_text(json.dumps({"rows": rows}), encoding="utf-8")
    return str(path)


def _row(answer: str, doc_id: str = "seed-article-0123abcd") -> dict:
    return {"id": "q1", "question": "Who?", "answer": answer, "answerable": True, "shape": "factoid",
            "short_answer": answer, "refusal_reason": None, "query": "Who?",
            "citations": [{"marker": 1, "doc_id": doc_id, "start": 3, "end": 9, "quote": "Owji", "score": 1.0}]}


def test_the_same_answers_pass_and_a_changed_word_fails(tmp_path, capsys) -> None:
    before = _run(tmp_path / "a.json", [_row("Javad Owji [1]")])
    assert main([before, _run(tmp_path / "b.json", [_row("Javad Owji [1]", "seed-article-99999999")])]) == 0
    assert main([before, _run(tmp_path / "c.json", [_row("Owji [1]")])]) == 1
    assert "answer 'Javad Owji [1]' -> 'Owji [1]'" in capsys.readouterr().out
    assert main([before, _run(tmp_path / "d.json", [])]) == 1  # a lost row is a difference
    moved = _row("Javad Owji [1]")
    moved["citations"][0]["start"] = 4
    assert main([before, _run(tmp_path / "e.json", [moved])]) == 1
    other_doc = _run(tmp_path / "f.json", [_row("Javad Owji [1]", "seed-article-99999999")])
    assert main(["--same-folder", before, other_doc]) == 1
