# Every target bootstraps its own virtual environment on first use, so the two README
# commands work on a fresh machine that has only Python 3.11 and pip.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Recipes (and the tests' subprocesses) find the checkout's own `trilemma` first.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: reproduce test slow bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## Main job: exact tables and every figure into figures/.
reproduce: $(STAMP)
	$(BIN)/python experiments/reproduce.py

## Default test suite, on up to 4 workers (pytest-xdist).
test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto --maxprocesses 4

## Long runs excluded from the default suite.
slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

## Speed and memory benchmarks (ratios against NumPy, measured in one run).
bench: $(STAMP)
	$(BIN)/python experiments/bench_exact.py
	$(BIN)/python experiments/bench_simulate.py
	$(BIN)/python experiments/bench_decode.py
	$(BIN)/python experiments/bench_simulate_model.py
	$(BIN)/python experiments/bench_train.py
	$(BIN)/python experiments/bench_sample.py
	$(BIN)/python experiments/bench_estimators.py

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache
