#!/usr/bin/env bash
# Install Debian's Chromium, the real browser the `view` tests drive through Playwright for Python
# (Playwright's own browser download does not work on this kind of machine, so the tests launch
# /usr/bin/chromium). Idempotent: does nothing when chromium is already on the machine.
# Needs root (CI runs as root) or passwordless sudo; on a machine without apt it only reports.
#
#   scripts/install-browser.sh
set -euo pipefail

if [[ -x /usr/bin/chromium ]]; then
    echo "install-browser: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) already installed, nothing to do"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-browser: no apt-get here; install Chromium at /usr/bin/chromium by hand" >&2
    exit 1
fi
sudo=""
if [[ "$(id -u)" != "0" ]]; then
    sudo="sudo"
fi
echo "install-browser: installing chromium from the Debian archive"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
echo "install-browser: done: $(/usr/bin/chromium --version 2>/dev/null)"
