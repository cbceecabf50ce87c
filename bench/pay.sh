#!/usr/bin/env bash
# pay.sh — the payment figures (issue 4), in one run:
#   1 notice verification alone, in process, one core (build/release/pay_bench): EPay,
#     Stripe, the sandbox, Alipay and WeChat Pay notices/s
#   2 POST /api/v1/orders through the sandbox gateway (pending_payment, codes reserved) and,
#     as the baseline in the same run, wallet orders — wrk, the run.sh settings
#   3 POST /api/v1/pay/sandbox/notify: one signed notice for each pending order of step 2,
#     sent once each (wrk, notify.lua); applied payments/s are counted in the database
#   4 EPay: orders (a signed submit.php URL each), then one signed GET notice per pending
#     EPay order (notify.lua in its epay mode)
#   5 WeChat Pay: orders whose Native payment is created at the fake WeChat Pay API
#     (bench/wechat_world.py, tests/api/fake_providers.py: bounded by that Python fake), then
#     one signed, encrypted notice per pending order, sent for DURATION (repeats after the
#     first pass: verified, answered from the dedupe)
#   6 tessera check afterwards
# Writes bench/out/pay-<timestamp>.md and prints BENCH / PAYBENCH lines. Environment: as
# run.sh (DURATION CONNECTIONS THREADS WARMUP TESSERA_BIN BENCH_TMPDIR KEEP_TMP), PAY_CODES.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PAY_CODES=${PAY_CODES:-900000}
PAY_BENCH=${PAY_BENCH:-$REPO_DIR/build/release/pay_bench}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${OUT:-$BENCH_DIR/out/pay-$STAMP.md}
command -v sqlite3 >/dev/null || bench_die "sqlite3 is missing (make deps)"
[ -x "$PAY_BENCH" ] || bench_die "no pay_bench at $PAY_BENCH (make build)"
bench_setup
mkdir -p "$(dirname "$OUT")"

# notify_run STEP PROVIDER FILE PENDING: the signed notices in FILE sent to the provider's
# notify endpoint for DURATION (notify.lua, each once, then again from the start); payments
# applied are counted in the database, not from answers. A run that outlasts the file sends
# repeats: verified in full, answered from the dedupe without a change (all_sent_once=no).
notify_run() {
    local step=$1 provider=$2 file=$3 pending=$4 before after
    before=$(sqlite3 "$BENCH_TMP/pay/t.db" "SELECT count(*) FROM payments WHERE provider = '$provider'")
    wrk_run "$step" "$DURATION" "$BENCH_DIR/wrk/notify.lua" "$TS_URL/api/v1/pay/$provider/notify" \
        "$file" "$THREADS" "$provider"
    after=$(sqlite3 "$BENCH_TMP/pay/t.db" "SELECT count(*) FROM payments WHERE provider = '$provider'")
    summary "step=$step requests_per_s=$(kv "$WRK_LINE" rps) p50_ms=$(kv "$WRK_LINE" p50_ms)" \
        "p99_ms=$(kv "$WRK_LINE" p99_ms) errors=$(wrk_errors "$WRK_LINE") pending_before=$pending" \
        "payments_applied=$((after - before))" \
        "applied_per_s=$(fmt 1 "$((after - before)) / $(kv "$WRK_LINE" duration_s)")" \
        "all_sent_once=$([ "$(kv "$WRK_LINE" requests)" -le "$pending" ] && echo yes || echo no)"
}

bench_log "1. verification in process"
PAYBENCH_LINES=$("$PAY_BENCH" 20000)
record_cmd "$PAY_BENCH 20000"
printf '%s\n' "$PAYBENCH_LINES"

bench_log "2. the database: template, $PAY_CODES codes; the sandbox with a known secret"
make_template "$BENCH_TMP/pay"
gen_codes "$PAY_CODES" PAY "$BENCH_TMP/codes.txt"
import_codes "$BENCH_TMP/pay/t.db" "$BENCH_TMP/codes.txt"
SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
EPAY_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
EXTRA=$(printf '{"sandbox":{"secret":"%s"},"epay":{"pid":"1001","key":"%s","submit_url":"https://pay.example/submit.php","notify_url":"https://shop.example/api/v1/pay/epay/notify"}}' \
    "$SECRET" "$EPAY_KEY")
