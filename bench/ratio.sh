#!/usr/bin/env bash
# ratio.sh — durable orders/s ÷ nginx req/s (issue 2's target: at least 0.25), measured in
# alternating pairs so both sides of each ratio see the same minute of this noisy machine:
# ROUNDS (default 5) rounds of wrk against nginx `return 200`, then POST /api/v1/orders
# (wallet, one code, a new Idempotency-Key each), each after a WARMUP. Same wrk settings
# as run.sh (THREADS, CONNECTIONS, DURATION). Prints a BENCH line per run, the ratio per
# round, and the median and mean over the rounds. run.sh measures each side once, minutes
# apart; this is the figure to quote for the ratio. Each side's line also says where the
# two cores went (bench/lib.sh cpu_end): the server's CPU per answered request, the rest of
# the machine's (wrk, the kernel's threads), and the share left idle; the orders side also
# where an order's time went in the server (stages_end: queued for the writer, applied
# until durable, resumed until answered). Each round ends with orders at a fixed rate of
# half that round's peak (orders_rate_run, as run.sh's step 5): the p99 there, per round and
# the median — issue 2's second target (under 5 ms), measured in the same rounds.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=${ROUNDS:-5}
ORDER_CODES=${ORDER_CODES:-$(orders_codes_for "$((ROUNDS * 2))" 45000)}
bench_setup
bench_log "wrk -t$THREADS -c$CONNECTIONS -d$DURATION (warm-up $WARMUP), $ROUNDS rounds; tessera $TESSERA_BIN"

gen_codes "$ORDER_CODES" RATIO "$BENCH_TMP/codes.txt"
make_template "$BENCH_TMP/db"
import_codes "$BENCH_TMP/db/t.db" "$BENCH_TMP/codes.txt"
rm -f "$BENCH_TMP/codes.txt"
nginx_start
tessera_start "$BENCH_TMP/db/t.db" ratio
login_as BUYER_TOKEN "$BUYER" "$BUYER_PASSWORD"

REPORT_LUA="$BENCH_DIR/wrk/report.lua"
RATIOS=() HALF_P99S=() HELD=0
for round in $(seq 1 "$ROUNDS"); do
    wrk_run "nginx-warm-$round" "$WARMUP" "$REPORT_LUA" "$NGINX_URL"
    cpu_begin "$NGINX_PID" $(pgrep -P "$NGINX_PID")
    wrk_run "nginx-$round" "$DURATION" "$REPORT_LUA" "$NGINX_URL"
    cpu_end "$(kv "$WRK_LINE" requests)"
    nginx_rps=$(kv "$WRK_LINE" rps)
    summary "step=ratio side=nginx round=$round req_per_s=$nginx_rps p99_ms=$(kv "$WRK_LINE" p99_ms)" \
            "errors=$(wrk_errors "$WRK_LINE") $CPU_LINE"
    orders_wrk "orders-$round" "$BENCH_RUN_ID-$round" "$TS_PID"
    orders_rps=$(kv "$WRK_LINE" rps)
    errors=$(wrk_errors "$WRK_LINE")
    summary "step=ratio side=orders round=$round orders_per_s=$orders_rps p50_ms=$(kv "$WRK_LINE" p50_ms)" \
            "p99_ms=$(kv "$WRK_LINE" p99_ms) errors=$errors $CPU_LINE $STAGE_LINE"
    [ "$errors" = 0 ] || bench_die "orders round $round: $errors errors (every order must be a 201)"
    RATIOS+=("$(fmt 3 "$orders_rps / $nginx_rps")")
    half=$(awk -v r="$orders_rps" 'BEGIN { printf "%d", r / 2 }')
    orders_rate_run "rate-$round" "$BENCH_RUN_ID-rate-$round" "$half"
    summary "step=ratio side=half_rate round=$round target_per_s=$half achieved_per_s=$RATE_ACHIEVED" \
            "p50_ms=$RATE_P50 p99_ms=$RATE_P99 p999_ms=$(kv "$WRK_LINE" p999_ms)" \
            "send_lag_p99_ms=$RATE_LAG_P99 rate_held=$RATE_HELD errors=$RATE_ERRORS"
    [ "$RATE_ERRORS" = 0 ] || bench_die "fixed-rate round $round: $RATE_ERRORS errors"
    HALF_P99S+=("$RATE_P99")
    [ "$RATE_HELD" != yes ] || HELD=$((HELD + 1))
    summary "step=ratio_round round=$round orders_over_nginx=${RATIOS[-1]} half_rate_p99_ms=$RATE_P99"
done
tessera_stop
nginx_stop
CHECK_OUT=$("$TESSERA_BIN" check --db "$BENCH_TMP/db/t.db" 2>&1) && CHECK=ok || CHECK=broken
[ "$CHECK" = ok ] || printf '%s\n' "$CHECK_OUT" >&2
MEDIAN=$(median "${RATIOS[@]}")
MEAN=$(printf '%s\n' "${RATIOS[@]}" | awk '{ s += $1 } END { printf "%.3f", s / NR }')
P99_MEDIAN=$(median "${HALF_P99S[@]}")
summary "step=ratio_total rounds=$ROUNDS median=$MEDIAN mean=$MEAN all=$(IFS=,; echo "${RATIOS[*]}")" \
        "target_quarter=$(awk -v m="$MEDIAN" 'BEGIN { print (m >= 0.25) ? "yes" : "no" }')" \
        "half_rate_p99_median_ms=$P99_MEDIAN half_rate_p99_all=$(IFS=,; echo "${HALF_P99S[*]}")" \
        "rate_held=$HELD/$ROUNDS half_rate_p99_under_5ms=$(awk -v m="$P99_MEDIAN" 'BEGIN { print (m < 5) ? "yes" : "no" }')" \
        "check=$CHECK"
