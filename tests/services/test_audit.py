"""The audit trail and feedback, on SQLite and PostgreSQL: every answer asked through the service is recorded
with what decided it; a record that cannot be written costs a warning, not the answer; retention and a user's
erasure delete records; feedback becomes gold items; a replay from the recorded passages is the same answer."""

from __future__ import annotations

import time

import pytest

from rag.backends.fakes import ScriptedLLM
from rag.components import Components
from rag.config import Settings
from rag.eval.gold import GoldItem
from rag.services import asking, audit, feedback
from rag.state.answers import AnswerNotFound
from rag.state.errors import StateError
from rag.types import Caller, Final, final_answer
from tests.conftest import SEED_DOC, HashEmbedder

QUESTION = "Who welcomed Putin at the airport?"
ALICE = Caller(id="u-alice", name="alice", role="member")
BOB = Caller(id="u-bob", name="bob", role="member")


def _comps(tmp_path, database_url: str, llm=None, **state) -> Components:
    comps = Components(Settings(_env_file=None, store={"persist_dir": tmp_path / "store", "collection": "audit",
                                                       "seeds_dir": tmp_path / "none"},
                                state={"database_url": database_url, **state}),
                       embedder=HashEmbedder(), llm=llm or ScriptedLLM())
    comps.ingestor.ingest_paths([SEED_DOC])
    return comps


@pytest.fixture
def comps(tmp_path, database_url) -> Components:
    c = _comps(tmp_path, database_url)
    yield c
    c.database.dispose()


def _ask(comps: Components, question: str = QUESTION, caller: Caller = ALICE, **kw):
    return final_answer(asking.ask(comps, question, caller=caller, **kw))


def test_every_answer_is_recorded_with_what_decided_it(comps) -> None:
    a = _ask(comps, history=[{"role": "user", "content": "Tell me about the visit"},
                             {"role": "assistant", "content": "Putin visited Tehran."}])
    r = comps.answers.get(a.id, ALICE.id)
    assert (r["user_id"], r["user_name"], r["collection"]) == ("u-alice", "alice", "audit")
    assert abs(r["created"] - time.time()) < 60
    assert r["question"] == QUESTION and r["query"] == a.query and len(r["history"]) == 2
    assert [p["chunk"]["id"] for p in r["retrieved"]] == [p.chunk.id for p in a.retrieved]
    assert [p["chunk"]["text"] for p in r["context"]] == [p.chunk.text for p in a.context]
    assert r["collection_version"] == audit.collection_version(a.context) and len(r["collection_version"]) == 64
    assert r["model"] == "scripted" and r["settings_digest"] == audit.digest(audit.answer_settings(comps.settings))
    assert r["settings"]["retrieval"]["top_k"] == comps.settings.retrieval.top_k
    assert "openai_api_key" not in r["settings"]["llm"]
    assert r["answer"] == a.answer and r["citations"][0]["quote"] == a.citations[0].quote
    assert r["refusal_reason"] is None and r["public"] == a.public()
    refused = _ask(comps, "What is the capital of Peru?")
    assert comps.answers.get(refused.id, ALICE.id)["refusal_reason"] == refused.refusal_reason is not None


def test_the_digest_changes_with_a_setting_that_changes_answers_and_not_with_a_secret(comps) -> None:
    base = audit.digest(audit.answer_settings(comps.settings))
    other = comps.with_settings({"answer.check_min": 0.5}).settings
    secret = comps.with_settings({"llm.openai_api_key": "sk-secret"}).settings
    assert audit.digest(audit.answer_settings(other)) != base
    assert audit.digest(audit.answer_settings(secret)) == base


def test_a_record_that_cannot_be_written_costs_a_warning_not_the_answer(comps, monkeypatch, caplog) -> None:
    def fail(*_a, **_k):
        raise StateError("the state database failed: OperationalError")

    monkeypatch.setattr(comps.answers, "record", fail)
    final = [e for e in asking.ask(comps, QUESTION) if isinstance(e, Final)][0]
    assert final.answer.answerable and "not recorded in the audit trail" in final.warnings[0]
    assert any("not recorded" in r.getMessage() for r in caplog.records if r.name == "rag.audit")


def test_retention_deletes_old_records_when_an_answer_is_recorded(tmp_path, database_url) -> None:
    comps = _comps(tmp_path, database_url, audit_retention_days=1)
    old = comps.chain.answer(QUESTION)  # asked two days ago
    comps.answers.record(audit.record_of(old, ALICE, "audit", comps.settings, [], {})
                         | {"created": time.time() - 2 * 86400})
    comps.answers.give_feedback(old.id, ALICE.id, 1)
    new = _ask(comps)
    assert comps.answers.ids() == [new.id] and comps.answers.feedback() == []
    assert comps.answers.purge(1, now=time.time() + 2 * 86400) == 1 and comps.answers.ids() == []
    comps.database.dispose()


