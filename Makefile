# qa-bot: `make run` to try it, `make test` to check it. Both create .venv and install.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
QA_BOT := $(VENV)/bin/qa-bot
PYTEST_ARGS ?=

# Run the suite in a network namespace with only loopback when we can (root + unshare):
# it proves the tests need no network. Elsewhere conftest.py refuses non-loopback sockets.
OFFLINE := $(shell unshare -n true 2>/dev/null && command -v ip >/dev/null && echo yes)

.PHONY: run test check lint typecheck install install-test bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

install: $(PY)
	$(PY) -m pip install --quiet -e .

install-test: $(PY)
	$(PY) -m pip install --quiet -e '.[test]'

run: install
	$(QA_BOT) ingest examples/releases
	$(QA_BOT) stats
	$(QA_BOT) list

test: install-test
ifeq ($(OFFLINE),yes)
	unshare -n sh -c 'ip link set lo up && exec $(PY) -m pytest $(PYTEST_ARGS)'
else
	$(PY) -m pytest $(PYTEST_ARGS)
endif

lint: install-test
	$(VENV)/bin/ruff check qa_bot ingest tests bench
	$(VENV)/bin/ruff format --check qa_bot ingest tests bench

typecheck: install-test
	$(VENV)/bin/mypy

check: lint typecheck test

bench: install
	$(PY) bench/ingest_throughput.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
