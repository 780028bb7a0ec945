"""Builds the LLM messages from the templates in `prompts/`; the passages come from `rag.context`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from llama_index.core import PromptTemplate

from rag.models.llm import Message
from rag.schemas import Passage


@dataclass(frozen=True)
class Prompts:
    system: str
    answer: PromptTemplate
    condense: PromptTemplate
    passage: PromptTemplate
    refusal: str

    @classmethod
    def load(cls, folder: Path) -> Prompts:
        def read(name: str) -> str:
            path = Path(folder) / name
            try:
                return path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise FileNotFoundError(f"prompt template missing: {path}") from exc

        return cls(system=read("system.txt"), answer=PromptTemplate(read("answer.txt")),
                   condense=PromptTemplate(read("condense.txt")), passage=PromptTemplate(read("passage.txt")),
                   refusal=read("refusal.txt"))


def render_passages(prompts: Prompts, passages: list[Passage]) -> str:
    return "\n\n".join(
        prompts.passage.format(number=i, title=p.chunk.title, source=p.chunk.source,
                               page=p.chunk.page or "", text=p.chunk.text)
        for i, p in enumerate(passages, start=1))


def answer_messages(prompts: Prompts, question: str, passages: list[Passage]) -> list[Message]:
    user = prompts.answer.format(passages=render_passages(prompts, passages), question=question)
    return [{"role": "system", "content": prompts.system}, {"role": "user", "content": user}]


def condense_messages(prompts: Prompts, question: str, history: list[Message]) -> list[Message]:
    lines = [f"{'User' if m['role'] == 'user' else 'Assistant'}: {m['content']}" for m in history]
    return [{"role": "user", "content": prompts.condense.format(history="\n".join(lines), question=question)}]
