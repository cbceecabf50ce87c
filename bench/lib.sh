# lib.sh — shared pieces of bench/run.sh and bench/growth.sh (sourced, never run).
# Everything here starts processes only through bench_track, so the EXIT trap stops them;
# every file goes under one temp dir in /tmp; every load generator runs for a bounded time
# against 127.0.0.1 only.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)

# Settings (environment overrides). The same wrk settings are used for every HTTP step.
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
WARMUP=${WARMUP:-2s}                 # unreported wrk run before each measured one
TESSERA_BIN=${TESSERA_BIN:-build/release/tessera}
case "$TESSERA_BIN" in /*) ;; *) TESSERA_BIN="$REPO_DIR/$TESSERA_BIN" ;; esac
SKU=BENCH-1
PRICE=100                            # fen per code; the buyer is credited 1e11 fen
ADMIN_PASSWORD=bench-admin-password
BUYER=bench-buyer
BUYER_PASSWORD=bench-buyer-password

BENCH_RUN_ID=${BENCH_RUN_ID:-$(date +%s)-$$-$RANDOM}
BENCH_PIDS=()
BENCH_TMP=""

bench_log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
bench_die() { bench_log "FAILED: $*"; exit 1; }

# --- processes and cleanup -----------------------------------------------------------------

bench_track() { BENCH_PIDS+=("$1"); }

bench_untrack() {
    local keep=() p
    for p in "${BENCH_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    BENCH_PIDS=("${keep[@]}")
}

# Stops one process started by this script: SIGTERM (or $2), bounded wait, then SIGKILL.
bench_stop_pid() {
    local pid=$1 sig=${2:-TERM} i
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; bench_untrack "$pid"; return 0; }
    kill -"$sig" "$pid" 2>/dev/null || true
    for i in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        bench_log "pid $pid did not stop in 30 s after SIG$sig; killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    bench_untrack "$pid"
}

bench_cleanup() {
    local status=$? p
    for p in "${BENCH_PIDS[@]}"; do bench_stop_pid "$p"; done
    if [ -n "$BENCH_TMP" ] && [ -d "$BENCH_TMP" ]; then
        if [ "${KEEP_TMP:-0}" = 1 ]; then
            bench_log "kept $BENCH_TMP"
        else
            rm -rf "$BENCH_TMP"
        fi
    fi
    return $status
}

# Creates the temp dir (on a real disk: durable figures on tmpfs would be meaningless).
bench_setup() {
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
    BENCH_TMP=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/tessera-bench.XXXXXX")
    BENCH_TMP_FS=$(stat -f -c %T "$BENCH_TMP")
    case "$BENCH_TMP_FS" in
        tmpfs|ramfs)
            [ "${ALLOW_TMPFS:-0}" = 1 ] ||
                bench_die "$BENCH_TMP is on $BENCH_TMP_FS: fsync is free there, so durable" \
                          "figures would be wrong. Set BENCH_TMPDIR to a disk (or ALLOW_TMPFS=1)." ;;
    esac
    [ -x "$TESSERA_BIN" ] || bench_die "no tessera binary at $TESSERA_BIN (make build, or set TESSERA_BIN)"
    local tool
    for tool in wrk curl python3 seq; do
        command -v "$tool" >/dev/null || bench_die "$tool is missing (make bench-deps)"
    done
}

# --- small helpers -------------------------------------------------------------------------

# "10s" / "2m" / "500ms" / "7" -> seconds (may be fractional)
dur_s() {
    case "$1" in
        *ms) awk -v v="${1%ms}" 'BEGIN { print v / 1000 }' ;;
        *s) echo "${1%s}" ;;
        *m) awk -v v="${1%m}" 'BEGIN { print v * 60 }' ;;
        *h) awk -v v="${1%h}" 'BEGIN { print v * 3600 }' ;;
        *) echo "$1" ;;
    esac
}

now_s() { date +%s.%N; }

# calc 'EXPR' -> awk arithmetic (6 significant digits); fmt DIGITS 'EXPR' -> fixed decimals
calc() { awk "BEGIN { v = $1; printf \"%.6g\n\", v }"; }
fmt() { awk "BEGIN { v = $2; printf \"%.$1f\n\", v }"; }

# ratio A B -> A ÷ B to three places ("n/a" when B is 0)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }

# median VALUES... -> the median (the mean of the middle two for an even count)
median() {
    printf '%s\n' "$@" | sort -g |
        awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# kv 'LINE' KEY -> value of KEY=value in a space-separated line
kv() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; }

# --- where the CPU goes --------------------------------------------------------------------
# cpu_begin PID… / cpu_end REQUESTS -> CPU_LINE: the CPU those processes (every thread) and
# the rest of the machine (the load generator, the kernel's own threads) used per answered
# request between the two calls, and the share of the two cores left idle. Clock ticks of
# /proc (100 per second): over a 10 s run, a resolution of about 0.1%. Time the host took
# from this VM (steal) is reported apart, neither busy nor idle.
CPU_PIDS=()
proc_ticks() { local p t=0; for p in "$@"; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done; echo "$t"; }
machine_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $5 + $6, $9 }' /proc/stat; }
cpu_begin() {
    CPU_PIDS=("$@")
    CPU_PROC0=$(proc_ticks "${CPU_PIDS[@]}")
    read -r CPU_BUSY0 CPU_IDLE0 CPU_STEAL0 < <(machine_ticks)
}
cpu_end() {
    local requests=$1 proc busy idle steal hz
    hz=$(getconf CLK_TCK)
    proc=$(( $(proc_ticks "${CPU_PIDS[@]}") - CPU_PROC0 ))
    read -r busy idle steal < <(machine_ticks)
    busy=$((busy - CPU_BUSY0)); idle=$((idle - CPU_IDLE0)); steal=$((steal - CPU_STEAL0))
    CPU_LINE="server_us_per_req=$(fmt 1 "$proc * 1e6 / $hz / $requests")"
    CPU_LINE+=" rest_us_per_req=$(fmt 1 "($busy - $proc) * 1e6 / $hz / $requests")"
    CPU_LINE+=" idle_pct=$(fmt 1 "100 * $idle / ($busy + $idle + $steal)")"
    CPU_LINE+=" steal_pct=$(fmt 1 "100 * $steal / ($busy + $idle + $steal)")"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Records a command exactly as run (secrets replaced by their variable names).
BENCH_COMMANDS=""
record_cmd() {
    local text="$*"
    [ -n "${ADMIN_TOKEN:-}" ] && text=${text//$ADMIN_TOKEN/\$ADMIN_TOKEN}
    [ -n "${BUYER_TOKEN:-}" ] && text=${text//$BUYER_TOKEN/\$BUYER_TOKEN}
    BENCH_COMMANDS+="$text"$'\n'
}

# One machine-readable summary line per step: "BENCH step=NAME key=value ...".
BENCH_LINES=""
summary() {
    local line="BENCH $*"
    BENCH_LINES+="$line"$'\n'
    printf '%s\n' "$line"
}

# --- tessera -------------------------------------------------------------------------------

# disk_settle: writes the page cache's dirty data out now. Set-up writes hundreds of MB
# (codes files, imports, database copies); left to the kernel, they are written back ~30 s
# later (dirty_expire_centisecs) — in the middle of a measured run, where that write-back
# made every WAL sync wait (a 400 MB file written 30 s before an orders run: p99 152 ms
# against 10.6 ms without it). Called before every server start, Tessera's and nginx's.
disk_settle() {
    sync
}

# tessera_start DB NAME [SERVE OPTIONS…] -> TS_PID, TS_URL (serve on a free loopback port
# chosen by the kernel)
tessera_start() {
    local db=$1 name=$2 port="" i
    shift 2
    disk_settle
    local out="$BENCH_TMP/serve-$name.out" err="$BENCH_TMP/serve-$name.err"
    # made here, not only by the background job's redirections: on a busy machine the loop
    # below can read before the job has opened them (sed then fails and set -e ends the run)
    : >"$out"
    : >"$err"
    "$TESSERA_BIN" serve --db "$db" --listen 127.0.0.1:0 "$@" >"$out" 2>"$err" &
    TS_PID=$!
    bench_track "$TS_PID"
    record_cmd "$TESSERA_BIN serve --db $db --listen 127.0.0.1:0 $* &"
    for i in $(seq 1 200); do
        port=$(sed -n 's#.*listening on http://127\.0\.0\.1:\([0-9][0-9]*\).*#\1#p' "$out")
        [ -n "$port" ] && break
        kill -0 "$TS_PID" 2>/dev/null || { cat "$err" >&2; bench_die "tessera serve exited"; }
        sleep 0.05
    done
    [ -n "$port" ] || bench_die "tessera serve did not report its port in 10 s"
    TS_URL="http://127.0.0.1:$port"
    curl -sf --max-time 5 "$TS_URL/healthz" >/dev/null || bench_die "healthz failed on $TS_URL"
}

tessera_stop() {
    [ -n "${TS_PID:-}" ] || return 0
    bench_stop_pid "$TS_PID" TERM
    TS_PID=""
}

# api METHOD PATH [JSON] [TOKEN] -> body on stdout; fails on a non-2xx answer
api() {
    local method=$1 path=$2 body=${3:-} token=${4:-}
    local args=(-sS --max-time 30 -X "$method" -w '\n%{http_code}')
    [ -n "$token" ] && args+=(-H "Authorization: Bearer $token")
    [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
    local answer code
    record_cmd "curl -X $method${token:+ -H 'Authorization: Bearer $token'}${body:+ -H 'Content-Type: application/json' --data-binary '$body'} $TS_URL$path"
    answer=$(curl "${args[@]}" "$TS_URL$path") || bench_die "curl $method $path"
    code=${answer##*$'\n'}
    answer=${answer%$'\n'*}
    case "$code" in 2??) printf '%s\n' "$answer" ;; *) bench_die "$method $path -> $code $answer" ;; esac
}

json_get() { python3 -c 'import sys, json; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# login_as VAR USER PASSWORD -> VAR=the bearer token (the login is recorded, the token not)
login_as() {
    local answer
    answer=$(api POST /api/v1/auth/login "{\"username\":\"$2\",\"password\":\"$3\"}")
    record_cmd "curl -X POST --data-binary '{\"username\":\"$2\",\"password\":\"...\"}' $TS_URL/api/v1/auth/login   # -> \$$1"
    printf -v "$1" '%s' "$(printf '%s\n' "$answer" | json_get token)"
    [ -n "${!1}" ] || bench_die "login as $2 gave no token"
}

stock_of() {
    curl -sf --max-time 10 "$TS_URL/api/v1/products" | python3 -c '
import sys, json
for p in json.load(sys.stdin)["products"]:
    if p["sku"] == sys.argv[1]: print(p["stock"])' "$SKU"
}

# metric NAME -> value of an unlabelled metric from /metrics
metric() { curl -sf --max-time 10 "$TS_URL/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

# stages_begin / stages_end -> STAGE_LINE: the mean time per request, over the run between
# them, of each stage of tessera_request_stage_seconds (queued for the writer, applied until
# durable, resumed until answered), in µs
STAGE_NAMES=(writer_queue writer_durable resume)
stage_sample() {
    curl -sf --max-time 10 "$TS_URL/metrics" | awk '/^tessera_request_stage_seconds_(sum|count)/ {
        match($1, /stage="[a-z_]+"/); s = substr($1, RSTART + 7, RLENGTH - 8)
        if ($1 ~ /_sum/) sum[s] = $2; else n[s] = $2 }
        END { for (s in n) print s, sum[s], n[s] }'
}
stages_begin() { STAGE0=$(stage_sample); }
stages_end() {
    local now name s0 n0 s1 n1
    now=$(stage_sample)
    STAGE_LINE=""
    for name in "${STAGE_NAMES[@]}"; do
        read -r s0 n0 < <(printf '%s\n' "$STAGE0" | awk -v k="$name" '$1 == k { print $2, $3 }')
        read -r s1 n1 < <(printf '%s\n' "$now" | awk -v k="$name" '$1 == k { print $2, $3 }')
        STAGE_LINE+="${STAGE_LINE:+ }${name}_us=$(fmt 1 "($n1 - $n0) > 0 ? ($s1 - $s0) * 1e6 / ($n1 - $n0) : 0")"
    done
}

# set_rules FILE TOKEN: PUT a rule file (text/plain) as the active risk rules
set_rules() {
    local code
    code=$(curl -sS --max-time 30 -o "$BENCH_TMP/rules.answer" -w '%{http_code}' -X PUT \
        -H "Authorization: Bearer $2" -H 'Content-Type: text/plain' --data-binary "@$1" \
        "$TS_URL/api/v1/risk/rules") || bench_die "PUT rules"
    record_cmd "curl -X PUT -H 'Authorization: Bearer \$ADMIN_TOKEN' -H 'Content-Type: text/plain' --data-binary @$1 $TS_URL/api/v1/risk/rules"
    [ "$code" = 200 ] || { cat "$BENCH_TMP/rules.answer" >&2; bench_die "PUT rules -> $code"; }
}

# make_template DIR: a fresh database made the way an operator would (init, then the API):
# product $SKU (+ PRODUCTS-1 more, so the catalog is not a single row), buyer $BUYER with
# 1e11 fen in the wallet. No codes. The server is stopped afterwards, so DIR/t.db is closed.
make_template() {
    local dir=$1 i
    mkdir -p "$dir"
    TESSERA_ADMIN_PASSWORD=$ADMIN_PASSWORD "$TESSERA_BIN" init --db "$dir/t.db" \
        >"$BENCH_TMP/init.out" 2>&1 || { cat "$BENCH_TMP/init.out" >&2; bench_die "tessera init"; }
    record_cmd "TESSERA_ADMIN_PASSWORD=... $TESSERA_BIN init --db $dir/t.db"
    tessera_start "$dir/t.db" template
    login_as ADMIN_TOKEN admin "$ADMIN_PASSWORD"
    api POST /api/v1/products "{\"sku\":\"$SKU\",\"name\":\"Bench card\",\"face_value\":$PRICE,\"price\":$PRICE,\"currency\":\"CNY\",\"liquidity\":\"high\"}" "$ADMIN_TOKEN" >/dev/null
    for i in $(seq 2 "${PRODUCTS:-10}"); do
        api POST /api/v1/products "{\"sku\":\"BENCH-$i\",\"name\":\"Bench card $i\",\"face_value\":$((PRICE * i)),\"price\":$((PRICE * i)),\"currency\":\"CNY\",\"liquidity\":\"low\"}" "$ADMIN_TOKEN" >/dev/null
    done
    api POST /api/v1/users "{\"username\":\"$BUYER\",\"password\":\"$BUYER_PASSWORD\",\"role\":\"buyer\"}" "$ADMIN_TOKEN" >/dev/null
    api POST /api/v1/wallet/credits "{\"username\":\"$BUYER\",\"amount\":100000000000,\"reason\":\"benchmark\"}" "$ADMIN_TOKEN" >/dev/null
    # The core order path is measured with an empty rule file (the engine records every
    # event, decides nothing); run.sh measures the default pack on its own copy.
    : >"$BENCH_TMP/empty.rules"
    set_rules "$BENCH_TMP/empty.rules" "$ADMIN_TOKEN"
    tessera_stop
    # A clean stop folds the WAL into the database (db_fold_wal), so a copy is one file plus
    # the key; if a WAL is still there (a server killed, an older binary), fold it here.
    if [ -f "$dir/t.db-wal" ] && command -v sqlite3 >/dev/null; then
        sqlite3 "$dir/t.db" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
        record_cmd "sqlite3 $dir/t.db 'PRAGMA wal_checkpoint(TRUNCATE);'"
    fi
}

# db_copy SRC_DIR DST_DIR: a fresh copy of the closed template database and its key
db_copy() {
    mkdir -p "$2"
    rm -f "$2"/t.db "$2"/t.db-wal "$2"/t.db-shm "$2"/t.db.key
    local f
    for f in t.db t.db-wal t.db-shm t.db.key; do
        [ -f "$1/$f" ] && cp "$1/$f" "$2/$f"
    done
    return 0
}

# gen_codes N PREFIX FILE: N unique codes, one per line ("PREFIX" + 10 digits)
gen_codes() {
    seq -f "$2%010.0f" 1 "$1" >"$3"
    record_cmd "seq -f '$2%010.0f' 1 $1 > $3"
}

# import_codes DB FILE -> IMPORTED_N; dies unless every line was imported
import_codes() {
    local out
    out=$("$TESSERA_BIN" import --db "$1" --sku "$SKU" "$2" 2>&1) || bench_die "import: $out"
    record_cmd "$TESSERA_BIN import --db $1 --sku $SKU $2"
    printf '%s\n' "$out" | grep -q 'duplicates 0, rejected 0' || bench_die "import: $out"
    IMPORTED_N=$(printf '%s\n' "$out" | sed -n 's/.*imported \([0-9]*\),.*/\1/p')
}

