# The few targets people expect. `make demo` and `make test` work on a fresh machine: each
# creates the virtual environment it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PHOENIX_VENV ?= .phoenix-venv
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: venv demo test lint format typecheck pytest phoenix bench clean

$(STAMP): pyproject.toml requirements/test.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements/test.txt -e .
	touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(BIN)/otel-jsonl demo -o traces/demo.jsonl

phoenix:
	PHOENIX_VENV=$(PHOENIX_VENV) bash scripts/install-phoenix.sh

lint: venv
	$(BIN)/ruff check otel_jsonl tests examples bench
	$(BIN)/ruff format --check otel_jsonl tests examples bench

format: venv
	$(BIN)/ruff format otel_jsonl tests examples bench
	$(BIN)/ruff check --fix otel_jsonl tests examples bench

typecheck: venv
	$(BIN)/mypy

pytest: venv
	$(BIN)/pytest

test: venv phoenix lint typecheck pytest

bench: venv
	$(BIN)/python bench/recorder.py

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache .pytest_cache .hypothesis
