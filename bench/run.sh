#!/usr/bin/env bash
# run.sh — Tessera's benchmark suite in one go (called by `make bench`; see bench/README.md).
#
#   1 nginx `return 200` from memory   (the ceiling of this machine with these wrk settings)
#   2 GET /healthz                     3 GET /api/v1/products
#   4 POST /api/v1/orders, closed loop (peak orders/s, p50/p99)
#   5 POST /api/v1/orders at a fixed rate of half the peak (p99 there)
#   6 tessera import of IMPORT_CODES codes under /usr/bin/time -v; hyperfine, 100,000 codes
#   7 growth (GROWTH=1): bench/growth.sh (grown ÷ empty, in alternating rounds of 4 and 5)
#
# Every step prints one "BENCH step=... key=value ..." line; the report goes to
# bench/out/<timestamp>.md. Environment: DURATION (10s) CONNECTIONS (64) THREADS (2)
# WARMUP (2s) TESSERA_BIN (build/release/tessera) IMPORT_CODES (1000000)
# HYPERFINE_CODES (100000) HYPERFINE_RUNS (10) ORDER_CODES (enough for the order runs)
# GROWTH (0) NGINX_WORKERS (auto) BENCH_TMPDIR (/tmp) KEEP_TMP (0) OUT (the report path).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IMPORT_CODES=${IMPORT_CODES:-1000000}
HYPERFINE_CODES=${HYPERFINE_CODES:-100000}
HYPERFINE_RUNS=${HYPERFINE_RUNS:-10}
GROWTH=${GROWTH:-0}
# Codes for the order database: enough for 150,000 orders/s over both order runs and their
# warm-ups, so stock never runs out (checked afterwards).
ORDER_CODES=${ORDER_CODES:-$(orders_codes_for 1 150000)}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${OUT:-$BENCH_DIR/out/$STAMP.md}

bench_setup
command -v hyperfine >/dev/null || bench_die "hyperfine is missing (make bench-deps)"
[ -x /usr/bin/time ] || bench_die "/usr/bin/time is missing (make bench-deps)"
mkdir -p "$(dirname "$OUT")"

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
START_S=$(now_s)
bench_log "temp dir $BENCH_TMP ($BENCH_TMP_FS); report $OUT"
bench_log "wrk -t$THREADS -c$CONNECTIONS -d$DURATION (warm-up $WARMUP); tessera $TESSERA_BIN"

# --- 1. nginx return 200 from memory -------------------------------------------------------
nginx_start
REPORT_LUA="$BENCH_DIR/wrk/report.lua"
[ "$(dur_s "$WARMUP")" = 0 ] || wrk_run nginx-warmup "$WARMUP" "$REPORT_LUA" "$NGINX_URL"
wrk_run nginx "$DURATION" "$REPORT_LUA" "$NGINX_URL"
NGINX_RPS=$(kv "$WRK_LINE" rps) NGINX_P50=$(kv "$WRK_LINE" p50_ms) NGINX_P99=$(kv "$WRK_LINE" p99_ms)
NGINX_ERR=$(wrk_errors "$WRK_LINE")
summary "step=nginx_return_200 req_per_s=$NGINX_RPS p50_ms=$(kv "$WRK_LINE" p50_ms)" \
        "p99_ms=$(kv "$WRK_LINE" p99_ms) errors=$(wrk_errors "$WRK_LINE") workers=$NGINX_WORKERS"
nginx_stop

# --- the order database: template + ORDER_CODES codes --------------------------------------
bench_log "making the database (template, then $ORDER_CODES codes)"
make_template "$BENCH_TMP/template"
db_copy "$BENCH_TMP/template" "$BENCH_TMP/orders"
gen_codes "$ORDER_CODES" "ORD$RANDOM-" "$BENCH_TMP/codes-orders.txt"
import_codes "$BENCH_TMP/orders/t.db" "$BENCH_TMP/codes-orders.txt"
rm -f "$BENCH_TMP/codes-orders.txt"
# the same database again, for the orders under the default risk pack (step 5b)
[ ! -f "$BENCH_TMP/orders/t.db-wal" ] || sqlite3 "$BENCH_TMP/orders/t.db" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
db_copy "$BENCH_TMP/orders" "$BENCH_TMP/orders-risk"
tessera_start "$BENCH_TMP/orders/t.db" orders
login_as BUYER_TOKEN "$BUYER" "$BUYER_PASSWORD"

