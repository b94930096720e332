#!/usr/bin/env bash
# Install the official OpenTelemetry Google GenAI instrumentation into a virtual environment of
# its own, kept apart from the test venv: `opentelemetry-instrumentation-google-genai` 1.3b0
# needs `opentelemetry-util-genai>=1.3b0` (the test venv pins 1.1b0 for openai-v2 2.4b0) and
# instruments only google-genai < 3 (the test venv has 3.x). The tests run the instrumented loop
# in this venv as a subprocess that writes a JSONL file (tests/test_instrumentations_gemini.py).
#
#   scripts/install-genai-official.sh                  # -> <repo>/.genai-official-venv
#   GENAI_OFFICIAL_VENV=/some/dir scripts/install-genai-official.sh
#
# Idempotent: a venv that already imports the pinned versions is left as it is.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${GENAI_OFFICIAL_VENV:-$repo_root/.genai-official-venv}"
python="${PYTHON:-python3}"
pins=(
    "google-genai==2.34.0"
    "opentelemetry-instrumentation-google-genai==1.3b0"
    "opentelemetry-util-genai==1.3b0"
    "opentelemetry-api==1.45.2"
    "opentelemetry-sdk==1.45.2"
    # the loopback loops in tests/support import both clients (as in requirements/test.txt)
    "openai==3.57.0"
    "anthropic==2.14.0"
)
stamp="$venv/.installed"
want="${pins[*]}"

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] \
    && "$venv/bin/python" -c "import google.genai, opentelemetry.instrumentation.google_genai, otel_jsonl" 2>/dev/null; then
    echo "install-genai-official: $venv is up to date, nothing to do"
    exit 0
fi
if [[ ! -x "$venv/bin/python" ]]; then
    echo "install-genai-official: creating $venv with $("$python" --version 2>&1)"
    "$python" -m venv "$venv"
fi
start=$SECONDS
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${pins[@]}" -e "$repo_root"
"$venv/bin/python" -m pip check
echo "$want" > "$stamp"
echo "install-genai-official: done in $((SECONDS - start)) s ($venv)"
