#!/usr/bin/env bash
# growth.sh — order throughput and latency on a grown database against an empty one.
#
# Builds a database holding GROWTH_CODES codes (10,000,000) imported with `tessera import`,
# then places GROWTH_ORDERS orders (1,000,000) through the real HTTP API, as fast as it goes
# (wrk with orders.lua, the same settings as the measured runs, in rounds until the stock
# has dropped by GROWTH_ORDERS). It then measures orders as run.sh steps 4 and 5 (closed-loop
# peak, p50/p99; fixed rate at half the empty peak, p99) on that grown database and on an
# empty one (holding only the codes the runs need) in GROWTH_ROUNDS alternating rounds —
# empty, grown, empty, grown… each on a freshly started server — so each round's grown ÷
# empty ratios compare runs a minute apart on this noisy machine, not minutes apart; the
# medians of the rounds' ratios are the figures. Slow: the import and the fill take minutes
# on a 2-core machine.
#
# Environment: as run.sh (DURATION CONNECTIONS THREADS WARMUP TESSERA_BIN BENCH_TMPDIR
# KEEP_TMP ORDER_KEYS), plus GROWTH_CODES, GROWTH_ORDERS, GROWTH_ROUNDS (3), GROWTH_FILL_MAX_S (3600, a
# bound on the fill),
# GROWTH_CHECK (1: run `tessera check` on the grown database at the end), GROWTH_REPORT
# (where the markdown section goes; default bench/out/<timestamp>-growth.md).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

GROWTH_CODES=${GROWTH_CODES:-10000000}
GROWTH_ORDERS=${GROWTH_ORDERS:-1000000}
GROWTH_ROUNDS=${GROWTH_ROUNDS:-3}
GROWTH_FILL_MAX_S=${GROWTH_FILL_MAX_S:-3600}
GROWTH_CHECK=${GROWTH_CHECK:-1}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
GROWTH_REPORT=${GROWTH_REPORT:-$BENCH_DIR/out/$STAMP-growth.md}
[ "$GROWTH_ORDERS" -lt "$GROWTH_CODES" ] || { echo "GROWTH_ORDERS must be below GROWTH_CODES" >&2; exit 2; }

bench_setup
mkdir -p "$(dirname "$GROWTH_REPORT")"
bench_log "growth: $GROWTH_CODES codes, $GROWTH_ORDERS orders; temp dir $BENCH_TMP ($BENCH_TMP_FS)"
make_template "$BENCH_TMP/template"

# --- the empty database: the template and the codes the measured rounds need --------------
db_copy "$BENCH_TMP/template" "$BENCH_TMP/empty"
gen_codes "$(orders_codes_for "$((GROWTH_ROUNDS * 2))" 45000)" "EMP$RANDOM-" "$BENCH_TMP/codes-empty.txt"
import_codes "$BENCH_TMP/empty/t.db" "$BENCH_TMP/codes-empty.txt"
rm -f "$BENCH_TMP/codes-empty.txt"

# --- the grown database --------------------------------------------------------------------
db_copy "$BENCH_TMP/template" "$BENCH_TMP/grown"
bench_log "growth: generating and importing $GROWTH_CODES codes"
gen_codes "$GROWTH_CODES" "GRW$RANDOM-" "$BENCH_TMP/codes-grown.txt"
disk_settle
T0=$(now_s)
import_codes "$BENCH_TMP/grown/t.db" "$BENCH_TMP/codes-grown.txt"
IMPORTED=$IMPORTED_N
T1=$(now_s)
rm -f "$BENCH_TMP/codes-grown.txt"
[ "$IMPORTED" = "$GROWTH_CODES" ] || bench_die "imported $IMPORTED of $GROWTH_CODES codes"
IMPORT_S=$(fmt 1 "$T1 - $T0")
summary "step=growth_import codes=$IMPORTED wall_s=$IMPORT_S" \
        "codes_per_s=$(awk -v n="$IMPORTED" -v s="$IMPORT_S" 'BEGIN { printf "%d", n / s }')"

