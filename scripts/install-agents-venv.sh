#!/usr/bin/env bash
# Install the OpenAI Agents SDK with one of its two OpenTelemetry bridges that cannot share the
# test venv (OpenLLMetry's and the official one install the same module) into a virtual
# environment of its own, with this package installed editable so the loop can export through
# its exporter. tests/test_frameworks.py runs the loop in it as a subprocess.
#
#   scripts/install-agents-venv.sh openllmetry   # -> <repo>/.agents-openllmetry-venv
#   scripts/install-agents-venv.sh official      # -> <repo>/.agents-official-venv
#   AGENTS_OFFICIAL_VENV=/some/dir scripts/install-agents-venv.sh official
#
# The pins are requirements/agents-<bridge>.txt. Idempotent: when the venv was built from the
# same pins and pyproject.toml (a stamp holds their sha256), nothing is done.
set -euo pipefail

bridge="${1:-}"
case "$bridge" in
    openllmetry) variable=AGENTS_OPENLLMETRY_VENV ;;
    official) variable=AGENTS_OFFICIAL_VENV ;;
    *)
        echo "usage: $0 openllmetry|official" >&2
        exit 2
        ;;
esac
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${!variable:-$repo_root/.agents-$bridge-venv}"
requirements="$repo_root/requirements/agents-$bridge.txt"
python="${PYTHON:-python3}"
stamp="$venv/.installed"
want="$(cat "$requirements" "$repo_root/pyproject.toml" | sha256sum | cut -d' ' -f1)"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$venv/bin/python" ]]; then
    echo "install-agents-venv: $venv is up to date, nothing to do"
    exit 0
fi
if [[ ! -x "$venv/bin/python" ]]; then
    echo "install-agents-venv: creating $venv with $("$python" --version 2>&1)"
    "$python" -m venv "$venv"
fi
start=$SECONDS
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r "$requirements" -e "$repo_root"
"$venv/bin/python" -m pip check
"$venv/bin/python" -c "import agents, opentelemetry.instrumentation.openai_agents, otel_jsonl"
echo "$want" > "$stamp"
echo "install-agents-venv: $bridge bridge installed in $venv in $((SECONDS - start)) s"
