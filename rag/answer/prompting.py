"""Builds the LLM messages from the templates in `prompts/`; the passages come from `rag.answer.context`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from rag.backends.llm import Message
from rag.types import Passage


def packaged_prompts() -> Path:
    """The templates shipped inside the package (package data, read through importlib.resources), so an
    installed wheel answers with no checkout beside it."""
    return Path(str(resources.files("rag") / "prompts"))

_FIELD = re.compile(r"\{([^{}]+)\}")


@dataclass(frozen=True)
class PromptTemplate:
    """`{name}` fields filled from keywords; other braces are left as written. The same rule as
    llama-index's PromptTemplate, without importing llama-index (about a second) to answer a question."""

    template: str

    def format(self, **values: object) -> str:
        return _FIELD.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0),
                          self.template)


@dataclass(frozen=True)
class Prompts:
    system: str
    answer: PromptTemplate
    condense: PromptTemplate
    passage: PromptTemplate
    refusal: str
    check: PromptTemplate
    verify: PromptTemplate
    escalate: str  # the plain prompt of an answer written again before a refusal (steps/escalate.py)
    shapes: dict[str, str]  # the answer format asked for, per question shape (prompts/shapes/*.txt)

    @classmethod
    def load(cls, folder: Path) -> Prompts:
        def read(name: str, optional: bool = False) -> str:
            path = Path(folder) / name
            if optional and not path.exists():  # a prompts folder made before this template existed
                path = packaged_prompts() / name
            try:
                return path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise FileNotFoundError(f"prompt template missing: {path}") from exc

        shapes = {f.stem: f.read_text(encoding="utf-8").strip()
                  for f in sorted((Path(folder) / "shapes").glob("*.txt"))}
        if "factoid" not in shapes:
            raise FileNotFoundError(f"prompt template missing: {Path(folder) / 'shapes' / 'factoid.txt'}")
        return cls(system=read("system.txt"), answer=PromptTemplate(read("answer.txt")),
                   condense=PromptTemplate(read("condense.txt")), passage=PromptTemplate(read("passage.txt")),
                   refusal=read("refusal.txt"), check=PromptTemplate(read("check.txt")),
                   verify=PromptTemplate(read("verify.txt", optional=True)),
                   escalate=read("escalate.txt", optional=True), shapes=shapes)


def render_passages(prompts: Prompts, passages: list[Passage]) -> str:
    return "\n\n".join(
        prompts.passage.format(number=i, title=p.chunk.title, source=p.chunk.source,
                               page=p.chunk.page or "", text=p.chunk.text)
        for i, p in enumerate(passages, start=1))


def answer_messages(prompts: Prompts, question: str, passages: list[Passage], shape: str = "factoid") -> list[Message]:
    """One system prompt for every shape (llama.cpp keeps it evaluated between questions); the format the
    shape asks for comes last in the user's turn, where a small model heeds it most."""
    user = prompts.answer.format(passages=render_passages(prompts, passages), question=question,
                                 instruction=prompts.shapes.get(shape, prompts.shapes["factoid"]))
    return [{"role": "system", "content": prompts.system}, {"role": "user", "content": user}]


def check_messages(prompts: Prompts, question: str, passages: list[Passage], shape: str = "factoid") -> list[Message]:
    """The answer prompt with the check appended to the user's turn: the same prefix, so llama.cpp reads only
    the check's own few tokens again when the answer follows."""
    return _with_question(answer_messages(prompts, question, passages, shape), prompts.check.format(question=question))


def verify_messages(prompts: Prompts, question: str, passages: list[Passage], shape: str,
                    answer: str) -> list[Message]:
    """The answer prompt with the answer given and the question whether the passages state it, appended to the
    user's turn: llama.cpp reads only these few tokens again. The check before the answer asks about the
    question alone; this one sees the answer, so a reply about something near the question can be told apart."""
    return _with_question(answer_messages(prompts, question, passages, shape),
                          prompts.verify.format(answer=answer, question=question))


def _with_question(messages: list[Message], asked: str) -> list[Message]:
    """A yes/no question appended to the answer prompt's user turn, after its shared prefix."""
    messages[1]["content"] += "\n\n" + asked
    return messages


def condense_messages(prompts: Prompts, question: str, history: list[Message]) -> list[Message]:
    lines = [f"{'User' if m['role'] == 'user' else 'Assistant'}: {m['content']}" for m in history]
    return [{"role": "user", "content": prompts.condense.format(history="\n".join(lines), question=question)}]
