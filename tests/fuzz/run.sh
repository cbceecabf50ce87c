#!/usr/bin/env bash
# Runs one libFuzzer harness briefly over its corpus. Exit 77 (skipped) when the harness
# was not built (no clang). Longer runs: see docs/FUZZING.md.
set -u
bin=$1; corpus=$2; seconds=${3:-15}
[ -x "$bin" ] || { echo "skipped: $bin not built (needs clang; run make fuzz)"; exit 77; }
mkdir -p "$corpus"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# -error_exitcode=1: libFuzzer's default (77) is CTest's "skipped" code here
"$bin" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=1024 -print_final_stats=1 \
    -error_exitcode=1 -timeout_exitcode=1 -artifact_prefix="$work/" "$work" "$corpus" 2>&1 |
    tail -n 15
status=${PIPESTATUS[0]}
if compgen -G "$work/crash-*" >/dev/null || compgen -G "$work/leak-*" >/dev/null ||
    compgen -G "$work/timeout-*" >/dev/null || compgen -G "$work/oom-*" >/dev/null; then
    echo "fuzzer found a failing input:"; ls "$work"
    exit 1
fi
[ "$status" -eq 77 ] && exit 1 # never let a harness's own exit read as "skipped"
exit "$status"
