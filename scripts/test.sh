#!/usr/bin/env bash
# Runs every check and test of minibus on a fresh machine of our kind (Debian, Rust via rustup).
# It installs whatever such a machine lacks (scripts/install-test-tools.sh: the npm and PyPI
# packages and promtool that some tests drive).
# Large sizes (1M-event logs, 100 crash rounds) run only with MINIBUS_SOAK=1.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== test tools"
./scripts/install-test-tools.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo doc"
# Every crate's docs, warnings as errors: broken or private intra-doc links fail the run.
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features --locked

echo "== cargo test"
cargo test --workspace --locked 2>&1 | tee target/test-output.txt

# One closing line over every test binary (cargo's own last line is a doc-test run that
# may count 0 tests).
awk '/^test result:/ { p += $4; f += $6 } END { printf "summary: %d passed, %d failed\n", p, f }' target/test-output.txt
