"""The in-process model's single worker: the time a request waits for it is reported as `queue_ms`, apart from
the check's and the generation's own time, and nothing but the model waits for it: a second question is
retrieved while the first one's answer is being generated. llama.cpp is replaced by a stand-in whose
generation takes as long as the test says; the worker, its queue and the whole API are the real ones."""

from __future__ import annotations

import ctypes
import threading
import time

import httpx
import pytest

from rag.answer.chain import AnswerChain
from rag.answer.prompting import Prompts, packaged_prompts
from rag.backends.llm import LlamaCppLLM
from rag.components import Components
from rag.config import PROJECT_ROOT, Settings
from rag.web.server import create_app
from tests.answer.test_chain import FixedRetriever, ScriptedLLM
from tests.conftest import SEED_DOC, HashEmbedder


class FakeLlama:
    """What LlamaCppLLM uses of llama_cpp.Llama: a generation that waits for `release` (or `hold_s`), and
    enough of the context for the check to read its logits."""

    def __init__(self, hold_s: float = 0.0) -> None:
        import numpy as np

        self.hold_s = hold_s
        self.release = threading.Event()
        self.generating = threading.Event()
        self.n_tokens = 0
        self.input_ids = np.zeros(16, dtype=np.intc)
        self.ctx = None
        self.logits = (ctypes.c_float * 4)(2.0, 0.0, -9.0, -9.0)  # "yes" e^2 against "no" e^0

    def create_chat_completion(self, messages, max_tokens, temperature, stream):
        self.generating.set()
        if self.hold_s:
            time.sleep(self.hold_s)
        else:
            self.release.wait(30)
        for word in ("Javad ", "Owji ", "[1]."):
            yield {"choices": [{"delta": {"content": word}}]}
        self.n_tokens = 40

    def eval(self, tokens) -> None:
        if self.hold_s:
            time.sleep(self.hold_s)

    def n_vocab(self) -> int:
        return 4

    def tokenize(self, text: bytes, add_bos=False, special=False) -> list[int]:
        return [0] if text.strip().lower() == b"yes" else [1]


def fake_llm(monkeypatch, hold_s: float = 0.0) -> tuple[LlamaCppLLM, FakeLlama]:
    import llama_cpp

    llm = LlamaCppLLM(PROJECT_ROOT / "fake.gguf", n_ctx=4096, n_threads=1)
    llama = FakeLlama(hold_s)
    llm._llama = llama
    monkeypatch.setattr(llm, "_prompt_tokens", lambda _llama, messages: [1, 2, 3])
    monkeypatch.setattr(llama_cpp, "llama_get_logits_ith",
                        lambda ctx, i: ctypes.cast(llama.logits, ctypes.POINTER(ctypes.c_float)))
    return llm, llama


def test_a_generation_reports_its_wait_for_the_worker(monkeypatch) -> None:
    llm, _ = fake_llm(monkeypatch, hold_s=0.4)
    usages: list[dict] = [{}, {}]

    def generate(i: int) -> None:
        "".join(llm.stream_chat([{"role": "user", "content": "q"}], 16, 0.0, usages[i]))

    first = threading.Thread(target=generate, args=(0,))
    first.start()
    time.sleep(0.1)  # the first holds the worker; the second queues behind it
    generate(1)
    first.join()
    assert usages[0]["queue_ms"] < 100
    assert 200 <= usages[1]["queue_ms"] < 1000
    assert usages[1]["completion_tokens"] == 3


def test_a_check_reports_its_wait_per_calling_thread(monkeypatch) -> None:
    llm, llama = fake_llm(monkeypatch)
    blocker = threading.Thread(target=lambda: "".join(llm.stream_chat([{"role": "user", "content": "q"}], 8, 0.0)))
    blocker.start()
    assert llama.generating.wait(5)
    threading.Timer(0.3, llama.release.set).start()
    p = llm.yes_probability([{"role": "user", "content": "q"}])
    blocker.join()
    assert p == pytest.approx(1 / (1 + 2.718281828 ** -2), abs=1e-3)
    assert 200 <= llm.waited_ms() < 1000
    other: list[float] = []
    t = threading.Thread(target=lambda: other.append(llm.waited_ms()))
    t.start()
    t.join()
    assert other == [0.0]  # another thread's checks waited for nothing


