#!/usr/bin/env bash
# risk.sh — the risk engine's figures (issue 3), in one go; the order path with the engine
# is step 5b of run.sh. Writes bench/out/risk-<timestamp>.md and prints RISKBENCH /
# BENCH lines.
#   1 decision latency in process (bench/risk_bench.c): the default pack, without and with
#     the model, over the labeled data set replayed 8 times (483,024 events)
#   2 tessera risk replay events/s: hyperfine over 2,000,000 synthetic events (50,000 users)
#     and the labeled data set ×8, each against the same replay with an empty rule file
#   3 memory: peak RSS of replaying 1M and 4M events of the same population (flat = the
#     state holds keys, not events)
#   4 quality: scripts/train_model.py, time split (the issue's protocol) and a random split
# Environment: TESSERA_BIN (build/release/tessera), RISK_BENCH (build/release/risk_bench),
# HYPERFINE_RUNS (5), QUALITY (1: run step 4), OUT.
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
TESSERA_BIN=${TESSERA_BIN:-$REPO_DIR/build/release/tessera}
RISK_BENCH=${RISK_BENCH:-$REPO_DIR/build/release/risk_bench}
HYPERFINE_RUNS=${HYPERFINE_RUNS:-5}
QUALITY=${QUALITY:-1}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${OUT:-$BENCH_DIR/out/risk-$STAMP.md}
RULES=$REPO_DIR/rules/default.rules
MODEL=$REPO_DIR/models/ecom_fraud.json
DATA=$REPO_DIR/../shared/data/ecom_fraud
TMP=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/tessera-risk.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
log() { printf '[risk %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
LINES="" CMDS=""
record() { CMDS+="$*"$'\n'; }
[ -x "$TESSERA_BIN" ] && [ -x "$RISK_BENCH" ] || { echo "build first (make build)" >&2; exit 1; }
mkdir -p "$(dirname "$OUT")"

log "events: the labeled data set, and synthetic streams"
/usr/bin/python3 "$REPO_DIR/scripts/ecom_events.py" "$DATA" "$TMP/ecom" >&2
record "scripts/ecom_events.py $DATA $TMP/ecom"
for i in 1 2 3 4 5 6 7 8; do cat "$TMP/ecom/events.jsonl"; done >"$TMP/ecom8.jsonl"
python3 "$BENCH_DIR/gen_events.py" 2000000 --users 50000 >"$TMP/gen2m.jsonl"
python3 "$BENCH_DIR/gen_events.py" 1000000 --users 50000 >"$TMP/gen1m.jsonl"
python3 "$BENCH_DIR/gen_events.py" 4000000 --users 50000 >"$TMP/gen4m.jsonl"
record "bench/gen_events.py {1000000,2000000,4000000} --users 50000 > gen{1,2,4}m.jsonl"

log "1. decision latency in process (baseline: an empty rule file)"
: >"$TMP/empty.rules"
line=$("$RISK_BENCH" "$TMP/empty.rules" "$TMP/ecom/events.jsonl" "" 8)
record "$RISK_BENCH empty.rules events.jsonl '' 8"
LINES+="$line"$'\n'; printf '%s\n' "$line"
for model in "" "$MODEL"; do
    line=$("$RISK_BENCH" "$RULES" "$TMP/ecom/events.jsonl" "$model" 8)
    record "$RISK_BENCH rules/default.rules events.jsonl '${model:+models/ecom_fraud.json}' 8"
    LINES+="$line"$'\n'; printf '%s\n' "$line"
done
line=$("$RISK_BENCH" "$RULES" "$TMP/gen2m.jsonl" "" 1)
record "$RISK_BENCH rules/default.rules gen2m.jsonl '' 1"
LINES+="$line"$'\n'; printf '%s\n' "$line"

log "2. replay throughput (hyperfine, $HYPERFINE_RUNS runs; baseline: an empty rule file)"
# replay_pair NAME FILE EVENTS: the empty file (parse, record, write) and the default pack in one
# hyperfine run, so the ratio compares like with like on this noisy machine
replay_pair() {
    local name=$1 file=$2 events=$3
    local base="$TESSERA_BIN risk replay --rules $TMP/empty.rules --events $file --out /dev/null"
    local pack="$TESSERA_BIN risk replay --rules $RULES --events $file --out /dev/null"
    hyperfine --style basic --runs "$HYPERFINE_RUNS" --warmup 1 --export-json "$TMP/hf-$name.json" \
        "$base" "$pack" >>"$TMP/hf.txt" 2>&1
    record "hyperfine --runs $HYPERFINE_RUNS --warmup 1 '$base' '$pack'"
    local line
    line=$(python3 - "$TMP/hf-$name.json" "$events" "$name" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))["results"]
events, name = int(sys.argv[2]), sys.argv[3]
base, pack = runs[0], runs[1]
print(f"BENCH step={name} events={events} mean_s={pack['mean']:.4f} stddev_s={pack['stddev'] or 0:.4f} "
      f"events_per_s={events / pack['mean']:.0f} best_events_per_s={events / pack['min']:.0f} "
      f"baseline_events_per_s={events / base['mean']:.0f} pack_over_baseline={base['mean'] / pack['mean']:.3f}")
PY
)
    LINES+="$line"$'\n'; printf '%s\n' "$line"
}
replay_pair risk_replay "$TMP/gen2m.jsonl" 2000000
replay_pair risk_replay_ecom "$TMP/ecom8.jsonl" 483024

