# minxin: two commands.
#   make run   — install everything into .venv and start the server with demo data (SQLite)
#   make test  — install with test extras and run the whole suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
#: test processes for `make test` (pytest-xdist; whole files per process; 0 = one process)
TEST_WORKERS ?= 2

.PHONY: run test install install-test lint bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "minxin needs Python >= 3.11"'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

run: install
	$(BIN)/minxin serve --demo --host $(HOST) --port $(PORT)

test: install-test
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

lint: install-test
	$(BIN)/ruff check src tests bench

bench: install-test
	$(BIN)/pip install --disable-pip-version-check -q -e '.[test,bench]'
	@echo "see docs/benchmarks.md for the benchmark commands"

clean:
	rm -rf $(VENV) var minxin.db minxin.db-wal minxin.db-shm .pytest_cache
