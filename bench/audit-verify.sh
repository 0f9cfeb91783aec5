#!/usr/bin/env bash
# Measures `keyward audit verify` over a long log (docs/design.md: verification streams, any log size,
# no request timeout): BENCH_EVENTS audit events (default 1,000,000) appended to a throwaway
# database of each backend (BENCH_BACKENDS, default "sqlite postgres") by the release build's
# hidden `server --seed-audit-events`, then one verify through a running server (the CLI, over
# HTTP), timed from outside. (A prune during a verify is tests/it/tamper.rs's, on both backends.)
# Prints Markdown rows for the README.
set -euo pipefail
cd "$(dirname "$0")/.."
events=${BENCH_EVENTS:-1000000}
backends=${BENCH_BACKENDS:-sqlite postgres}
. bench/lib/db.sh
cargo build --release --quiet --bin keyward
bin=target/release/keyward

bench_work
since() { python3 -c 'import sys, time; print(time.time() - float(sys.argv[1]))' "$1"; }

for backend in $backends; do
  rm -rf "${work:?}/$backend" "$work/pepper"
  mkdir -p "$work/$backend"
  db_start "$backend" "$work/$backend"
  store=(--database "$DB_URL" --pepper-file "$work/pepper")
  admin=$("$bin" --output json server --bootstrap "${store[@]}" 2>/dev/null)
  start=$EPOCHREALTIME
  "$bin" server --seed-audit-events "$events" "${store[@]}" 2>/dev/null
  seeded=$(since "$start")
  "$bin" server --listen 127.0.0.1:0 "${store[@]}" >"$work/server.out" 2>"$work/server.err" &
  pids+=($!)
  for _ in $(seq 200); do grep -q 'http://' "$work/server.out" 2>/dev/null && break; sleep 0.05; done
  url=$(grep -o 'http://[0-9.:]*' "$work/server.out" | head -1)
  id=$(printf '%s' "$admin" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  secret=$(printf '%s' "$admin" | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
  start=$EPOCHREALTIME
  out=$(KEYWARD_URL=$url KEYWARD_CLIENT_ID=$id KEYWARD_CLIENT_SECRET=$secret \
    "$bin" audit verify --output json)
  took=$(since "$start")
  checked=$(printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["checked"], "intact" if d["intact"] else "BROKEN")')
  printf '| %s | %s events appended in %.0f s | verify: %s, %.1f s |\n' "$backend" "$events" "$seeded" "$checked" "$took"
  kill "${pids[-1]}" 2>/dev/null || true
  db_stop
done
