# One-command entry points. Everything the project needs is installed by `make install` into .venv.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
# named for the llama.cpp build, so a venv reused on a CPU of the other variant is installed again
STAMP = $(VENV)/.installed-$(LLAMA_VARIANT)
LLAMA_VERSION := $(shell sed -n 's/.*"llama-cpp-python==\([0-9.]*\)".*/\1/p' pyproject.toml | head -1)
# llama-cpp-python compiles llama.cpp; the build is chosen by what this CPU has, never -march=native: this Xeon
# advertises AMX, but an AMX build dies with an illegal instruction at the first token in this VM. avx512:
# AVX-512 with VNNI, VBMI and BF16 reads a prompt 1.4x faster than avx2 on that Xeon; avx512vnni: the same
# without BF16 and AVX-VNNI (an AMD EPYC VM that hides them), 1.47x faster than avx2 there
# (benchmarks/llm_token_cost.py).
LLAMA_AVX512VNNI_FLAGS := avx512f avx512bw avx512dq avx512vl avx512vbmi avx512_vnni
LLAMA_AVX512_FLAGS := $(LLAMA_AVX512VNNI_FLAGS) avx512_bf16 avx_vnni
# probed once per make run (ifndef + :=), not at every expansion; `make LLAMA_VARIANT=avx2` skips the probe
ifndef LLAMA_VARIANT
LLAMA_VARIANT := $(shell has() { for f; do grep -q -w $$f /proc/cpuinfo 2>/dev/null || return 1; done; }; \
	if has $(LLAMA_AVX512_FLAGS); then echo avx512; elif has $(LLAMA_AVX512VNNI_FLAGS); then echo avx512vnni; \
	else echo avx2; fi)
endif
LLAMA_CMAKE_avx2 := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
LLAMA_CMAKE_avx512vnni := $(LLAMA_CMAKE_avx2) -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON
LLAMA_CMAKE_avx512 := $(LLAMA_CMAKE_avx512vnni) -DGGML_AVX512_BF16=ON -DGGML_AVX_VNNI=ON
LLAMA_CMAKE_ARGS ?= $(LLAMA_CMAKE_$(LLAMA_VARIANT))
# The wheel is kept per build (variant and cmake arguments), not in pip's cache, which keys a wheel by its
# source only and would hand an AVX-512 build to the next machine without AVX-512.
ifndef LLAMA_WHEELS
LLAMA_WHEELS := $(HOME)/.cache/rag-chat/wheels/llama-cpp-python-$(LLAMA_VERSION)-$(LLAMA_VARIANT)-$(shell echo '$(LLAMA_CMAKE_ARGS)' | cksum | cut -d' ' -f1)
endif

.PHONY: install run test test-fast test-postgres lint clean-store bench ocr screenshot settings-doc

$(STAMP): pyproject.toml Makefile
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "needs $(PYTHON) (Python 3.11)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# llama-cpp-python compiles from source the first time (5-10 min on 2 cores) into $(LLAMA_WHEELS).
	# Built beside the folder and moved in whole, so an interrupted build leaves no half-written wheel.
	ls $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1 || { rm -rf $(LLAMA_WHEELS).tmp && \
		CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(BIN)/python -m pip wheel \
		--quiet --no-deps --no-cache-dir -w $(LLAMA_WHEELS).tmp llama-cpp-python==$(LLAMA_VERSION) && \
		rm -rf $(LLAMA_WHEELS) && mv $(LLAMA_WHEELS).tmp $(LLAMA_WHEELS); }
	# --force-reinstall: a venv made before a change of build gets this build too
	$(BIN)/python -m pip install --quiet --no-deps --force-reinstall $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl
	# --only-binary: never a fresh build of llama-cpp-python here (without CMAKE_ARGS it would be -march=native)
	$(BIN)/python -m pip install --quiet --find-links $(LLAMA_WHEELS) --only-binary=llama-cpp-python \
		-e ".[dev,small,server]"
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

## The PostgreSQL half alone (state tests, API conversations, two servers sharing one database), on a throw-away
## server that .ci/with-postgres starts on loopback and removes; needs Debian's postgresql. `make test` runs these
## too when RAG_TEST_POSTGRES_URL names a server (.ci/run: `.ci/with-postgres make test`).
test-postgres: install
	.ci/with-postgres $(BIN)/python -m pytest -k "postgresql or two_servers"

lint: install
	$(BIN)/ruff check rag tests app.py benchmarks

## Refresh docs/screenshot.png from the real-model browser test (a plain test run writes it to a temporary folder).
screenshot: install
	RAG_SCREENSHOT_OUT=docs/screenshot.png $(BIN)/python -m pytest tests/e2e/test_browser.py -k real_models

## Regenerate docs/settings.md from rag/config.py (tests/test_settings_doc.py fails when it is stale).
settings-doc: install
	$(BIN)/python -m rag.config_doc > docs/settings.md

clean-store:
	rm -rf vectorstore/*

## Benchmarks (not tests): JSON and Markdown tables in benchmarks/results/. Needs ../shared for ingestion.
bench: install
	$(BIN)/python -m benchmarks.ingest_throughput
	$(BIN)/python -m benchmarks.noop_sync
	$(BIN)/python -m benchmarks.retrieval_latency
	$(BIN)/python -m benchmarks.bm25_update
	$(BIN)/python -m benchmarks.answer_latency