# the fake WeChat Pay API (tests/api/fake_providers.py) and its merchant configuration,
# merged with the sandbox and EPay settings above; it also signs WeChat Pay notices later
mkdir -p "$BENCH_TMP/wechat"
coproc WECHAT { exec python3 "$BENCH_DIR/wechat_world.py" "$BENCH_TMP/wechat" "$EXTRA"; }
read -r READY PAY_CONFIG <&"${WECHAT[0]}"
[ "$READY" = READY ] || bench_die "wechat_world.py did not start"
cp "$PAY_CONFIG" "$BENCH_TMP/pay.json"
record_cmd "python3 bench/wechat_world.py DIR '{\"sandbox\":{\"secret\":\"...\"},\"epay\":{\"pid\":\"1001\",\"key\":\"...\",…}}'  # pay.json: the fake WeChat Pay API, sandbox, EPay"

# the payment configuration, and no expiry during the run
tessera_start "$BENCH_TMP/pay/t.db" pay --pay-config "$PAY_CONFIG" --pay-timeout-s 86400
login_as BUYER_TOKEN "$BUYER" "$BUYER_PASSWORD"
LUA="$BENCH_DIR/wrk/orders.lua"
URL="$TS_URL/api/v1/orders"

bench_log "2. orders: wallet (baseline), then through the sandbox"
wrk_run wallet-warmup "$WARMUP" "$LUA" "$URL" "$BUYER_TOKEN" "$BENCH_RUN_ID-ww" "$SKU"
wrk_run wallet "$DURATION" "$LUA" "$URL" "$BUYER_TOKEN" "$BENCH_RUN_ID-w" "$SKU"
WALLET_LINE=$WRK_LINE
summary "step=wallet_orders orders_per_s=$(kv "$WALLET_LINE" rps) p50_ms=$(kv "$WALLET_LINE" p50_ms)" \
        "p99_ms=$(kv "$WALLET_LINE" p99_ms) errors=$(wrk_errors "$WALLET_LINE")"
wrk_run gateway-warmup "$WARMUP" "$LUA" "$URL" "$BUYER_TOKEN" "$BENCH_RUN_ID-gw" "$SKU" sandbox
wrk_run gateway "$DURATION" "$LUA" "$URL" "$BUYER_TOKEN" "$BENCH_RUN_ID-g" "$SKU" sandbox
GATEWAY_LINE=$WRK_LINE
summary "step=gateway_orders orders_per_s=$(kv "$GATEWAY_LINE" rps) p50_ms=$(kv "$GATEWAY_LINE" p50_ms)" \
        "p99_ms=$(kv "$GATEWAY_LINE" p99_ms) errors=$(wrk_errors "$GATEWAY_LINE")" \
        "gateway_over_wallet=$(fmt 3 "$(kv "$GATEWAY_LINE" rps) / $(kv "$WALLET_LINE" rps)")"

bench_log "3. notices: one signed sandbox notice per pending order"
PENDING=$(sqlite3 "$BENCH_TMP/pay/t.db" "SELECT count(*) FROM orders WHERE status = 'pending_payment'")
sqlite3 -separator ' ' "$BENCH_TMP/pay/t.db" \
    "SELECT id, amount, currency FROM orders WHERE status = 'pending_payment' ORDER BY id" |
    python3 -c '
import hashlib, hmac, json, sys, time
secret = sys.argv[1].encode()
now = int(time.time()) + 30  # signed a little ahead: the file is used within the window
for line in sys.stdin:
    order, amount, currency = line.split()
    body = json.dumps({"id": "sbx_evt_" + order, "order_ref": "T" + order,
                       "transaction": "sbx_tx_" + order, "amount": int(amount),
                       "currency": currency, "state": "paid"}, separators=(",", ":"))
    mac = hmac.new(secret, f"{now}.{body}".encode(), hashlib.sha256).hexdigest()
    print(f"t={now},v1={mac}\t{body}")' "$SECRET" >"$BENCH_TMP/notices.txt"
record_cmd "sqlite3 t.db 'SELECT id, amount, currency FROM orders WHERE status = pending_payment' | (sign each as the sandbox does) > notices.txt"
notify_run notify sandbox "$BENCH_TMP/notices.txt" "$PENDING"
bench_log "4. EPay: orders, then one signed GET notice per pending EPay order"
wrk_run epay-warmup "$WARMUP" "$LUA" "$URL" "$BUYER_TOKEN" "$BENCH_RUN_ID-ew" "$SKU" epay
wrk_run epay "$DURATION" "$LUA" "$URL" "$BUYER_TOKEN" "$BENCH_RUN_ID-e" "$SKU" epay
EPAY_LINE=$WRK_LINE
summary "step=epay_orders orders_per_s=$(kv "$EPAY_LINE" rps) p50_ms=$(kv "$EPAY_LINE" p50_ms)" \
        "p99_ms=$(kv "$EPAY_LINE" p99_ms) errors=$(wrk_errors "$EPAY_LINE")"