class QueuedLLM(ScriptedLLM):
    """A scripted model whose every call first waits for a busy worker, and says so."""

    def __init__(self, *replies: str, check_wait: float, gen_wait: float, **kw) -> None:
        super().__init__(*replies, **kw)
        self.check_wait, self.gen_wait, self.total = check_wait, gen_wait, 0.0

    def waited_ms(self) -> float:
        return self.total

    def yes_probability(self, messages):
        time.sleep(self.check_wait / 1000)
        self.total += self.check_wait
        return super().yes_probability(messages)

    def stream_chat(self, messages, max_tokens, temperature, usage=None):
        time.sleep(self.gen_wait / 1000)
        if usage is not None:
            usage["queue_ms"] = self.gen_wait
        yield from super().stream_chat(messages, max_tokens, temperature, usage)


def test_the_chain_reports_queue_wait_apart_from_check_and_generation() -> None:
    llm = QueuedLLM("Javad Owji welcomed Putin [1].", p_yes=0.9, check_wait=300.0, gen_wait=500.0)
    settings = Settings(_env_file=None, answer={"steps": ["pre_answer_refusal"]})  # a step that reads the check
    chain = AnswerChain(settings, FixedRetriever(), llm, Prompts.load(packaged_prompts()))
    ans = chain.answer("Who welcomed Putin at the airport?")
    t = ans.timings
    assert ans.answerable and t.queue_ms == 800.0
    assert 0 <= t.generate_ms < 250 and 0 <= t.check_ms < 250  # the wait is not counted twice
    assert t.total_ms >= t.queue_ms + t.generate_ms + t.check_ms
    assert "queue_ms" not in ans.usage.model_dump()


def test_a_question_is_retrieved_while_another_is_being_generated(tmp_path, monkeypatch) -> None:
    """Request A holds the model's worker; request B's retrieval still runs and finishes meanwhile, and B then
    reports the rest of A's generation as its queue wait."""
    from tests.e2e.conftest import serve

    llm, llama = fake_llm(monkeypatch)
    comps = Components(
        Settings(
            _env_file=None,
            answer={"check": False},
            retrieval={"min_coverage": 0.0},
            store={"persist_dir": tmp_path / "store", "collection": "overlap"},
        )
    )
    comps.__dict__["embedder"] = HashEmbedder()
    comps.__dict__["llm"] = llm
    comps.ingestor.ingest_paths([SEED_DOC])
    retrieved: dict[str, float] = {}
    inner = comps.retriever

    class Recording:
        def retrieve(self, query, top_k, filters=None):
            out = inner.retrieve(query, top_k, filters)
            retrieved.setdefault(query, time.perf_counter())  # the first retrieval, not an escalation's
            return out

    comps.__dict__["retriever"] = Recording()
    base, server, _ = serve(create_app(comps, with_ui=False))
    results: dict[str, httpx.Response] = {}

    def ask(q: str) -> None:
        results[q] = httpx.post(base + "/v1/answer", json={"question": q}, timeout=60, trust_env=False)

    a, b = "Who welcomed Putin at the airport?", "Where did Raisi host Putin?"
    try:
        ta = threading.Thread(target=ask, args=(a,))
        ta.start()
        assert llama.generating.wait(10), "A reached the model"
        tb = threading.Thread(target=ask, args=(b,))
        tb.start()
        for _ in range(100):  # B is retrieved while A still holds the worker
            if b in retrieved:
                break
            time.sleep(0.05)
        assert b in retrieved and not llama.release.is_set()
        # B's queue wait starts a little after its retrieval is recorded (context assembly), so hold A for
        # 0.6 s and ask for half of it: a 300 ms margin instead of none (CI once saw 299.4 ms).
        time.sleep(0.6)
        released = time.perf_counter()
        llama.release.set()
        ta.join(30)
        tb.join(30)
    finally:
        llama.release.set()
        server.should_exit = True
    assert retrieved[b] < released
    assert results[a].status_code == results[b].status_code == 200
    ta_ms, tb_ms = results[a].json()["timings"], results[b].json()["timings"]
    assert ta_ms["queue_ms"] < 100 <= 300 <= tb_ms["queue_ms"]
    assert tb_ms["retrieve_ms"] < tb_ms["queue_ms"]
