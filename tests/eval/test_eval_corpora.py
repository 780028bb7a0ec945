"""`rag eval --corpus`: several corpora in one run, each in its own collection, one table row per corpus and
shape with the simple baseline beside ours; sets without splits halved by a fixed hash; yes/no gold scored
on the verdict the answer gives. With the test back ends (scripted LLM, hash embedder)."""

from __future__ import annotations

import json
import shutil

from rag.answer.prompting import packaged_prompts
from rag.eval.gold import GoldItem, halve, load_gold
from rag.eval.metrics import is_polar, polarity
from rag.eval.session import Corpus
from tests.conftest import SEED_DOC, SEEDS
from tests.eval.test_sweep import _rag_eval


def _corpus(tmp_path, name: str, rows: list[dict]):
    folder = tmp_path / name
    (folder / "docs").mkdir(parents=True)
    shutil.copy(SEED_DOC, folder / "docs" / SEED_DOC.name)
    (folder / "gold.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return folder


def test_a_set_without_splits_is_halved_the_same_way_every_time() -> None:
    items = [GoldItem(id=f"q{n}", question="?") for n in range(41)] + [GoldItem(id="s", question="?", split="test")]
    once, again = halve(items), halve(list(reversed(items)))
    tune = {i.id for i in once if i.split == "tune"}
    assert len(tune) == 21 and tune == {i.id for i in again if i.split == "tune"}  # order-independent halves
    assert next(i for i in once if i.id == "s").split == "test"  # a split of its own is kept


def test_a_line_separator_inside_a_json_string_does_not_split_a_gold_item(tmp_path) -> None:
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"id": "a", "question": "Q\u2028two lines?", "answers": ["x"]}, ensure_ascii=False)
                    + "\n", encoding="utf-8")
    [item] = load_gold(gold)
    assert item.question == "Q\u2028two lines?"


def test_a_yes_no_answer_is_scored_on_the_first_verdict_it_gives() -> None:
    assert is_polar(["yes"]) and is_polar(["No"]) and not is_polar(["Norway"]) and not is_polar([])
    assert polarity("Yes. The talks ended [1].") == "yes"
    assert polarity("The passages say no, not before 2023.") == "no"
    assert polarity("It is unclear whether it helps.") == "maybe"  # PubMedQA's convention
    assert polarity("Nobody knows") == "" and polarity("I don't know.") == ""


def test_a_corpus_is_a_folder_or_documents_with_their_gold_sets(tmp_path) -> None:
    folder = _corpus(tmp_path, "mini-qa", [{"id": "a", "question": "?", "answers": ["x"]}])
    assert Corpus.parse(str(folder)).name == "mini-qa" and Corpus.parse(str(folder)).docs == folder / "docs"
    seeds = Corpus.parse(f"{SEEDS}={SEEDS / 'gold.jsonl'},{SEEDS / 'gold-shapes.jsonl'}")
    assert seeds.name == "seeds" and len(seeds.golds) == 2


def test_rag_eval_corpus_prints_a_row_per_corpus_and_shape_beside_the_simple_baseline(tmp_path) -> None:
    yes_no = _corpus(tmp_path, "polar", [
        {"id": f"p{n}", "question": "Did Putin arrive in Tehran on Tuesday?", "answers": ["yes"], "shape": "yesno",
         "doc": SEED_DOC.name} for n in range(4)])
    facts = _corpus(tmp_path, "facts", [
        {"id": f"f{n}", "question": "Which gas fields does the Gazprom agreement cover?",
         "answers": ["Kish and North Pars"], "doc": SEED_DOC.name} for n in range(4)])
    out = tmp_path / "corpora.json"
    res = _rag_eval("--corpus", str(yes_no), "--corpus", str(facts), "--split", "test", "--baseline", "simple",
                    "--store", str(tmp_path / "stores"), "--out", str(out), cwd=tmp_path,
                    RAG_ANSWER__PROMPTS_DIR=str(packaged_prompts()))  # a path among the results' settings
    assert res.returncode == 0, res.stderr[-3000:]
    rows = [line.split(" | ") for line in res.stdout.splitlines() if line.startswith("| ")]
    assert rows[0][:4] == ["| corpus", "shape", "n", "F1 (ours)"] and "F1 (simple)" in rows[0]
    assert [r[:2] for r in rows[1:]] == [["| polar", "all"], ["| polar", "yesno"], ["| facts", "all"],
                                         ["| facts", "factoid"], ["| pooled", "all"]]
    assert [r[2] for r in rows[1:]] == ["2", "2", "2", "2", "4"]  # the test halves: 2 of 4 questions each
    results = json.loads(out.read_text())["corpora"]
    assert set(results) == {"polar", "facts"} and set(results["polar"]["baselines"]) == {"simple"}
    assert results["polar"]["config"]["answer"]["prompts_dir"] == str(packaged_prompts())
    assert (tmp_path / "stores" / "polar").is_dir()  # kept: the next run ingests nothing new