# --- 2, 3. GET /healthz, GET /api/v1/products ----------------------------------------------
[ "$(dur_s "$WARMUP")" = 0 ] || wrk_run healthz-warmup "$WARMUP" "$REPORT_LUA" "$TS_URL/healthz"
wrk_run healthz "$DURATION" "$REPORT_LUA" "$TS_URL/healthz"
HEALTHZ_RPS=$(kv "$WRK_LINE" rps) HEALTHZ_P50=$(kv "$WRK_LINE" p50_ms) HEALTHZ_P99=$(kv "$WRK_LINE" p99_ms)
HEALTHZ_ERR=$(wrk_errors "$WRK_LINE")
summary "step=healthz req_per_s=$HEALTHZ_RPS p50_ms=$(kv "$WRK_LINE" p50_ms)" \
        "p99_ms=$(kv "$WRK_LINE" p99_ms) errors=$(wrk_errors "$WRK_LINE")"

[ "$(dur_s "$WARMUP")" = 0 ] || wrk_run products-warmup "$WARMUP" "$REPORT_LUA" "$TS_URL/api/v1/products"
wrk_run products "$DURATION" "$REPORT_LUA" "$TS_URL/api/v1/products"
PRODUCTS_RPS=$(kv "$WRK_LINE" rps) PRODUCTS_P50=$(kv "$WRK_LINE" p50_ms) PRODUCTS_P99=$(kv "$WRK_LINE" p99_ms)
PRODUCTS_ERR=$(wrk_errors "$WRK_LINE")
summary "step=products req_per_s=$PRODUCTS_RPS p50_ms=$(kv "$WRK_LINE" p50_ms)" \
        "p99_ms=$(kv "$WRK_LINE" p99_ms) errors=$(wrk_errors "$WRK_LINE") catalog_size=${PRODUCTS:-10}"

# --- 4, 5. orders: peak, then a fixed rate of half the peak --------------------------------
orders_measure empty "${RATE:-0}"
EMPTY_ORDERS_RPS=$ORD_RPS EMPTY_P50=$ORD_P50 EMPTY_P99=$ORD_P99 EMPTY_BATCH=$ORD_BATCH
EMPTY_ERRORS=$ORD_ERRORS
EMPTY_RATE=$RATE_TARGET EMPTY_RATE_ACHIEVED=$RATE_ACHIEVED EMPTY_RATE_P50=$RATE_P50
EMPTY_RATE_P99=$RATE_P99 EMPTY_RATE_HELD=$RATE_HELD EMPTY_RATE_LAG_P99=$RATE_LAG_P99
EMPTY_RATE_LAG_MAX=$RATE_LAG_MAX EMPTY_RATE_ERRORS=$RATE_ERRORS
EMPTY_PLACED=$ORD_PLACED EMPTY_STOCK_LEFT=$ORD_STOCK_LEFT
tessera_stop
CHECK_OUT=$("$TESSERA_BIN" check --db "$BENCH_TMP/orders/t.db" 2>&1) && CHECK=ok || CHECK=broken
record_cmd "$TESSERA_BIN check --db $BENCH_TMP/orders/t.db"
# every 2xx wrk counted is a new order (unique keys), so the stock drop is at least that
# (it may be a little more: requests in flight when wrk stopped still complete)
summary "step=check_after_orders result=$CHECK orders_placed=$EMPTY_PLACED answered_2xx=$ORD_ANSWERED" \
        "stock_left=$EMPTY_STOCK_LEFT"
[ "$CHECK" = ok ] || printf '%s\n' "$CHECK_OUT" >&2
rm -rf "$BENCH_TMP/orders"

# --- 5b. the same orders with every rule of the default pack evaluated ---------------------
# The default pack in shadow mode: every feature computed, every rule run and recorded with
# the order, none acting (one buyer placing 30,000 orders a second is a burst the enforced
# pack would hold for review). The difference to step 4 is the engine's cost.
sed 's/^rule /shadow rule /' "$REPO_DIR/rules/default.rules" >"$BENCH_TMP/shadow.rules"
record_cmd "sed 's/^rule /shadow rule /' rules/default.rules > $BENCH_TMP/shadow.rules"
tessera_start "$BENCH_TMP/orders-risk/t.db" orders-risk
login_as ADMIN_TOKEN admin "$ADMIN_PASSWORD"
set_rules "$BENCH_TMP/shadow.rules" "$ADMIN_TOKEN"
login_as BUYER_TOKEN "$BUYER" "$BUYER_PASSWORD"
orders_measure risk "$EMPTY_RATE"
RISK_ORDERS_RPS=$ORD_RPS RISK_P99=$ORD_P99 RISK_RATE_P99=$RATE_P99 RISK_ERRORS=$ORD_ERRORS
RISK_DECIDED=$(curl -sf --max-time 10 "$TS_URL/metrics" | awk '$1 ~ /^tessera_risk_decisions_total/ { n += $2 } END { print n + 0 }')
tessera_stop
CHECK_OUT=$("$TESSERA_BIN" check --db "$BENCH_TMP/orders-risk/t.db" 2>&1) && RISK_CHECK=ok || RISK_CHECK=broken
summary "step=check_after_risk_orders result=$RISK_CHECK decisions=$RISK_DECIDED"
rm -rf "$BENCH_TMP/orders-risk"

