"""Gold question sets: `id`, `question`, `answers`, `evidence`, `doc`, optional `unanswerable` and `confirmed`."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field


class GoldItem(BaseModel):
    id: str
    question: str
    answers: list[str] = Field(default_factory=list)
    evidence: str = ""
    evidence_sentence: str = ""
    doc: str = ""
    unanswerable: bool = False
    shape: str | None = Field(None, description="factoid, yesno, comparison, list, why or multipart")
    split: str | None = Field(None, description="tune (choices are made on it) or test (reported only)")
    supporting: list[str] = Field(default_factory=list, description="Every fact the answer needs, verbatim: "
                                  "two for a question that needs two passages.")
    reference: str = Field("", description="A one-sentence reference answer.")
    needed: list[str] = Field(default_factory=list, description="MuSiQue's and 2Wiki's name for supporting.")
    confirmed: Literal["keep", "correction"] | None = Field(
        None, description="A case a user confirmed (`rag feedback export`): keep, an answer they approved; "
        "correction, the answer they gave. `rag eval --compare` fails when one that passed before fails now.")

    @property
    def target_evidence(self) -> str:
        """The answer-bearing sentence(s) when the set gives them, else the evidence as given."""
        return self.evidence_sentence or self.evidence

    @property
    def needed_facts(self) -> list[str]:
        """What the context must hold to answer: every supporting fact, else the answer-bearing evidence."""
        return self.supporting or self.needed or ([self.target_evidence] if self.target_evidence else [])


SPLIT_SEED = "rag-eval-halves"  # fixed: the same halves in every run, on every machine


def halve(items: list[GoldItem]) -> list[GoldItem]:
    """Items without a split get one: ordered by a hash of their id (and SPLIT_SEED), the first half is tune,
    the rest test. A set with splits of its own keeps them (seeds/, benchmarks/gold/)."""
    unsplit = sorted((i for i in items if i.split is None),
                     key=lambda i: hashlib.sha256(f"{SPLIT_SEED}:{i.id}".encode()).hexdigest())
    tune = {id(i) for i in unsplit[:(len(unsplit) + 1) // 2]}
    return [i if i.split is not None else i.model_copy(update={"split": "tune" if id(i) in tune else "test"})
            for i in items]


def load_gold(path: Path, limit: int | None = None, sample: int | None = None, seed: int = 13,
              split: str | None = None) -> list[GoldItem]:
    items = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").split("\n"), start=1):
        if line.strip():
            try:
                items.append(GoldItem.model_validate(json.loads(line)))
            except (ValueError, TypeError) as exc:
                raise ValueError(f"{path}:{n}: not a gold item ({exc})") from exc
    if split is not None:
        items = [i for i in halve(items) if i.split == split]
    if sample is not None and sample < len(items):
        items = random.Random(seed).sample(items, sample)
    return items[:limit] if limit is not None else items


def default_docs_dir(gold_path: Path) -> Path:
    """`docs/` beside the gold file when there is one (squad-dev-13), else the gold file's folder (seeds/)."""
    folder = Path(gold_path).resolve().parent
    return folder / "docs" if (folder / "docs").is_dir() else folder
