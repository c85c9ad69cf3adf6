#!/usr/bin/env bash
# Mutation testing of grove-core's concurrency files (docs/verification.md).
# Each file is tested in two passes: first against the loom models (release,
# --cfg loom), then what survived against grove-core's unit tests. Results go
# to target/mutants/<file>/mutants.out/ (caught.txt, missed.txt, ...).
#
#   bash scripts/mutants.sh                  the files below
#   bash scripts/mutants.sh completion inbox some of them
#
# Needs `cargo install cargo-mutants`. About 16 s per mutant on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

files=("$@")
if [ ${#files[@]} -eq 0 ]; then
    files=(completion inbox record registry idle park)
fi
models=()
for m in crates/grove-core/tests/loom_*.rs; do
    models+=("--cargo-test-arg=--test=$(basename "$m" .rs)")
done
status=0
for f in "${files[@]}"; do
    out="target/mutants/$f"
    # grove-core declares each of these modules twice (public under loom),
    # so cargo-mutants lists every mutant twice, the second half repeating
    # the first: shard 0 of 2, sliced, is each mutant once.
    common=(-p grove-core --file "crates/grove-core/src/$f.rs" --shard 0/2
        --sharding slice -j 1 --timeout 300 --test-workspace=false -o "$out")
    echo "== $f: loom models"
    RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 \
        cargo mutants "${common[@]}" --profile release "${models[@]}" || true
    echo "== $f: unit tests, for what the models missed"
    cargo mutants "${common[@]}" --iterate --cargo-test-arg=--lib || status=1
done
exit $status
