"""The chat page's feedback handlers without a browser: the answer found by the id its rendering names, a thumb
stored at once and the comment and correction replacing it; an answer without a record says so."""

from __future__ import annotations

from rag.backends.fakes import ScriptedLLM
from rag.components import Components
from rag.config import Settings
from rag.services import asking
from rag.types import Answer, final_answer
from rag.web.ui import feedback
from rag.web.ui.render import answer_id, render_answer
from tests.conftest import SEED_DOC, HashEmbedder


def test_a_thumb_then_a_correction_on_a_rendered_answer(tmp_path) -> None:
    comps = Components(Settings(_env_file=None, store={"persist_dir": tmp_path / "store", "collection": "page",
                                                       "seeds_dir": tmp_path / "none"}),
                       embedder=HashEmbedder(), llm=ScriptedLLM())
    comps.ingestor.ingest_paths([SEED_DOC])
    a = final_answer(asking.ask(comps, "Who welcomed Putin at the airport?"))
    shown = render_answer(a, "page")
    assert answer_id(shown) == a.id and answer_id([shown]) == a.id  # as the liked message's parts, too
    row, aid, rating, status = feedback.rate(comps, [shown], False)
    assert row["visible"] and (aid, rating) == (a.id, "down") and "👎 saved" in status
    assert [f["rating"] for f in comps.answers.feedback(a.id)] == [-1]
    row, *_, status = feedback.send(comps, aid, rating, "wrong", "Ebrahim Raisi")
    assert not row["visible"] and "with your correction" in status
    [f] = comps.answers.feedback(a.id)
    assert (f["rating"], f["comment"], f["correction"]) == (-1, "wrong", "Ebrahim Raisi")
    old = render_answer(Answer(question="q", answer="x", answerable=False, model="m"))  # asked before records
    assert "no record" in feedback.rate(comps, old, True)[3]
    assert feedback.rate(comps, "still streaming…", True)[1] == ""
