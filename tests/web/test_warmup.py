"""Ready means ready: the server warms the models in the background, /health says "warming" until that is done,
and a question asked meanwhile waits for that one warm-up instead of running a second. The model is a scripted
stand-in whose warm-up blocks until the test lets it go."""

from __future__ import annotations

import threading
import time

from fastapi.testclient import TestClient

from rag.backends.fakes import ScriptedLLM
from rag.components import Components, prefix_prompts
from rag.config import Settings
from rag.services import asking
from rag.types import final_answer
from rag.web.server import create_app
from rag.web.ui.chat import WARMING, respond
from tests.conftest import SEED_DOC, HashEmbedder


class BlockingWarmLLM(ScriptedLLM):
    """A scripted model whose `warm` waits for `release`, counting its calls and the prompts it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.entered = threading.Event()
        self.warmed = 0
        self.prompts: list = []
        self.loaded = False

    def warm(self, prompts: list) -> dict:
        self.warmed += 1
        self.prompts = prompts
        self.entered.set()
        assert self.release.wait(30), "the test never released the warm-up"
        self.loaded = True
        return {"load_ms": 1.0, "prefix": "evaluated", "prefix_tokens": 3}


def _components(tmp_path) -> tuple[Components, BlockingWarmLLM]:
    llm = BlockingWarmLLM()
    comps = Components(Settings(_env_file=None, retrieval={"min_coverage": 0.0},
                                store={"persist_dir": tmp_path / "store", "collection": "warm"}),
                       embedder=HashEmbedder(), llm=llm)
    comps.ingestor.ingest_paths([SEED_DOC])
    return comps, llm


def test_health_says_warming_then_ok_and_a_question_waits_for_the_one_warm_up(tmp_path) -> None:
    comps, llm = _components(tmp_path)
    client = TestClient(create_app(comps, with_ui=False))
    try:
        assert llm.entered.wait(10), "the server started the warm-up"
        health = client.get("/health").json()
        assert health["status"] == "warming" and health["warm"] is False and health["store"] is True

        answered: list[float] = []

        def ask() -> None:
            final_answer(asking.ask(comps, "Who welcomed Putin at the airport?"))
            answered.append(time.perf_counter())

        asker = threading.Thread(target=ask)
        asker.start()
        time.sleep(0.3)
        assert not answered, "the question waits for the warm-up"
        assert client.get("/health").json()["status"] == "warming"
        released = time.perf_counter()
        llm.release.set()
        asker.join(30)
        assert answered and answered[0] >= released
    finally:
        llm.release.set()
    comps.warmup.wait(10)
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["warm"] is True and health["model_loaded"] is True
    assert llm.warmed == 1, "one warm-up, never a second"
    # a second app (or a second start) over the same parts does not warm again
    create_app(comps, with_ui=False)
    assert comps.warmup.start() is comps.warmup and llm.warmed == 1
    assert comps.collection("other", create=True).warmup is comps.warmup


def test_the_warm_up_prefix_is_the_start_every_answer_prompt_shares(tmp_path) -> None:
    comps, _ = _components(tmp_path)
    first, second = prefix_prompts(comps.prompts)
    assert first[0] == second[0] and first[0]["role"] == "system"  # the system prompt, and
    assert first[1]["content"] != second[1]["content"]  # the user turns part at the first passage
    shared = next(i for i, (a, b) in enumerate(zip(first[1]["content"], second[1]["content"], strict=False)) if a != b)
    assert first[1]["content"][:shared].startswith("Passages:")


def test_the_chat_page_says_warming_up_rather_than_waiting_silently(tmp_path) -> None:
    comps, llm = _components(tmp_path)
    comps.warmup.start()
    try:
        assert llm.entered.wait(10)
        replies = respond(comps, "Who welcomed Putin at the airport?", [], [], comps.name, "")
        chat = next(replies)[0]
        assert chat[-1] == {"role": "assistant", "content": WARMING}
        llm.release.set()
        last = list(replies)[-1][0]
        assert "Owji" in last[-1]["content"]
    finally:
        llm.release.set()


def test_nothing_waits_on_a_warm_up_never_started(tmp_path) -> None:
    comps, llm = _components(tmp_path)
    answer = final_answer(asking.ask(comps, "Who welcomed Putin at the airport?"))
    assert answer.answerable and llm.warmed == 0 and not comps.warmup.warming
