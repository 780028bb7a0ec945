"""Compare two evaluation runs metric by metric, where a drop beyond the threshold fails the gate, and case by case
for the cases a user confirmed (gold items with `confirmed`, from `rag feedback export`), where one that passed
before and fails now fails the gate whatever the averages do."""

from __future__ import annotations

HIGHER_IS_BETTER = ["f1", "em", "contains", "hit@1", "hit@3", "hit@5", "hit@10", "recall@1", "recall@3",
                    "recall@5", "recall@10", "mrr", "doc_hit@5", "citation_precision", "citation_recall",
                    "cited_sentence_share", "refusal_recall", "grounded", "context_recall"]
LOWER_IS_BETTER = ["false_refusal_rate"]
SHOWN_ONLY = ["retrieve_ms_p50", "context_ms_p50", "check_ms_p50", "generate_ms_p50", "first_token_ms_p50",
              "total_ms_p50", "total_ms_p95", "prompt_tokens_mean", "completion_tokens_mean"]


def compare(old: dict, new: dict, max_drop: float) -> tuple[list[str], list[str]]:
    """Return (table lines, regressed metrics). Quality metrics gate; cost metrics are only shown."""
    lines = [f"{'metric':<24}{'old':>10}{'new':>10}{'change':>10}"]
    regressed = []
    for key in HIGHER_IS_BETTER + LOWER_IS_BETTER + SHOWN_ONLY:
        a, b = old.get(key), new.get(key)
        if a is None or b is None:
            continue
        delta = b - a
        worse = -delta if key in HIGHER_IS_BETTER else delta if key in LOWER_IS_BETTER else 0.0
        flag = ""
        if worse > max_drop:
            regressed.append(key)
            flag = "  REGRESSION"
        lines.append(f"{key:<24}{a:>10.3f}{b:>10.3f}{delta:>+10.3f}{flag}")
    return lines, regressed


def broken_confirmed(old_rows: list[dict], new_rows: list[dict]) -> list[dict]:
    """The confirmed cases of the new run that fail now and passed in the old one (matched by id)."""
    before = {r["id"]: r for r in old_rows}
    return [r for r in new_rows if r.get("confirmed") and r.get("passed") is False
            and before.get(r["id"], {}).get("passed")]
