#!/usr/bin/env bash
# Install the npm packages of tests/node_app (the Vercel AI SDK app the `serve` tests run) from
# its committed package-lock.json, with `npm ci`.
#
# Idempotent: the lock file's checksum is kept in node_modules/.otel-jsonl-lock; when it matches,
# nothing is done, so a rerun is quick. Needs Node.js >= 20 and npm on PATH.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
app="$repo_root/tests/node_app"
stamp="$app/node_modules/.otel-jsonl-lock"

for tool in node npm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "install-node-app: $tool is not on PATH (Node.js >= 20 is needed for the serve tests)" >&2
        exit 1
    fi
done

want="$(sha256sum "$app/package-lock.json" | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    exit 0
fi
(cd "$app" && npm ci --no-audit --no-fund --loglevel=error)
echo "$want" > "$stamp"
