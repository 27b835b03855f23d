#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 30) from the committed corpus;
# exits non-zero on the first crash, leaving the input in fuzz/artifacts/<target>/.
# CI calls it as is; see fuzz/README.md for longer runs.
#
# New inputs the fuzzer finds go to a scratch directory, so a run never changes
# the committed corpus (grow it on purpose: README.md, "Growing the corpus").
set -euo pipefail

seconds="${1:-30}"
cd "$(dirname "$0")"

# cargo-fuzz wants nightly for the sanitizer flags; the stable toolchain takes
# them with RUSTC_BOOTSTRAP.
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

cargo fuzz build
for target in $(cargo fuzz list); do
    echo "== fuzzing $target for ${seconds}s"
    mkdir -p "$scratch/$target"
    cargo fuzz run "$target" "$scratch/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1
done
echo "== all fuzz targets ran ${seconds}s without a crash"