# --- 6. import -----------------------------------------------------------------------------
bench_log "import: $IMPORT_CODES codes into a fresh database"
gen_codes "$IMPORT_CODES" "IMP$RANDOM-" "$BENCH_TMP/codes-import.txt"
db_copy "$BENCH_TMP/template" "$BENCH_TMP/import"
disk_settle # the order runs' databases, and the codes file, written out before the clock starts
T0=$(now_s)
/usr/bin/time -v -o "$BENCH_TMP/import.time" \
    "$TESSERA_BIN" import --db "$BENCH_TMP/import/t.db" --sku "$SKU" "$BENCH_TMP/codes-import.txt" \
    >"$BENCH_TMP/import.out" 2>&1 || { cat "$BENCH_TMP/import.out" >&2; bench_die "import"; }
T1=$(now_s)
record_cmd "/usr/bin/time -v $TESSERA_BIN import --db $BENCH_TMP/import/t.db --sku $SKU $BENCH_TMP/codes-import.txt"
IMPORT_OUT=$(cat "$BENCH_TMP/import.out")
IMPORTED=$(sed -n 's/.*imported \([0-9]*\),.*/\1/p' "$BENCH_TMP/import.out")
[ "$IMPORTED" = "$IMPORT_CODES" ] || bench_die "import: $IMPORT_OUT"
IMPORT_WALL=$(fmt 3 "$T1 - $T0")
IMPORT_RATE=$(awk -v n="$IMPORTED" -v s="$IMPORT_WALL" 'BEGIN { printf "%d", n / s }')
IMPORT_RSS_KB=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$BENCH_TMP/import.time")
IMPORT_RSS_MB=$(fmt 1 "$IMPORT_RSS_KB / 1024")
IMPORT_CPU=$(sed -n 's/.*Percent of CPU this job got: //p' "$BENCH_TMP/import.time")
IMPORT_TIME_V=$(cat "$BENCH_TMP/import.time")
summary "step=import codes=$IMPORTED wall_s=$IMPORT_WALL codes_per_s=$IMPORT_RATE" \
        "peak_rss_mb=$IMPORT_RSS_MB cpu=$IMPORT_CPU db_mb=$(fmt 1 "$(stat -c %s "$BENCH_TMP/import/t.db") / 1048576")"
rm -rf "$BENCH_TMP/import" "$BENCH_TMP/codes-import.txt"

gen_codes "$HYPERFINE_CODES" "HYP$RANDOM-" "$BENCH_TMP/codes-hyperfine.txt"
HF="$BENCH_TMP/hyperfine"
mkdir -p "$HF"
HF_FILES="$BENCH_TMP/template/t.db $BENCH_TMP/template/t.db.key"
[ ! -f "$BENCH_TMP/template/t.db-wal" ] || HF_FILES+=" $BENCH_TMP/template/t.db-wal"
HF_PREPARE="rm -f $HF/t.db $HF/t.db-wal $HF/t.db-shm $HF/t.db.key && cp $HF_FILES $HF/ && sync"
HF_CMD="$TESSERA_BIN import --db $HF/t.db --sku $SKU $BENCH_TMP/codes-hyperfine.txt"
hyperfine --style basic --runs "$HYPERFINE_RUNS" --warmup 1 --prepare "$HF_PREPARE" \
    --export-json "$BENCH_TMP/hyperfine.json" "$HF_CMD" >"$BENCH_TMP/hyperfine.txt" 2>&1 ||
    { cat "$BENCH_TMP/hyperfine.txt" >&2; bench_die "hyperfine"; }
