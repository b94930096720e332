#!/usr/bin/env bash
# Install Arize Phoenix (a real OTLP backend used by the `phoenix` tests) into a virtual
# environment of its own, kept apart from the test venv: Phoenix pulls ~850 MB of dependencies
# and its client package registers an auto-loading pytest plugin.
#
#   scripts/install-phoenix.sh                # -> <repo>/.phoenix-venv
#   PHOENIX_VENV=/some/dir scripts/install-phoenix.sh
#
# Idempotent: if the venv already imports `phoenix` at the pinned version, nothing is done, so a
# rerun is quick (the venv is the cache). Needs only python3 (>= 3.10) with the venv module.
set -euo pipefail

PHOENIX_VERSION="20.26.1"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${PHOENIX_VENV:-$repo_root/.phoenix-venv}"
python="${PYTHON:-python3}"

installed_version() {
    # Prints the installed arize-phoenix version (empty if missing); imports phoenix to be sure
    # the package actually loads, not just that its metadata exists.
    "$venv/bin/python" - <<'PY' 2>/dev/null || true
import importlib.metadata

import phoenix  # noqa: F401

print(importlib.metadata.version("arize-phoenix"))
PY
}

if [[ -x "$venv/bin/python" ]]; then
    current="$(installed_version)"
    if [[ "$current" == "$PHOENIX_VERSION" ]]; then
        echo "install-phoenix: arize-phoenix $PHOENIX_VERSION already in $venv, nothing to do"
        exit 0
    fi
    echo "install-phoenix: $venv has arize-phoenix '${current:-none}', want $PHOENIX_VERSION"
else
    echo "install-phoenix: creating virtual environment $venv with $("$python" --version 2>&1)"
    "$python" -m venv "$venv"
fi

echo "install-phoenix: upgrading pip"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip

echo "install-phoenix: installing arize-phoenix==$PHOENIX_VERSION (about 100 s, ~850 MB)"
start=$SECONDS
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "arize-phoenix==$PHOENIX_VERSION"
echo "install-phoenix: pip finished in $((SECONDS - start)) s"

current="$(installed_version)"
if [[ "$current" != "$PHOENIX_VERSION" ]]; then
    echo "install-phoenix: error: phoenix does not import at $PHOENIX_VERSION (got '${current:-none}')" >&2
    exit 1
fi
echo "install-phoenix: done: arize-phoenix $current in $venv ($venv/bin/phoenix serve)"
