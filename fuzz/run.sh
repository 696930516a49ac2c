#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 120) each, keeping the corpus
# in fuzz/corpus/<target>. Needs cargo-fuzz (cargo install cargo-fuzz); on a
# stable toolchain RUSTC_BOOTSTRAP=1 lets it use the sanitizer flags.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-120}"
for target in callback_parser signature query_params; do
    mkdir -p "corpus/$target"
    RUSTC_BOOTSTRAP=1 cargo fuzz run -O "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -max_len=8192 -print_final_stats=1 2>&1 | tail -n 12
done
