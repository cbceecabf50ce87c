#!/usr/bin/env bash
# risk.sh — the risk engine's figures (issue 3), in one go; the order path with the engine
# is step 5b of run.sh. Writes bench/out/risk-<timestamp>.md and prints RISKBENCH /
# BENCH lines.
#   1 decision latency in process (bench/risk_bench.c): the default pack, without and with
#     the model, over the labeled data set replayed 8 times (483,024 events)
#   2 tessera risk replay events/s: hyperfine over 2,000,000 synthetic events (50,000 users)
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

log "1. decision latency in process"
for model in "" "$MODEL"; do
    line=$("$RISK_BENCH" "$RULES" "$TMP/ecom/events.jsonl" "$model" 8)
    record "$RISK_BENCH rules/default.rules events.jsonl '${model:+models/ecom_fraud.json}' 8"
    LINES+="$line"$'\n'; printf '%s\n' "$line"
done
line=$("$RISK_BENCH" "$RULES" "$TMP/gen2m.jsonl" "" 1)
record "$RISK_BENCH rules/default.rules gen2m.jsonl '' 1"
LINES+="$line"$'\n'; printf '%s\n' "$line"

log "2. replay throughput (hyperfine, $HYPERFINE_RUNS runs)"
REPLAY="$TESSERA_BIN risk replay --rules $RULES --events $TMP/gen2m.jsonl --out /dev/null"
hyperfine --style basic --runs "$HYPERFINE_RUNS" --warmup 1 --export-json "$TMP/hf.json" "$REPLAY" >"$TMP/hf.txt" 2>&1
record "hyperfine --runs $HYPERFINE_RUNS --warmup 1 '$REPLAY'"
read -r MEAN SD MIN < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print(r["mean"], r["stddev"] or 0, r["min"])' "$TMP/hf.json")
line="BENCH step=risk_replay events=2000000 mean_s=$MEAN stddev_s=$SD min_s=$MIN events_per_s=$(awk -v s="$MEAN" 'BEGIN { printf "%d", 2000000 / s }') best_events_per_s=$(awk -v s="$MIN" 'BEGIN { printf "%d", 2000000 / s }')"
LINES+="$line"$'\n'; printf '%s\n' "$line"
REPLAY_ECOM="$TESSERA_BIN risk replay --rules $RULES --events $TMP/ecom8.jsonl --out /dev/null"
hyperfine --style basic --runs "$HYPERFINE_RUNS" --warmup 1 --export-json "$TMP/hf2.json" "$REPLAY_ECOM" >>"$TMP/hf.txt" 2>&1
record "hyperfine --runs $HYPERFINE_RUNS --warmup 1 '$REPLAY_ECOM'"
read -r MEAN2 SD2 MIN2 < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print(r["mean"], r["stddev"] or 0, r["min"])' "$TMP/hf2.json")
line="BENCH step=risk_replay_ecom events=483024 mean_s=$MEAN2 stddev_s=$SD2 events_per_s=$(awk -v s="$MEAN2" 'BEGIN { printf "%d", 483024 / s }') best_events_per_s=$(awk -v s="$MIN2" 'BEGIN { printf "%d", 483024 / s }')"
LINES+="$line"$'\n'; printf '%s\n' "$line"

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
