"""Back ends for fast tests, chosen by settings: `RAG_LLM__BACKEND=scripted` and `RAG_EMBED__BACKEND=hash`.

With both, the server, the page and the CLI start and answer in milliseconds, deterministically, with no
model loaded and nothing imported from torch or llama.cpp. Neither is for real use: the embedder knows
no synonyms and the LLM only copies a sentence of the passages it is given.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterator

Message = dict[str, str]  # as in rag.backends.llm, which imports this module to build a back end
_WORD = re.compile(r"\w+")


class HashEmbedder:
    """Hashed word counts, L2-normalised: each lower-cased word adds 1 to dimension md5(word) mod `dim`,
    so texts that share words are near and others are not."""

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.name = f"hash-{dim}"
        self.calls = 0  # texts embedded, for tests that count them

    def _vec(self, text: str) -> list[float]:
        v = [0.0] * self.dim
        for w in _WORD.findall(text.lower()):
            v[int(hashlib.md5(w.encode()).hexdigest(), 16) % self.dim] += 1.0
        n = math.sqrt(sum(x * x for x in v)) or 1.0
        return [x / n for x in v]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += len(texts)
        return [self._vec(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vec(text)


class ScriptedLLM:
    """A deterministic stand-in for the model, reading the prompts the chain builds (`prompts/`):

    - an answer prompt gets the sentence of the numbered passages that shares most words (of four letters
      or more) with the question, copied word for word with its passage's marker ("... [2]."); on a tie the
      earlier passage wins, so with no better match it is passage [1]'s first sentence; when no sentence
      shares a word: "I don't know.";
    - llama-index's text-QA prompt ("Context information is below. ... Query: ... Answer:") gets the same
      sentence of its context, with no marker;
    - a follow-up to rewrite gets the question with the previous question in brackets when it has a
      pronoun ("When was it built (What is the Quintor bridge)?"), else the question as it is;
    - the check (`yes_probability`) answers `p_yes`, a fixed value a test may set (None: cannot tell).

    The reply streams in pieces of `piece` characters; `usage` counts words.
    """

    name = "scripted"
    loaded = True

    def __init__(self, p_yes: float | None = 0.9, piece: int = 6) -> None:
        self.p_yes = p_yes
        self.piece = piece

    def load(self) -> None:
        """Nothing to load."""

    def yes_probability(self, messages: list[Message]) -> float | None:
        return self.p_yes

    def stream_chat(self, messages: list[Message], max_tokens: int, temperature: float,
                    usage: dict[str, int] | None = None) -> Iterator[str]:
        prompt = messages[-1]["content"]
        reply = self.rewrite(prompt) if "Rewritten question:" in prompt else self.answer(prompt)
        if usage is not None:
            usage.update(prompt_tokens=sum(len(m["content"].split()) for m in messages),
                         completion_tokens=len(reply.split()))
        yield from (reply[i:i + self.piece] for i in range(0, len(reply), self.piece))

    @staticmethod
    def _words(text: str) -> set[str]:
        return {w for w in _WORD.findall(text.lower()) if len(w) > 3}

    def answer(self, prompt: str) -> str:
        if "\nQuestion:" not in prompt and "\nQuery:" in prompt:  # llama-index's text-QA prompt: no markers
            context, _, question = prompt.rpartition("\nQuery:")
            blocks = [("", line) for line in context.splitlines()]  # its metadata lines apart from the text
        else:
            passages, _, question = prompt.rpartition("\nQuestion:")
            blocks = re.findall(r"^\[(\d+)\] (.+?)(?=^\[\d+\] |\Z)", passages, flags=re.S | re.M)
        asked = self._words(question.split("Format:")[0].split("\nAnswer:")[0])
        best, best_score = "", 0
        for number, text in blocks:
            for sentence in re.split(r"(?<=[.!?])\s+", text.strip()):
                score = len(asked & self._words(sentence))
                if score > best_score:
                    best, best_score = sentence.strip().rstrip(".") + (f" [{number}]." if number else "."), score
        return best or "I don't know."

    @staticmethod
    def rewrite(prompt: str) -> str:
        found = re.search(r"Last question:\s*(.+)", prompt)
        earlier = re.findall(r"^User: (.+)$", prompt, flags=re.M)
        question = found.group(1).strip() if found else ""
        if earlier and re.search(r"\b(it|its|they|their|he|she)\b", question, flags=re.I):
            return f"{question.rstrip('?')} ({earlier[-1].rstrip('?')})?"
        return question