record_cmd "hyperfine --style basic --runs $HYPERFINE_RUNS --warmup 1 --prepare '$HF_PREPARE' '$HF_CMD'"
read -r HF_MEAN HF_STDDEV HF_MIN HF_MAX < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print("%.4f %.4f %.4f %.4f" % (r["mean"], r["stddev"] or 0, r["min"], r["max"]))' "$BENCH_TMP/hyperfine.json")
HF_RATE=$(awk -v n="$HYPERFINE_CODES" -v s="$HF_MEAN" 'BEGIN { printf "%d", n / s }')
summary "step=import_hyperfine codes=$HYPERFINE_CODES runs=$HYPERFINE_RUNS mean_s=$HF_MEAN" \
        "stddev_s=$HF_STDDEV min_s=$HF_MIN max_s=$HF_MAX codes_per_s=$HF_RATE"
HF_TXT=$(cat "$BENCH_TMP/hyperfine.txt")
rm -rf "$HF"

# --- 7. growth -----------------------------------------------------------------------------
GROWTH_MD=""
if [ "$GROWTH" = 1 ]; then
    bench_log "growth: bench/growth.sh"
    GROWTH_OUT=$(GROWTH_REPORT="$BENCH_TMP/growth.md" BENCH_RUN_ID="$BENCH_RUN_ID-g" \
                 bash "$BENCH_DIR/growth.sh") || bench_die "growth.sh"
    printf '%s\n' "$GROWTH_OUT" | grep '^BENCH ' | while read -r l; do printf '%s\n' "$l"; done
    BENCH_LINES+=$(printf '%s\n' "$GROWTH_OUT" | grep '^BENCH ')$'\n'
    GROWTH_MD=$(cat "$BENCH_TMP/growth.md")
fi

# --- the report ----------------------------------------------------------------------------
END_S=$(now_s)
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
RATIO_ORDERS=$(ratio "$EMPTY_ORDERS_RPS" "$NGINX_RPS")
RATIO_HEALTHZ=$(ratio "$HEALTHZ_RPS" "$NGINX_RPS")
RATIO_PRODUCTS=$(ratio "$PRODUCTS_RPS" "$NGINX_RPS")
RATIO_RISK=$(ratio "$RISK_ORDERS_RPS" "$EMPTY_ORDERS_RPS")
yesno() { awk "BEGIN { print ($1) ? \"yes\" : \"no\" }"; }
summary "step=ratios orders_over_nginx=$RATIO_ORDERS healthz_over_nginx=$RATIO_HEALTHZ" \
        "products_over_nginx=$RATIO_PRODUCTS orders_target_quarter=$(yesno "$RATIO_ORDERS >= 0.25")" \
        "half_rate_p99_under_5ms=$(yesno "$EMPTY_RATE_P99 < 5 && \"$EMPTY_RATE_HELD\" == \"yes\"")" \
        "import_over_300k=$(yesno "$IMPORT_RATE >= 300000") import_rss_under_64mb=$(yesno "$IMPORT_RSS_MB < 64")" \
        "risk_orders_over_orders=$RATIO_RISK risk_loss_under_10_percent=$(yesno "$RATIO_RISK >= 0.90")"

CPU_MODEL=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
[ -n "$CPU_MODEL" ] || CPU_MODEL=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)
GIT_REV=$(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)
GIT_DIRTY=$(git -C "$REPO_DIR" status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo " (work tree has uncommitted changes)" || true)

