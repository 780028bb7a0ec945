# One-command entry points. Everything the project needs is installed by `make install` into .venv.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON

.PHONY: install run test test-fast lint clean-store bench ocr

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "needs $(PYTHON) (Python 3.11)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# llama-cpp-python compiles from source the first time (5-10 min on 2 cores); pip caches the wheel.
	# Built for AVX2, not -march=native: a native build on a CPU that advertises AMX crashed at the first
	# token in this VM, and a wheel cached on one machine must run on the next.
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
		$(BIN)/python -m pip install --quiet -e ".[dev,small,server]"
	touch $(STAMP)

install: $(STAMP)

## OCR of scanned PDF pages needs the tesseract program (a Debian package; run as root). .ci/run does this too.
ocr:
	command -v tesseract >/dev/null || (apt-get update && apt-get install -y tesseract-ocr)

## Install everything, ingest seeds/ if the store is empty, and start the chat UI.
run: install
	$(BIN)/rag ui

## The whole test suite, end-to-end tests with the real models included.
test: install
	$(BIN)/ruff check rag tests app.py benchmarks
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not e2e"

lint: install
	$(BIN)/ruff check rag tests app.py benchmarks

clean-store:
	rm -rf vectorstore/*

## Benchmarks (not tests): JSON and Markdown tables in benchmarks/results/. Needs ../shared for ingestion.
bench: install
	$(BIN)/python -m benchmarks.ingest_throughput
	$(BIN)/python -m benchmarks.noop_sync
	$(BIN)/python -m benchmarks.retrieval_latency
	$(BIN)/python -m benchmarks.bm25_update
	$(BIN)/python -m benchmarks.answer_latency
