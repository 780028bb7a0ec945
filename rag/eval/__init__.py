"""Evaluation against a gold question set: metrics, runner, report, comparison, llama-index baseline."""