# --- nginx ---------------------------------------------------------------------------------

NGINX_WORKERS=${NGINX_WORKERS:-auto}
NGX=""

# nginx_start -> NGINX_PID, NGINX_URL, NGINX (the binary), NGX (its dir; config in
# $NGX/nginx.conf): nginx answering `return 200` from memory on a free loopback port, the
# HTTP ceiling of this machine with these wrk settings.
nginx_start() {
    disk_settle
    command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || bench_die "nginx is missing (make bench-deps)"
    NGINX=$(command -v nginx || echo /usr/sbin/nginx)
    NGX="$BENCH_TMP/nginx"
    mkdir -p "$NGX/tmp"
    local port i
    port=$(free_port)
    cat >"$NGX/nginx.conf" <<EOF
# nginx serving a fixed answer from memory: the HTTP ceiling of this machine.
worker_processes $NGINX_WORKERS;
daemon off;
pid $NGX/nginx.pid;
lock_file $NGX/nginx.lock;
error_log $NGX/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $NGX/tmp/body;
    proxy_temp_path $NGX/tmp/proxy;
    fastcgi_temp_path $NGX/tmp/fastcgi;
    uwsgi_temp_path $NGX/tmp/uwsgi;
    scgi_temp_path $NGX/tmp/scgi;
    keepalive_requests 100000000;
    keepalive_timeout 65s;
    server {
        listen 127.0.0.1:$port;
        location / {
            default_type application/json;
            return 200 '{"ok":true}';
        }
    }
}
EOF
    "$NGINX" -p "$NGX/" -e "$NGX/error.log" -c "$NGX/nginx.conf" &
    NGINX_PID=$!
    bench_track "$NGINX_PID"
    record_cmd "$NGINX -p $NGX/ -e $NGX/error.log -c $NGX/nginx.conf &   # config below"
    NGINX_URL="http://127.0.0.1:$port/"
    for i in $(seq 1 100); do
        curl -sf --max-time 2 "$NGINX_URL" >/dev/null 2>&1 && break
        kill -0 "$NGINX_PID" 2>/dev/null || { cat "$NGX/error.log" >&2; bench_die "nginx exited"; }
        sleep 0.1
    done
    curl -sf --max-time 2 "$NGINX_URL" >/dev/null || bench_die "nginx does not answer"
}

