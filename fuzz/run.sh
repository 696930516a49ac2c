#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) for SECONDS each (default 120),
# keeping the corpus in fuzz/corpus/<target>; crashes land in
# fuzz/artifacts/<target>. Needs cargo-fuzz (cargo install cargo-fuzz); on a
# stable toolchain RUSTC_BOOTSTRAP=1 lets it use the sanitizer flags.
#   fuzz/run.sh 300                  all three, 5 minutes each
#   SECONDS_EACH=60 fuzz/run.sh 60 signature
set -uo pipefail
cd "$(dirname "$0")"
seconds="${1:-120}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(callback_parser signature query_params)
status=0
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    echo "== $target, ${seconds}s"
    RUSTC_BOOTSTRAP=1 cargo fuzz run -O "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -max_len=8192 -print_final_stats=1 > "/tmp/fuzz-$target.log" 2>&1
    rc=$?
    grep -E "^Done|number_of_executed_units|new_units_added|SUMMARY|Failing input" "/tmp/fuzz-$target.log"
    echo "corpus: $(ls "corpus/$target" | wc -l) inputs; exit $rc"
    [ $rc -eq 0 ] || status=1
done
exit $status