log "3. memory against stream length"
for n in 1m 4m; do
    /usr/bin/time -v -o "$TMP/time-$n" "$TESSERA_BIN" risk replay --rules "$RULES" \
        --events "$TMP/gen$n.jsonl" --out /dev/null 2>"$TMP/replay-$n.err"
    record "/usr/bin/time -v $TESSERA_BIN risk replay --rules rules/default.rules --events gen$n.jsonl --out /dev/null"
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$TMP/time-$n")
    line="BENCH step=risk_memory events=$n peak_rss_mb=$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }') $(head -n 1 "$TMP/replay-$n.err" | tr ' ' '_')"
    LINES+="$line"$'\n'; printf '%s\n' "$line"
done

QUALITY_MD="(not run: QUALITY=0)"
if [ "$QUALITY" = 1 ]; then
    log "4. quality: scripts/train_model.py (time split, then random split)"
    /usr/bin/python3 "$REPO_DIR/scripts/train_model.py" --tessera "$TESSERA_BIN" --work "$TMP/model" \
        --out "$TMP/time.json" --split time >"$TMP/quality-time.txt" 2>&1
    /usr/bin/python3 "$REPO_DIR/scripts/train_model.py" --tessera "$TESSERA_BIN" --work "$TMP/model" \
        --out "$TMP/random.json" --split random >"$TMP/quality-random.txt" 2>&1
    record "scripts/train_model.py --split time; scripts/train_model.py --split random"
    QUALITY_MD=$(grep -vE '^\+ ' "$TMP/quality-time.txt"; echo; grep -vE '^\+ ' "$TMP/quality-random.txt")
fi

{
    echo "# Tessera risk benchmark $STAMP"
    echo
    echo "- commit $(git -C "$REPO_DIR" rev-parse --short HEAD); nproc $(nproc); $(lscpu | sed -n 's/^Model name: *//p' | head -n 1)"
    echo "- load average before/after: see summary; \`$("$TESSERA_BIN" --version)\`"
    echo
    echo '## Summary lines'
    echo '```'; printf '%s' "$LINES"; echo '```'
    echo
    echo '## Quality'
    echo '```'; printf '%s\n' "$QUALITY_MD"; echo '```'
    echo
    echo '## Commands'
    echo '```'; printf '%s' "$CMDS"; echo '```'
    echo
    echo '## hyperfine'
    echo '```'; cat "$TMP/hf.txt"; echo '```'
} >"$OUT"
log "report written to $OUT"