EPENDING=$(sqlite3 "$BENCH_TMP/pay/t.db" \
    "SELECT count(*) FROM orders WHERE status = 'pending_payment' AND provider = 'epay'")
sqlite3 -separator ' ' "$BENCH_TMP/pay/t.db" \
    "SELECT id, amount FROM orders WHERE status = 'pending_payment' AND provider = 'epay' ORDER BY id" |
    python3 -c '
import hashlib, sys
key = sys.argv[1]
for line in sys.stdin:
    order, amount = line.split()
    amount = int(amount)
    fields = {"pid": "1001", "trade_no": "E" + order, "out_trade_no": "T" + order,
              "type": "alipay", "name": "card", "money": f"{amount // 100}.{amount % 100:02d}",
              "trade_status": "TRADE_SUCCESS"}
    content = "&".join(f"{k}={fields[k]}" for k in sorted(fields)) + key
    sign = hashlib.md5(content.encode()).hexdigest()
    print("&".join(f"{k}={v}" for k, v in fields.items()) + f"&sign={sign}&sign_type=MD5")' \
    "$EPAY_KEY" >"$BENCH_TMP/epay-notices.txt"
record_cmd "sqlite3 t.db 'SELECT id, amount FROM orders WHERE … provider = epay' | (sign each as EPay does: md5 of sorted k=v + key) > epay-notices.txt"
notify_run epay_notify epay "$BENCH_TMP/epay-notices.txt" "$EPENDING"
bench_log "5. WeChat Pay: orders (a Native payment created at the fake API each), then notices"
wrk_run wechat "$DURATION" "$LUA" "$URL" "$BUYER_TOKEN" "$BENCH_RUN_ID-x" "$SKU" wechatpay
WECHAT_LINE=$WRK_LINE
summary "step=wechat_orders orders_per_s=$(kv "$WECHAT_LINE" rps) p50_ms=$(kv "$WECHAT_LINE" p50_ms)" \
        "p99_ms=$(kv "$WECHAT_LINE" p99_ms) errors=$(wrk_errors "$WECHAT_LINE") bound_by=the_python_fake_api"
echo "notices $BENCH_TMP/pay/t.db $BENCH_TMP/wechat-notices.txt" >&"${WECHAT[1]}"
read -r DONE WPENDING <&"${WECHAT[0]}"
[ "$DONE" = DONE ] || bench_die "wechat_world.py made no notices"
record_cmd "(wechat_world.py: one notice per pending WeChat Pay order, signed with the platform key, resource sealed with the APIv3 key) > wechat-notices.txt"
# fewer orders than the run sends notices (the fake API bounds them): after the first pass
# every notice is a verified repeat
notify_run wechat_notify wechatpay "$BENCH_TMP/wechat-notices.txt" "$WPENDING"
echo quit >&"${WECHAT[1]}"
tessera_stop
CHECK_OUT=$("$TESSERA_BIN" check --db "$BENCH_TMP/pay/t.db" 2>&1) && CHECK=ok || CHECK=broken
record_cmd "$TESSERA_BIN check --db $BENCH_TMP/pay/t.db"
DELIVERED=$(sqlite3 "$BENCH_TMP/pay/t.db" "SELECT count(*) FROM orders WHERE payment = 'gateway' AND status = 'delivered'")
summary "step=check_after_pay result=$CHECK gateway_orders_delivered=$DELIVERED"
[ "$CHECK" = ok ] || printf '%s\n' "$CHECK_OUT" >&2

{
    echo "# Tessera payment benchmark $STAMP"
    echo
    echo "- commit $(git -C "$REPO_DIR" rev-parse --short HEAD); nproc $(nproc); $(lscpu | sed -n 's/^Model name: *//p' | head -n 1)"
    echo "- wrk settings: \`-t$THREADS -c$CONNECTIONS -d$DURATION\` (warm-up $WARMUP), 127.0.0.1"
    echo
    echo '## Summary lines'
    echo '```'; printf '%s\n' "$PAYBENCH_LINES"; printf '%s' "$BENCH_LINES"; echo '```'
    echo
    echo '## Commands'
    echo '```'; printf '%s' "$BENCH_COMMANDS"; echo '```'
} >"$OUT"
bench_log "report written to $OUT"
