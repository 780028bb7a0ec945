"""Benchmark scripts, each run as `python -m benchmarks.NAME`: an entry point, so the offline environment is
set first, when the package is imported."""

from rag.components import offline_environment

offline_environment()