tessera_start "$BENCH_TMP/grown/t.db" fill
login_as BUYER_TOKEN "$BUYER" "$BUYER_PASSWORD"
STOCK0=$(stock_of)
bench_log "growth: placing $GROWTH_ORDERS orders through the API (stock $STOCK0)"
T0=$(now_s)
placed=0 round=0 FILL_ERRORS=0
rate=20000 # the first round's guess; later rounds are sized from the last one's rate
while [ "$placed" -lt "$GROWTH_ORDERS" ]; do
    elapsed=$(calc "$(now_s) - $T0")
    awk -v e="$elapsed" -v m="$GROWTH_FILL_MAX_S" 'BEGIN { exit !(e > m) }' &&
        bench_die "fill: only $placed orders after $GROWTH_FILL_MAX_S s (GROWTH_FILL_MAX_S)"
    round=$((round + 1))
    # a round long enough for what is left at the last round's rate, 1 to 60 s
    d=$(awk -v left="$((GROWTH_ORDERS - placed))" -v r="$rate" \
        'BEGIN { s = (r > 0) ? left / r : 10; if (s < 1) s = 1; if (s > 60) s = 60; printf "%d", s + 0.999 }')
    wrk_run "fill-$round" "${d}s" "$BENCH_DIR/wrk/orders.lua" "$TS_URL/api/v1/orders" \
        "$BUYER_TOKEN" "$BENCH_RUN_ID-fill-$round" "$SKU"
    FILL_ERRORS=$((FILL_ERRORS + $(wrk_errors "$WRK_LINE")))
    rate=$(kv "$WRK_LINE" rps)
    placed=$((STOCK0 - $(stock_of)))
    bench_log "growth: round $round: $placed orders placed ($rate/s)"
done
FILL_S=$(fmt 1 "$(now_s) - $T0")
FILL_ROUNDS=$round
NEEDED=$(orders_codes_for "$((GROWTH_ROUNDS * 2))" 45000)
[ "$(stock_of)" -ge "$NEEDED" ] ||
    bench_die "the grown database holds $(stock_of) codes, the measured rounds need $NEEDED (raise GROWTH_CODES)"
summary "step=growth_fill orders=$placed rounds=$FILL_ROUNDS wall_s=$FILL_S" \
        "orders_per_s=$(awk -v n="$placed" -v s="$FILL_S" 'BEGIN { printf "%d", n / s }') errors=$FILL_ERRORS via=http_api"
tessera_stop

# --- the measured rounds: empty, then grown, each on a freshly started server --------------
R_RPS_ALL=() R_P50_ALL=() R_P99_ALL=() R_RATE_ALL=() ROWS=""
for round in $(seq 1 "$GROWTH_ROUNDS"); do
    tessera_start "$BENCH_TMP/empty/t.db" "empty-$round"
    login_as BUYER_TOKEN "$BUYER" "$BUYER_PASSWORD"
    orders_measure "empty_$round" 0
    tessera_stop
    [ "$ORD_ERRORS$RATE_ERRORS" = 00 ] || bench_die "empty round $round: errors (every order must be a 201)"
    E_RPS=$ORD_RPS E_P50=$ORD_P50 E_P99=$ORD_P99 E_RATE=$RATE_TARGET E_RATE_P99=$RATE_P99
    E_HELD=$RATE_HELD
    tessera_start "$BENCH_TMP/grown/t.db" "grown-$round"
    login_as BUYER_TOKEN "$BUYER" "$BUYER_PASSWORD"
    orders_measure "grown_$round" "$E_RATE"
    tessera_stop
    [ "$ORD_ERRORS$RATE_ERRORS" = 00 ] || bench_die "grown round $round: errors (every order must be a 201)"
    R_RPS_ALL+=("$(ratio "$ORD_RPS" "$E_RPS")") R_P50_ALL+=("$(ratio "$ORD_P50" "$E_P50")")
    R_P99_ALL+=("$(ratio "$ORD_P99" "$E_P99")") R_RATE_ALL+=("$(ratio "$RATE_P99" "$E_RATE_P99")")
    summary "step=growth_round round=$round orders_per_s_ratio=${R_RPS_ALL[-1]}" \
            "p50_ratio=${R_P50_ALL[-1]} p99_ratio=${R_P99_ALL[-1]} fixed_rate_p99_ratio=${R_RATE_ALL[-1]}" \
            "rate=$E_RATE rate_held=$E_HELD/$RATE_HELD"
    ROWS+="| $round | $E_RPS / $ORD_RPS | $E_P50 / $ORD_P50 | $E_P99 / $ORD_P99 | $E_RATE: $E_RATE_P99 / $RATE_P99 (held: $E_HELD / $RATE_HELD) | ${R_RPS_ALL[-1]} | ${R_P50_ALL[-1]} | ${R_P99_ALL[-1]} | ${R_RATE_ALL[-1]} |"$'\n'
