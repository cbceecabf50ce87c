#!/usr/bin/env bash
# writer_db.sh OUT_DB [CODES] — a database for build/release/writer_bench: `tessera init
# --demo`, a buyer "bench" credited 1e11 fen through the API, CODES (default 60,000) codes
# imported into JD-E100, the WAL folded into the file. Copy it (and OUT_DB.key) before each
# writer_bench run, so every run starts from the same state.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
OUT_DB=${1:?usage: writer_db.sh OUT_DB [CODES]}
CODES=${2:-60000}
bench_setup
rm -f "$OUT_DB" "$OUT_DB.key" "$OUT_DB-wal" "$OUT_DB-shm"
TESSERA_ADMIN_PASSWORD=$ADMIN_PASSWORD "$TESSERA_BIN" init --db "$OUT_DB" --demo \
    >"$BENCH_TMP/init.out" 2>&1 || { cat "$BENCH_TMP/init.out" >&2; bench_die "tessera init"; }
tessera_start "$OUT_DB" writer-db
login_as ADMIN_TOKEN admin "$ADMIN_PASSWORD"
api POST /api/v1/users '{"username":"bench","password":"bench-password-1","role":"buyer"}' \
    "$ADMIN_TOKEN" >/dev/null
api POST /api/v1/wallet/credits '{"username":"bench","amount":100000000000,"reason":"bench"}' \
    "$ADMIN_TOKEN" >/dev/null
tessera_stop
gen_codes "$CODES" WB "$BENCH_TMP/codes.txt"
SKU=JD-E100 import_codes "$OUT_DB" "$BENCH_TMP/codes.txt"
sqlite3 "$OUT_DB" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
bench_log "made $OUT_DB: buyer bench, $CODES codes in JD-E100"
