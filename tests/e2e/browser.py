"""Browser test support: Debian's chromium driven by Playwright (no browser download), and an extractive
scripted LLM that keeps the browser tests fast while its answers are grounded in the passages it is given."""

from __future__ import annotations

import re
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)


class ExtractiveLLM:
    """Answers with the passage sentence that shares most words with the question, cited; rewrites a
    follow-up by naming the subject of the previous question."""

    name = "extractive-test-llm"
    loaded = True

    def stream_chat(self, messages, max_tokens, temperature, usage=None):
        prompt = messages[-1]["content"]
        reply = self._condense(prompt) if "Rewritten question:" in prompt else self._answer(prompt)
        if usage is not None:
            usage.update(prompt_tokens=len(prompt.split()), completion_tokens=len(reply.split()))
        yield from (reply[i:i + 6] for i in range(0, len(reply), 6))

    def yes_probability(self, messages):
        return 0.95

    @staticmethod
    def _words(text: str) -> set[str]:
        return {w for w in re.findall(r"\w+", text.lower()) if len(w) > 3}

    def _answer(self, prompt: str) -> str:
        passages, _, question = prompt.rpartition("\nQuestion:")
        q = self._words(question.split("Format:")[0])
        best, best_score = "", 0
        for number, text in re.findall(r"^\[(\d+)\] (.+?)(?=^\[\d+\] |\Z)", passages, flags=re.S | re.M):
            for sentence in re.split(r"(?<=[.!?])\s+", text.strip()):
                score = len(q & self._words(sentence))
                if score > best_score:
                    best, best_score = f"{sentence.strip().rstrip('.')} [{number}].", score
        return best or "The documents do not say."

    @staticmethod
    def _condense(prompt: str) -> str:
        question = re.search(r"Last question:\s*(.+)", prompt)
        history = re.findall(r"^User: (.+)$", prompt, flags=re.M)
        q = question.group(1).strip() if question else ""
        if history and re.search(r"\b(it|its|they|their|he|she)\b", q, flags=re.I):
            return f"{q.rstrip('?')} ({history[-1].rstrip('?')})?"
        return q
