#!/usr/bin/env bash
# Runs one libFuzzer harness briefly over its corpus. Exit 77 (skipped) when the harness
# was not built (no clang). Longer runs: see docs/FUZZING.md.
set -u
bin=$1; corpus=$2; seconds=${3:-15}
[ -x "$bin" ] || { echo "skipped: $bin not built (needs clang; run make fuzz)"; exit 77; }
mkdir -p "$corpus"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=1024 -print_final_stats=1 \
    -artifact_prefix="$work/" "$work" "$corpus" 2>&1 | tail -n 15
status=${PIPESTATUS[0]}
if ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* >/dev/null 2>&1; then
    echo "fuzzer found a failing input:"; ls "$work"
    exit 1
fi
exit "$status"