def test_the_trail_is_append_only_in_the_database_itself(comps) -> None:
    from sqlalchemy.exc import DBAPIError

    from rag.state.tables import answers

    a = _ask(comps)
    with pytest.raises(DBAPIError, match="append-only"), comps.database.engine.begin() as db:
        db.execute(answers.update().where(answers.c.id == a.id).values(answer="Someone else [1]."))
    assert comps.answers.get(a.id, ALICE.id)["answer"] == a.answer


def test_erasing_a_user_removes_their_records_and_feedback_only(comps) -> None:
    mine, theirs = _ask(comps, caller=ALICE), _ask(comps, caller=BOB)
    feedback.give(comps, theirs.id, BOB, "up")
    comps.answers.give_feedback(theirs.id, ALICE.id, -1, "wrong")  # alice rated bob's (an admin could)
    assert comps.answers.user_ids("alice") == {"u-alice"} == comps.answers.user_ids("u-alice")
    assert audit.erase_user_records(comps, "u-alice") == 1
    assert comps.answers.ids() == [theirs.id]
    assert [(f["feedback_user_id"], f["rating"]) for f in comps.answers.feedback()] == [("u-bob", 1)]
    with pytest.raises(AnswerNotFound):
        comps.answers.get(mine.id, any_user=True)


def test_feedback_is_the_askers_one_per_user_and_comes_back_with_its_answer(comps) -> None:
    a = _ask(comps, caller=ALICE)
    with pytest.raises(AnswerNotFound):
        feedback.give(comps, a.id, BOB, "up")  # not bob's answer
    with pytest.raises(AnswerNotFound):
        feedback.give(comps, "0123456789abcdef", ALICE, "up")
    feedback.give(comps, a.id, ALICE, "up")
    given = feedback.give(comps, a.id, ALICE, "down", " wrong person ", "Ebrahim Raisi")
    assert given["rating"] == "down" and given["comment"] == "wrong person" and given["question"] == QUESTION
    assert given["answer"] == a.answer and given["model"] == "scripted" and given["citations"]
    assert len(given["settings_digest"]) == 64
    assert [(f["rating"], f["correction"]) for f in comps.answers.feedback()] == [(-1, "Ebrahim Raisi")]
    feedback.give(comps, a.id, Caller(id="u-admin", name="root", role="admin"), "up")  # an admin may rate any
    assert len(comps.answers.feedback(a.id)) == 2


def test_feedback_becomes_gold_items_that_rag_eval_reads(comps) -> None:
    kept, fixed, vague = _ask(comps), _ask(comps, "Where did Raisi host Putin?"), _ask(comps, "Who is Putin?")
    refused = _ask(comps, "What is the capital of Peru?")
    feedback.give(comps, kept.id, ALICE, "up")
    feedback.give(comps, fixed.id, ALICE, "down", correction="Saadabad Palace")
    feedback.give(comps, vague.id, ALICE, "down", comment="too vague")  # no correction: nothing to test
    feedback.give(comps, refused.id, ALICE, "up")
    items = {i["id"]: GoldItem.model_validate(i) for i in feedback.gold_items(comps)}
    assert set(items) == {f"feedback-{x.id}" for x in (kept, fixed, refused)}
    keep = items[f"feedback-{kept.id}"]
    assert keep.confirmed == "keep" and keep.answers == [kept.short_answer] and keep.question == QUESTION
    assert items[f"feedback-{fixed.id}"].answers == ["Saadabad Palace"]
    assert items[f"feedback-{fixed.id}"].confirmed == "correction"
    assert items[f"feedback-{refused.id}"].unanswerable and items[f"feedback-{refused.id}"].confirmed == "keep"
    assert feedback.gold_items(comps, collection="elsewhere") == []


def test_a_replay_from_the_recorded_passages_is_the_same_answer_and_a_changed_one_shows_its_diff(comps) -> None:
    a = _ask(comps)
    record = comps.answers.get(a.id, ALICE.id)
    record["retrieved"] = record["retrieved"][::-1]  # read from the record, not retrieved again
    again = audit.replay(comps, record)
    assert [p.chunk.id for p in again.retrieved] == [p.chunk.id for p in a.retrieved][::-1]
    assert again.answer == a.answer and audit.replay_diff(record, again) == []
    record["answer"] = "Someone else [1]."
    diff = audit.replay_diff(record, again)
    assert "-Someone else [1]." in diff and f"+{a.answer}" in diff


def test_deleting_a_user_erases_their_answer_records_with_the_account(comps) -> None:
    """`rag users delete` and the admin panel go through access.delete_user: a deletion request takes the
    user's answers and feedback with the account; another user's stay."""
    from rag.services import access

    ann_caller = comps.users.add("ann", "member", "pw-ann-123")
    bob_caller = comps.users.add("bob", "member", "pw-bob-123")
    mine, theirs = _ask(comps, caller=ann_caller), _ask(comps, caller=bob_caller)
    assert access.delete_user(comps, "ann") == 1
    with pytest.raises(AnswerNotFound):
        comps.answers.get(mine.id, ann_caller.id)
    assert comps.answers.get(theirs.id, bob_caller.id)["user_name"] == "bob"
    assert [u.name for u in comps.users.list()] == ["bob"]
