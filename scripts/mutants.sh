#!/usr/bin/env bash
# Mutation testing of grove-core's concurrency files (docs/verification.md).
# Each file is tested in two passes: first against grove-core's unit tests
# (a quick debug build), then what survived against the loom models (release,
# --cfg loom). Results go to target/mutants/<file>/mutants.out/ (caught.txt,
# missed.txt, ...).
#
#   bash scripts/mutants.sh                  the files below
#   bash scripts/mutants.sh completion inbox some of them
#
# Needs `cargo install cargo-mutants`. About 16 s per mutant on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

files=("$@")
if [ ${#files[@]} -eq 0 ]; then
    files=(completion inbox record registry idle park handoff timer wait)
fi
models=()
for m in crates/grove-core/tests/loom_*.rs; do
    models+=("--cargo-test-arg=--test=$(basename "$m" .rs)")
done
status=0
for f in "${files[@]}"; do
    out="target/mutants/$f"
    mkdir -p "$out"
    # grove-core declares most of these modules twice (public under loom),
    # so cargo-mutants lists every mutant twice, the second half repeating
    # the first: shard 0 of 2, sliced, is each mutant once.
    shard=0/2
    if [ "$(grep -c "mod $f;" crates/grove-core/src/lib.rs)" -eq 1 ]; then
        shard=0/1
    fi
    common=(-p grove-core --file "crates/grove-core/src/$f.rs" --shard "$shard"
        --sharding slice -j 1 --timeout 60 --test-workspace=false -o "$out")
    echo "== $f: unit tests"
    # Exit 2 (some missed) and 3 (some timed out) are results, not errors.
    rc=0
    cargo mutants "${common[@]}" --cargo-test-arg=--lib || rc=$?
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ] && [ "$rc" -ne 3 ]; then
        echo "cargo mutants failed (exit $rc)" >&2
        exit "$rc"
    fi
    echo "== $f: loom models, for what the unit tests missed"
    RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 \
        cargo mutants "${common[@]}" --iterate --profile release "${models[@]}" || status=1
done
exit $status
