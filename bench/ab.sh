#!/usr/bin/env bash
# ab.sh — orders/s of two tessera binaries, alternating on this machine in one run, so a
# change's effect on the order path is measured against its baseline under the same noise:
#   BIN_A (default build/release/tessera) and BIN_B (required), each with its own database
#   (made by that binary: `tessera init`, the run.sh catalog, ORDER_CODES codes, the empty
#   rule file), ROUNDS (default 3) rounds of wrk POST /api/v1/orders (DURATION, warm-up
#   first) A then B; prints a BENCH line per run and the ratio B ÷ A per round and in all.
#   RULES_B: a rule file put live on B's database (BIN_B then defaults to BIN_A), so the
#   same binary is measured with and without a rule pack (the engine's cost on orders).
#   RATE: instead of the closed loop, each run sends orders at this fixed rate (orders/s,
#   orders_rate.lua; warm-up at the same rate) and the figure compared is the p99 latency —
#   run.sh's step 5 for two binaries, e.g. RATE= half of run.sh's peak.
# Example: git worktree add /tmp/base fe00a47 && (cd /tmp/base && make build) &&
#          BIN_B=build/release/tessera BIN_A=/tmp/base/build/release/tessera bash bench/ab.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BIN_A=${BIN_A:-$REPO_DIR/build/release/tessera}
RULES_B=${RULES_B:-}
if [ -n "$RULES_B" ]; then BIN_B=${BIN_B:-$BIN_A}; fi
BIN_B=${BIN_B:?BIN_B: the binary to compare with BIN_A (or RULES_B: a rule file for B)}
ROUNDS=${ROUNDS:-3}
RATE=${RATE:-}
ORDER_CODES=${ORDER_CODES:-$(orders_codes_for "$ROUNDS" "${RATE:-40000}")}
bench_setup

gen_codes "$ORDER_CODES" AB "$BENCH_TMP/codes.txt"
for side in A B; do
    bin_var=BIN_$side
    TESSERA_BIN=${!bin_var}
    make_template "$BENCH_TMP/$side"
    import_codes "$BENCH_TMP/$side/t.db" "$BENCH_TMP/codes.txt"
done
if [ -n "$RULES_B" ]; then
    TESSERA_BIN=$BIN_B
    tessera_start "$BENCH_TMP/B/t.db" ab-rules
    login_as ADMIN_TOKEN admin "$ADMIN_PASSWORD"
    set_rules "$RULES_B" "$ADMIN_TOKEN"
    tessera_stop
fi

declare -A RPS # orders/s per run (p99 ms under RATE)
for round in $(seq 1 "$ROUNDS"); do
    for side in A B; do
        bin_var=BIN_$side
        TESSERA_BIN=${!bin_var}
        tessera_start "$BENCH_TMP/$side/t.db" "ab-$side-$round"
        login_as BUYER_TOKEN "$BUYER" "$BUYER_PASSWORD"
        if [ -n "$RATE" ]; then
            orders_rate_run "orders-$side-$round" "$BENCH_RUN_ID-$side$round" "$RATE"
            RPS[$side$round]=$(kv "$WRK_LINE" p99_ms)
        else
            orders_wrk "orders-$side-$round" "$BENCH_RUN_ID-$side$round"
            RPS[$side$round]=$(kv "$WRK_LINE" rps)
        fi
        summary "step=ab side=$side round=$round orders_per_s=$(kv "$WRK_LINE" rps)" \
                "p50_ms=$(kv "$WRK_LINE" p50_ms) p99_ms=$(kv "$WRK_LINE" p99_ms)" \
                "p999_ms=$(kv "$WRK_LINE" p999_ms) errors=$(wrk_errors "$WRK_LINE")" \
                ${RATE:+"rate=$RATE send_lag_p99_ms=$RATE_LAG_P99 rate_held=$RATE_HELD"}
        tessera_stop
    done
    summary "step=ab_round round=$round b_over_a=$(fmt 3 "${RPS[B$round]} / ${RPS[A$round]}")"
done
SUM_A=0
SUM_B=0
for round in $(seq 1 "$ROUNDS"); do
    SUM_A=$(calc "$SUM_A + ${RPS[A$round]}")
    SUM_B=$(calc "$SUM_B + ${RPS[B$round]}")
done
FIGURE=orders_per_s
[ -z "$RATE" ] || FIGURE=p99_ms
summary "step=ab_total rounds=$ROUNDS figure=$FIGURE" \
        "a_mean=$(fmt 2 "$SUM_A / $ROUNDS") b_mean=$(fmt 2 "$SUM_B / $ROUNDS")" \
        "b_over_a=$(fmt 3 "$SUM_B / $SUM_A")"