nginx_stop() {
    [ -n "${NGINX_PID:-}" ] || return 0
    bench_stop_pid "$NGINX_PID" QUIT
    NGINX_PID=""
}

# --- wrk -----------------------------------------------------------------------------------

# wrk_run NAME DURATION SCRIPT URL [SCRIPT ARGS...] -> WRK_LINE (the WRKSUM line of report.lua)
# The full output is kept in $BENCH_TMP/wrk-NAME.txt and appended to WRK_RAW.
WRK_RAW=""
wrk_run() {
    local name=$1 duration=$2 script=$3 url=$4
    shift 4
    local out="$BENCH_TMP/wrk-$name.txt"
    local cmd=(wrk "-t$THREADS" "-c$CONNECTIONS" "-d$duration" --latency -s "$script" "$url")
    [ $# -gt 0 ] && cmd+=(-- "$@")
    # wrk stops by itself after DURATION; timeout is only a guard against a hung client
    local guard
    guard=$(awk -v d="$(dur_s "$duration")" 'BEGIN { printf "%d", d + 60 }')
    timeout -k 5 "$guard" "${cmd[@]}" >"$out" 2>&1 || { cat "$out" >&2; bench_die "wrk $name"; }
    record_cmd "${cmd[*]}"
    WRK_LINE=$(grep '^WRKSUM ' "$out" | head -n 1)
    [ -n "$WRK_LINE" ] || { cat "$out" >&2; bench_die "wrk $name printed no summary"; }
    WRK_RAW+="### $name"$'\n'"\$ ${cmd[*]}"$'\n'"$(cat "$out")"$'\n\n'
    if [ -n "${BUYER_TOKEN:-}" ]; then WRK_RAW=${WRK_RAW//$BUYER_TOKEN/\$BUYER_TOKEN}; fi
}

# orders_wrk NAME RUN [SERVER_PID] -> WRK_LINE: a WARMUP run, then DURATION of wallet orders
# for one code of SKU, each with its own Idempotency-Key (RUN-…), against TS_URL as
# BUYER_TOKEN; with SERVER_PID also CPU_LINE (cpu_end) and STAGE_LINE (stages_end) for the
# measured run
orders_wrk() {
    local lua="$BENCH_DIR/wrk/orders.lua" url="$TS_URL/api/v1/orders"
    wrk_run "$1-warm" "$WARMUP" "$lua" "$url" "$BUYER_TOKEN" "$2-w" "$SKU"
    [ -z "${3:-}" ] || { cpu_begin "$3"; stages_begin; }
    wrk_run "$1" "$DURATION" "$lua" "$url" "$BUYER_TOKEN" "$2" "$SKU"
    [ -z "${3:-}" ] || { cpu_end "$(kv "$WRK_LINE" requests)"; stages_end; }
}

# orders_codes_for RUNS PER_S -> codes enough for RUNS order runs (each WARMUP + DURATION)
# at PER_S orders/s, and 100,000 more, so stock never runs out
orders_codes_for() {
    awk -v d="$(dur_s "$DURATION")" -v w="$(dur_s "$WARMUP")" -v r="$1" -v p="$2" \
        'BEGIN { printf "%d", p * (d + w) * r + 100000 }'
}

# wrk_errors LINE -> socket errors + timeouts + non-2xx answers
wrk_errors() {
    local l=$1
    echo $(( $(kv "$l" connect_err) + $(kv "$l" read_err) + $(kv "$l" write_err) + $(kv "$l" timeout_err) + $(kv "$l" non2xx) ))
}

# orders_rate_run NAME RUN RATE -> WRK_LINE and RATE_* (achieved, p50, p99, send lag, errors,
# HELD, ANSWERED: 2xx answers of both runs): a WARMUP run, then DURATION of orders at a fixed
# RATE orders/s (orders_rate.lua; open schedule) against TS_URL as BUYER_TOKEN.
orders_rate_run() {
    local name=$1 run=$2 rate=$3 lua="$BENCH_DIR/wrk/orders_rate.lua" url="$TS_URL/api/v1/orders"
    RATE_ANSWERED=0
    if [ "$(dur_s "$WARMUP")" != 0 ]; then
        wrk_run "$name-warmup" "$WARMUP" "$lua" "$url" "$BUYER_TOKEN" "$run-warm" "$SKU" "$rate" "$THREADS"
        RATE_ANSWERED=$(($(kv "$WRK_LINE" requests) - $(kv "$WRK_LINE" non2xx)))
    fi
    wrk_run "$name" "$DURATION" "$lua" "$url" "$BUYER_TOKEN" "$run" "$SKU" "$rate" "$THREADS"
    local l=$WRK_LINE
    RATE_ANSWERED=$((RATE_ANSWERED + $(kv "$l" requests) - $(kv "$l" non2xx)))
    RATE_ACHIEVED=$(kv "$l" rps); RATE_P50=$(kv "$l" p50_ms); RATE_P99=$(kv "$l" p99_ms)
    RATE_LAG_P99=$(kv "$l" lag_p99_ms); RATE_LAG_MAX=$(kv "$l" lag_max_ms)
    RATE_ERRORS=$(wrk_errors "$l")
    # The rate was held when at least 97% of it was achieved and 99% of requests left the
    # client within 2 ms of their scheduled time (wrk's timers have 1 ms resolution), so the
    # latency wrk measures from the send is close to the latency from the schedule.
    RATE_HELD=$(awk -v a="$RATE_ACHIEVED" -v t="$rate" -v lag="$RATE_LAG_P99" \
                'BEGIN { print (a >= 0.97 * t && lag <= 2.0) ? "yes" : "no" }')
}

# orders_measure LABEL RATE -> closed-loop peak, then a fixed-rate run at RATE orders/s
# (RATE 0: half of the peak just measured). Needs TS_URL and BUYER_TOKEN. Sets ORD_* and
# RATE_* variables and prints one summary line for each run.
orders_measure() {
    local label=$1 rate=${2:-0}
    local lua="$BENCH_DIR/wrk/orders.lua" url="$TS_URL/api/v1/orders"
    local run="$BENCH_RUN_ID-$label" stock0 stock1
    stock0=$(stock_of)
    ORD_ANSWERED=0 # 2xx answers wrk saw over the four runs, to compare with the stock drop
    if [ "$(dur_s "$WARMUP")" != 0 ]; then
        wrk_run "$label-warmup" "$WARMUP" "$lua" "$url" "$BUYER_TOKEN" "$run-warm" "$SKU"
        ORD_ANSWERED=$((ORD_ANSWERED + $(kv "$WRK_LINE" requests) - $(kv "$WRK_LINE" non2xx)))
    fi
    local b0 c0 s0 b1 c1 s1
    b0=$(metric tessera_writer_batch_size_sum); c0=$(metric tessera_writer_batch_size_count)
    s0=$(metric tessera_writer_slow_batches_total)
    wrk_run "$label-peak" "$DURATION" "$lua" "$url" "$BUYER_TOKEN" "$run-peak" "$SKU"
    b1=$(metric tessera_writer_batch_size_sum); c1=$(metric tessera_writer_batch_size_count)
    s1=$(metric tessera_writer_slow_batches_total)
    local l=$WRK_LINE
    ORD_ANSWERED=$((ORD_ANSWERED + $(kv "$l" requests) - $(kv "$l" non2xx)))
    ORD_RPS=$(kv "$l" rps); ORD_P50=$(kv "$l" p50_ms); ORD_P99=$(kv "$l" p99_ms)
    ORD_ERRORS=$(wrk_errors "$l")
    ORD_BATCH=$(fmt 1 "($c1 - $c0) > 0 ? ($b1 - $b0) / ($c1 - $c0) : 0")
    summary "step=${label}_orders orders_per_s=$ORD_RPS p50_ms=$ORD_P50 p90_ms=$(kv "$l" p90_ms)" \
            "p99_ms=$ORD_P99 p999_ms=$(kv "$l" p999_ms) max_ms=$(kv "$l" max_ms)" \
            "requests=$(kv "$l" requests) errors=$ORD_ERRORS avg_batch=$ORD_BATCH slow_batches=$((s1 - s0))" \
            "connections=$CONNECTIONS threads=$THREADS duration=$DURATION"
    if [ "$rate" = 0 ]; then rate=$(awk -v r="$ORD_RPS" 'BEGIN { printf "%d", r / 2 }'); fi
    [ "$rate" -ge 1 ] || bench_die "no orders/s measured, cannot pick a fixed rate"
    RATE_TARGET=$rate
    orders_rate_run "$label-rate" "$run-rate" "$rate"
    ORD_ANSWERED=$((ORD_ANSWERED + RATE_ANSWERED))
    l=$WRK_LINE
    summary "step=${label}_orders_fixed_rate target_per_s=$rate achieved_per_s=$RATE_ACHIEVED" \
            "p50_ms=$RATE_P50 p90_ms=$(kv "$l" p90_ms) p99_ms=$RATE_P99 p999_ms=$(kv "$l" p999_ms)" \
            "max_ms=$(kv "$l" max_ms) send_lag_p99_ms=$RATE_LAG_P99 send_lag_max_ms=$RATE_LAG_MAX" \
            "rate_held=$RATE_HELD requests=$(kv "$l" requests) errors=$RATE_ERRORS"
    stock1=$(stock_of)
    ORD_PLACED=$((stock0 - stock1))
    ORD_STOCK_LEFT=$stock1
    [ "$stock1" -gt 0 ] || bench_log "WARNING: stock ran out during $label; figures include 409 answers"
}