done
DB_MB=$(fmt 1 "$(stat -c %s "$BENCH_TMP/grown/t.db") / 1048576")
R_RPS=$(median "${R_RPS_ALL[@]}") R_P50=$(median "${R_P50_ALL[@]}")
R_P99=$(median "${R_P99_ALL[@]}") R_RATE_P99=$(median "${R_RATE_ALL[@]}")
WITHIN=$(awk -v a="$R_RPS" -v b="$R_P50" -v c="$R_P99" -v d="$R_RATE_P99" \
         'BEGIN { print (a >= 0.8 && b <= 1.2 && c <= 1.2 && d <= 1.2) ? "yes" : "no" }')
summary "step=growth_ratios rounds=$GROWTH_ROUNDS orders_per_s_ratio=$R_RPS p50_ratio=$R_P50" \
        "p99_ratio=$R_P99 fixed_rate_p99_ratio=$R_RATE_P99 within_20_percent=$WITHIN db_mb=$DB_MB" \
        "(medians over the rounds)"

CHECK="not run" CHECK_COUNTS=""
if [ "$GROWTH_CHECK" = 1 ]; then
    T0=$(now_s)
    CHECK_OUT=$("$TESSERA_BIN" check --db "$BENCH_TMP/grown/t.db" 2>&1) && CHECK=ok || CHECK=broken
    record_cmd "$TESSERA_BIN check --db $BENCH_TMP/grown/t.db"
    CHECK_COUNTS=$(printf '%s\n' "$CHECK_OUT" | python3 -c '
import sys, json
try:
    c = json.load(sys.stdin)["counts"]
    print(" ".join("%s=%s" % (k, c[k]) for k in ("codes", "orders", "codes_sold") if k in c))
except Exception:
    print("")')
    summary "step=growth_check result=$CHECK wall_s=$(fmt 1 "$(now_s) - $T0") $CHECK_COUNTS"
    [ "$CHECK" = ok ] || printf '%s\n' "$CHECK_OUT" >&2
fi

cat >"$GROWTH_REPORT" <<EOF
## Growth (bench/growth.sh)

The grown database: $IMPORTED codes imported with \`tessera import\` ($IMPORT_S s), then
$placed orders placed through the HTTP API as fast as it went ($FILL_ROUNDS wrk rounds of
orders.lua, $FILL_S s). Database file $DB_MB MB after the rounds below (whose orders it
holds too); \`tessera check\` at the end: $CHECK${CHECK_COUNTS:+, $CHECK_COUNTS}.
Idempotency keys: ${ORDER_KEYS:-RUN-THREAD-N (sorted together)}${ORDER_KEYS:+ (random UUIDs, ORDER_KEYS=uuid)}.
Then $GROWTH_ROUNDS rounds, each measuring an empty database (only the codes the runs need)
and then the grown one like steps 4 and 5, each on a freshly started server; the fixed rate
is half of that round's empty peak. Figures are empty / grown.

| round | peak orders/s | peak p50 ms | peak p99 ms | fixed rate/s: p99 ms | orders/s ratio | p50 ratio | p99 ratio | fixed-rate p99 ratio |
|---|---|---|---|---|---|---|---|---|
${ROWS}| **median** | | | | | **$R_RPS** | **$R_P50** | **$R_P99** | **$R_RATE_P99** |

Within 20% (median throughput ratio ≥ 0.8, every median latency ratio ≤ 1.2): $WITHIN.

Commands:

\`\`\`
$BENCH_COMMANDS\`\`\`
EOF
bench_log "growth report: $GROWTH_REPORT"
