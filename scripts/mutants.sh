#!/usr/bin/env bash
# Mutation testing of the bus's core files with cargo-mutants. Not part of scripts/test.sh:
# it rebuilds the bus crate once per mutant (about 120 of them), which takes most of an hour.
#
# Each mutant of the four files below (a changed operator, a function body replaced by a
# constant) is written into the checkout itself, one at a time, built, and tested with the bus
# crate's unit tests (`--lib`): the tests that guard these files live in their own test
# modules. The original file is put back after each mutant; edit nothing under bus/src while
# it runs. A run killed mid-way can leave a mutant in place: this script says so, and refuses
# to start on one. (cargo-mutants' default, a scratch copy of the workspace, does not keep
# target/'s timestamps and so rebuilds every dependency first.) A mutant the tests do not fail
# on is "missed"; one that does not compile is "unviable".
#
# Results: target/mutants/mutants.out/ (missed.txt, caught.txt, unviable.txt, timeout.txt,
# outcomes.json, a log per mutant). Extra arguments go to cargo mutants: `--iterate` reruns
# only the mutants not caught last time, `--list` shows the mutants without testing them.
# Survivors judged equivalent are excluded, each with its reason, in .cargo/mutants.toml.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_MUTANTS_VERSION=27.1.0
if [[ "$(cargo mutants --version 2>/dev/null)" != "cargo-mutants $CARGO_MUTANTS_VERSION" ]]; then
    echo "== installing cargo-mutants $CARGO_MUTANTS_VERSION"
    cargo install cargo-mutants --locked --version "$CARGO_MUTANTS_VERSION"
fi

CORE_FILES=(
    bus/src/signature.rs
    bus/src/daemon/store/record.rs
    bus/src/daemon/subs/spec.rs
    bus/src/daemon/subs/verdict.rs
)
# What cargo-mutants writes into a mutated line.
MARKER='~ changed by cargo-mutants ~'
mutated_files() {
    grep -l -F -- "$MARKER" "${CORE_FILES[@]}" || true
}
if [[ -n "$(mutated_files)" ]]; then
    echo "a mutant was left in $(mutated_files) by an interrupted run: restore it (git diff)" >&2
    exit 1
fi
trap 'if [[ -n "$(mutated_files)" ]]; then echo "a mutant is still in $(mutated_files): restore it (git diff)" >&2; fi' EXIT

file_args=()
for file in "${CORE_FILES[@]}"; do
    file_args+=(--file "$file")
done

# In place means one mutant at a time; with a low priority too, a full run does not crowd
# out other work on a small machine.
nice -n 10 cargo mutants \
    --package bus --features daemon "${file_args[@]}" \
    --in-place --cargo-arg=--lib --output target/mutants \
    "$@"
