"""Stopping cleanly, in process: an ingest told to stop ends at a batch boundary with its record "writing"
and is finished by the next ingest; a cut-off seeding is finished at the next start; the app's stop hooks
end Gradio's page streams. (`rag serve` itself under SIGTERM: tests/e2e/test_shutdown.py.)"""

from __future__ import annotations

import asyncio

import pytest

from rag.components import Components
from rag.config import overridden
from rag.ingest.chunker import chunk_document
from rag.ingest.loaders import load_file
from rag.ingest.pipeline import IngestInterrupted
from rag.types import DocState
from rag.web.server import create_app
from tests.conftest import SEED_DOC, HashEmbedder


class NoLLM:
    name = "none"
    loaded = True


def _comps(settings, **update) -> Components:
    return Components(overridden(settings, {"embed.batch_size": 4, **update}), embedder=HashEmbedder(),
                      llm=NoLLM())


def test_a_stopped_ingest_ends_between_batches_and_is_finished_next_time(settings) -> None:
    comps = _comps(settings)  # embed_batch_size 4: several embedding calls for one small document
    batches = []

    def progress(done: int, total: int) -> None:
        batches.append(done)
        if len(batches) == 1:
            comps.stopping.set()  # what the server does on SIGTERM

    doc = load_file(SEED_DOC)
    with pytest.raises(IngestInterrupted, match="server is stopping"):
        comps.ingestor.ingest_document(doc, progress)
    assert batches == [4], "the second batch was not started"
    assert comps.store.doc_records()[doc.doc_id].state == DocState.writing
    assert comps.store.ids_for_document(doc.doc_id) == set(), "nothing was half-written"
    assert comps.unfinished_documents() == [doc.source]
    with pytest.raises(IngestInterrupted):
        comps.ingestor.ingest_paths([SEED_DOC])  # still stopping: nothing new starts

    comps.stopping.clear()  # the next process
    report = comps.ingestor.ingest_paths([SEED_DOC])
    expected = {c.id for c in chunk_document(doc, settings.ingest.chunk_size, settings.ingest.chunk_overlap)}
    assert report.embedded == len(expected) and comps.store.ids_for_document(doc.doc_id) == expected
    assert comps.unfinished_documents() == []


def test_a_cut_off_seeding_is_finished_at_the_next_start(settings, tmp_path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "a.txt").write_text("The port of Anzali lies on the Caspian Sea.\n")
    (seeds / "b.txt").write_text(SEED_DOC.read_text(encoding="utf-8"))
    comps = _comps(settings, **{"store.seeds_dir": seeds})
    assert comps.seed_if_empty() is not None
    assert comps.seed_if_empty() is None, "a complete seeding is not redone"
    b = next(d for d, r in comps.store.doc_records().items() if r.source.endswith("b.txt"))
    record = comps.store.doc_records()[b]
    comps.store.put_doc_record(record.model_copy(update={"state": DocState.writing}))
    report = comps.seed_if_empty()
    assert report is not None and report.unchanged == 1 and len(report.documents) == 2
    assert comps.unfinished_documents() == []


def test_the_apps_stop_hooks_stop_ingests_and_end_the_page_streams(settings) -> None:
    from starlette.routing import Mount

    comps = _comps(settings)
    app = create_app(comps, with_ui=True)
    gradio_app = next(r.app for r in app.routes if isinstance(r, Mount) and hasattr(r.app, "stop_event"))

    async def stop() -> tuple[bool, bool]:
        waiter = asyncio.create_task(gradio_app.stop_event.wait())  # an open page's heartbeat waits on this
        for hook in app.state.on_stop:
            hook()
        await asyncio.wait_for(waiter, 1)
        return comps.stopping.is_set(), gradio_app.stop_event.is_set()

    assert asyncio.run(stop()) == (True, True)