{
cat <<EOF
# Tessera benchmark run $STAMP

- started $(date -u -d "@${START_S%.*}" +%FT%TZ), took $(awk -v s="$(calc "$END_S - $START_S")" 'BEGIN { printf "%d", s }') s
- commit $GIT_REV$GIT_DIRTY; \`$("$TESSERA_BIN" --version 2>&1 | head -n 1)\` ($TESSERA_BIN)
- \`nproc\`: $(nproc); CPU: $CPU_MODEL; memory: $(free -g | awk '/^Mem:/ { print $2 " GiB" }'); kernel $(uname -r)
- load average (1/5/15 min) before: $LOAD_BEFORE, after: $LOAD_AFTER
- temp dir filesystem: $BENCH_TMP_FS (the databases live there; SQLite WAL, synchronous=FULL)
- $(wrk -v 2>&1 | head -n 1); $("$NGINX" -v 2>&1); $(hyperfine --version)
- wrk settings for every HTTP step: \`-t$THREADS -c$CONNECTIONS -d$DURATION --latency\`, keep-alive,
  127.0.0.1, a $WARMUP unreported warm-up before each run; client and server share the machine.

## Results

| step | figure | p50 ms | p99 ms | errors |
|---|---|---|---|---|
| 1 nginx \`return 200\` ($NGINX_WORKERS workers) | $NGINX_RPS req/s | $NGINX_P50 | $NGINX_P99 | $NGINX_ERR |
| 2 \`GET /healthz\` | $HEALTHZ_RPS req/s | $HEALTHZ_P50 | $HEALTHZ_P99 | $HEALTHZ_ERR |
| 3 \`GET /api/v1/products\` (${PRODUCTS:-10} products) | $PRODUCTS_RPS req/s | $PRODUCTS_P50 | $PRODUCTS_P99 | $PRODUCTS_ERR |
| 4 \`POST /api/v1/orders\` peak (wallet, 1 code, durable) | $EMPTY_ORDERS_RPS orders/s | $EMPTY_P50 | $EMPTY_P99 | $EMPTY_ERRORS |
| 5 orders at a fixed $EMPTY_RATE/s (half the peak) | $EMPTY_RATE_ACHIEVED orders/s achieved | $EMPTY_RATE_P50 | $EMPTY_RATE_P99 | $EMPTY_RATE_ERRORS |
| 5b orders peak, the default risk pack evaluated (shadow) | $RISK_ORDERS_RPS orders/s | | $RISK_P99 | $RISK_ERRORS |
| 5b the same at $EMPTY_RATE/s | p99 $RISK_RATE_P99 ms | | $RISK_RATE_P99 | |
| 6 \`tessera import\` $IMPORTED codes | $IMPORT_RATE codes/s, ${IMPORT_WALL} s, peak RSS $IMPORT_RSS_MB MB | | | |
| 6 hyperfine, import $HYPERFINE_CODES codes ($HYPERFINE_RUNS runs) | mean $HF_MEAN s ± $HF_STDDEV → $HF_RATE codes/s | | | |

Latencies are wrk's (from the moment a request is written). Errors: socket errors, timeouts
and non-2xx answers (every order must be a 201). The fixed-rate run held its rate: $EMPTY_RATE_HELD
(send lag p99 $EMPTY_RATE_LAG_P99 ms, max $EMPTY_RATE_LAG_MAX ms — see bench/README.md). Average
writer batch during the peak run: $EMPTY_BATCH orders per commit. Orders placed in steps 4–5
with warm-ups: $EMPTY_PLACED (2xx answers counted by wrk: $ORD_ANSWERED); codes left in stock: $EMPTY_STOCK_LEFT; \`tessera check\`
afterwards: $CHECK.

## Ratios and targets (issue 2, "Performance")

| ratio | value | target |
|---|---|---|
| orders/s ÷ nginx req/s | $RATIO_ORDERS | ≥ 0.25 |
| healthz req/s ÷ nginx req/s | $RATIO_HEALTHZ | |
| products req/s ÷ nginx req/s | $RATIO_PRODUCTS | |
| p99 at half the peak rate | $EMPTY_RATE_P99 ms | < 5 ms |
| import codes/s | $IMPORT_RATE | ≥ 300,000 |
| import peak RSS | $IMPORT_RSS_MB MB | < 64 MB |
| orders/s with the default risk pack ÷ without rules (issue 3) | $RATIO_RISK | ≥ 0.90 |

Steps 4–5 run with an empty rule file (every order is still recorded as a risk event);
step 5b on a copy of the same database with every rule of rules/default.rules evaluated
and recorded but none acting (\`shadow\`), so both deliver every order. Decisions made in
5b: $RISK_DECIDED; \`tessera check\` afterwards: $RISK_CHECK.
EOF
if [ -n "$GROWTH_MD" ]; then printf '\n%s\n' "$GROWTH_MD"; else
    printf '\nGrowth not run (GROWTH=1, or bench/growth.sh on its own).\n'; fi
cat <<EOF

## Summary lines

\`\`\`
$BENCH_LINES\`\`\`

## Commands, as run

\`\`\`
$BENCH_COMMANDS\`\`\`

nginx configuration:

\`\`\`nginx
$(cat "$NGX/nginx.conf")
\`\`\`

## Raw output

\`\`\`
$WRK_RAW
### import ($IMPORT_OUT)
$IMPORT_TIME_V

### hyperfine
$HF_TXT
\`\`\`
EOF
} >"$OUT"
bench_log "report written to $OUT"
