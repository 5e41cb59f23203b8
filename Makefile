# Every target bootstraps its own virtual environment on first use, so the two README
# commands work on a fresh machine that has only Python 3.11 and pip. The environment
# is installed from requirements/lock.txt (exact versions of every package; `make
# lock` regenerates it), then the checkout itself without dependencies: the main
# job's outputs in figures/ are what these versions produce (README, "Reproduction").
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements/lock.txt
# `make lock` resolves pyproject.toml's ranges with this torch: the CPU wheel (a plain
# `torch` resolves to a multi-GB CUDA build on Linux).
LOCK_TORCH ?= torch==2.13.0
# Recipes (and the tests' subprocesses) find the checkout's own `trilemma` first.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: reproduce test slow bench lint lock clean

$(STAMP): $(LOCK) pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
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

## Regenerate $(LOCK): pyproject.toml's ranges (runtime, `test` and `torch` extras)
## resolved afresh in a temporary venv, the project installed from a copy (nothing
## points into the temporary venv), then `pip freeze`. Commit the result with the
## outputs it produces (`make reproduce`).
lock:
	@set -e; tmp="$$(mktemp -d)"; trap 'rm -rf "$$tmp"' EXIT; \
	mkdir "$$tmp/src"; cp -r pyproject.toml README.md trilemma "$$tmp/src/"; \
	$(PYTHON) -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/python" -m pip install --quiet --upgrade pip; \
	"$$tmp/venv/bin/python" -m pip install --quiet "$$tmp/src[test,torch]" '$(LOCK_TORCH)'; \
	"$$tmp/venv/bin/python" -m pip check; \
	mkdir -p $(dir $(LOCK)); \
	{ echo "# Exact versions for the README's commands (make reproduce, make test):"; \
	  echo "# pyproject.toml's dependencies with the test and torch extras, resolved by"; \
	  echo "# \`make lock\` (pip $$("$$tmp/venv/bin/python" -m pip --version | cut -d' ' -f2), $$("$$tmp/venv/bin/python" -V), $$(uname -m) Linux)"; \
	  echo "# in a fresh venv with $(LOCK_TORCH) (the CPU wheel), then"; \
	  echo "# \`pip freeze --all --exclude pip --exclude trilemma\`. The Makefile installs it"; \
	  echo "# with \`pip install -r\`, then the checkout with \`pip install --no-deps"; \
	  echo "# --no-build-isolation -e .\` (its build backend is the setuptools pinned here)."; \
	  echo "# Regenerate: make lock; then make reproduce and commit figures/ with it."; \
	  echo "# torch's +cpu wheel is not on PyPI: pip finds it where the machine has it"; \
	  echo "# (find-links), else give torch's CPU index to the install:"; \
	  echo "# PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu make test"; \
	  "$$tmp/venv/bin/python" -m pip freeze --all --exclude pip --exclude trilemma; \
	} > $(LOCK).tmp; \
	mv $(LOCK).tmp $(LOCK); echo "wrote $(LOCK)"

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache
