#!/usr/bin/env bash
# Runs grove's tests under AddressSanitizer or ThreadSanitizer, with grove told
# about every green-thread stack switch (grove-core's src/sanitize.rs) and the
# standard library rebuilt with the same checker. Needs the nightly toolchain
# with its rust-src component. See docs/verification.md.
#
#   bash scripts/sanitize.sh address                 every test of the workspace
#   bash scripts/sanitize.sh thread -p grove-core    cargo test's own arguments
#
# Exits non-zero on the first report.
set -euo pipefail
cd "$(dirname "$0")/.."

kind="${1:-}"
case "$kind" in
address | thread) shift ;;
*)
    echo "usage: bash scripts/sanitize.sh address|thread [cargo test arguments]" >&2
    exit 2
    ;;
esac
if ! rustup run nightly rustc --print sysroot >/dev/null 2>&1; then
    echo "the nightly toolchain is not installed (rustup toolchain install nightly)" >&2
    exit 2
fi
sysroot=$(rustup run nightly rustc --print sysroot)
if [ ! -d "$sysroot/lib/rustlib/src/rust/library" ]; then
    echo "nightly has no rust-src (rustup component add rust-src --toolchain nightly)" >&2
    exit 2
fi
host=$(rustup run nightly rustc -vV | sed -n 's/^host: //p')

flags="-Zsanitizer=$kind --cfg grove_sanitize=\"$kind\""
export RUSTFLAGS="$flags"
export RUSTDOCFLAGS="$flags"
# Leak checking is off: LeakSanitizer does not scan green-thread stacks, so
# whatever only a parked green thread points to would be reported as leaked.
# Fake stacks are on, so that every switch moves them (the part of ASan that
# needs grove's annotations most).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:detect_stack_use_after_return=1:halt_on_error=1}"
# The suppressions file names each report that is not grove's, and why.
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/scripts/tsan-suppressions.txt}"

args=("$@")
if [ ${#args[@]} -eq 0 ]; then
    args=(--workspace)
fi
exec cargo +nightly test -Zbuild-std --target "$host" --target-dir "target/$kind" "${args[@]}"
