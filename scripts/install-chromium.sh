#!/usr/bin/env bash
# Headless Chromium and its WebDriver from Debian's packages, for the browser tests
# (tests/e2e/test_report_and_docs.py). Does nothing when /usr/bin/chromium and /usr/bin/chromedriver exist.
set -euo pipefail

if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
    echo "chromium: $(/usr/bin/chromium --version 2>/dev/null | head -n 1); $(/usr/bin/chromedriver --version | head -n 1)"
    exit 0
fi

if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        exec sudo -n "$0" "$@"
    fi
    echo "install-chromium: Chromium is missing and installing it needs root. Run as root:" >&2
    echo "    apt-get update && apt-get install -y chromium chromium-driver" >&2
    exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-chromium: no apt-get here; install Chromium and its chromedriver (same version) by hand" >&2
    exit 1
fi

echo "install-chromium: apt-get install chromium chromium-driver (about a minute) ..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
echo "chromium: $(/usr/bin/chromium --version 2>/dev/null | head -n 1); $(/usr/bin/chromedriver --version | head -n 1)"
