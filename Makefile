# The few targets people expect. `make demo` and `make test` work on a fresh machine: each
# creates the virtual environment it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PHOENIX_VENV ?= .phoenix-venv
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: venv demo test lint format typecheck pytest phoenix frameworks genai-official node-app browser bench clean

$(STAMP): pyproject.toml requirements/test.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements/test.txt -e .
	touch $(STAMP)

venv: $(STAMP)

demo: venv
	rm -f traces/demo.jsonl traces/demo.otlp.jsonl
	$(BIN)/otel-jsonl demo -q -o traces/demo.jsonl --run-id demo0001
	$(BIN)/otel-jsonl show traces/demo.jsonl
	$(BIN)/otel-jsonl stats traces/demo.jsonl
	$(BIN)/otel-jsonl convert traces/demo.jsonl -o traces/demo.otlp.jsonl
	@echo
	@echo "Recorded traces/demo.jsonl (try: jq . traces/demo.jsonl | less)"
	@echo "Converted to OTLP JSON: traces/demo.otlp.jsonl (upload it in Jaeger's UI, or see README)"

phoenix:
	PHOENIX_VENV=$(PHOENIX_VENV) bash scripts/install-phoenix.sh

# The OpenAI Agents SDK bridges that install the same module: one venv each.
frameworks:
	bash scripts/install-agents-venv.sh openllmetry
	bash scripts/install-agents-venv.sh official

# The official Google GenAI instrumentation needs google-genai < 3: a venv of its own.
genai-official:
	bash scripts/install-genai-official.sh

# The npm packages of tests/node_app (the Vercel AI SDK app the serve tests run), from its lock.
node-app:
	bash scripts/install-node-app.sh

# Debian's Chromium for the HTML view's browser tests (Playwright drives it; no browser download).
browser:
	bash scripts/install-browser.sh

LINTED := $(wildcard otel_jsonl tests examples bench)

lint: venv
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

format: venv
	$(BIN)/ruff format $(LINTED)
	$(BIN)/ruff check --fix $(LINTED)

typecheck: venv
	$(BIN)/mypy

pytest: venv
	$(BIN)/pytest

test: venv phoenix frameworks genai-official node-app browser lint typecheck pytest

bench: venv
	$(BIN)/python bench/recorder.py
	$(BIN)/python bench/recorder.py --durability --reps 5 --steps 500
	$(BIN)/python bench/exporter.py
	$(BIN)/python bench/convert.py
	$(BIN)/python bench/replay.py
	$(BIN)/python bench/redact.py
	$(BIN)/python bench/hardening.py
	$(BIN)/python bench/frameworks.py
	$(BIN)/python bench/responses.py
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/bigfile.py
	PHOENIX_VENV=$(PHOENIX_VENV) $(BIN)/python bench/serve.py
	$(BIN)/python bench/view.py
	$(BIN)/python bench/follow.py
	$(BIN)/python bench/ship.py
	$(BIN)/python bench/logjoin.py

clean:
	rm -rf $(VENV) .genai-official-venv build dist .mypy_cache .ruff_cache .pytest_cache .hypothesis
