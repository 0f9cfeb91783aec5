#!/usr/bin/env bash
# Measures token exchange (POST /v1/oauth/token, client credentials) on each backend
# (BENCH_BACKENDS, default "sqlite postgres"), and verify while exchanges run beside it: docs/design.md
# sets no target for the exchange yet, only that it must not slow verify. Each exchange checks
# a secret and writes a token row and an audit event, so it is a database write; verify is not.
# Uses wrk against release builds of `keyward server --dev`, 32 connections, BENCH_SECONDS each
# (default 10). On two cores the exchanges take CPU from verify whatever the code does; what
# this shows is that verify keeps answering at its latency (no lock or connection it waits
# on). Prints Markdown rows for the README's performance table.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${BENCH_SECONDS:-10}
backends=${BENCH_BACKENDS:-sqlite postgres}
. bench/lib/db.sh
. bench/lib/wrk.sh

need_wrk
cargo build --release --quiet --bin keyward

bench_work

result='done = function(summary, latency, requests)
  io.write(string.format("RESULT %.0f %.3f %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(99) / 1000, summary.errors.status))
end'
run() { wrk -t1 -c"$2" -d"${seconds}s" -s "$3" "$1" | awk '/^RESULT/ {print $2, $3, $4}'; }

for backend in $backends; do
  mkdir -p "$work/$backend"
  db_start "$backend" "$work/$backend"
  dev_start "$work" "$DB_URL"
  server=$SERVER url=$URL id=$ID secret=$SECRET token=$TOKEN key=$KEY
  pids+=($server)
  cat >"$work/token.lua" <<LUA
wrk.method = "POST"
wrk.body = "grant_type=client_credentials&client_id=$id&client_secret=$secret"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
$result
LUA
  cat >"$work/verify.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"key":"$key","permission":"orders:read","environment":"production"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
$result
LUA
  read -r verify_alone verify_alone_p99 _ < <(run "$url/v1/verify" 16 "$work/verify.lua")
  read -r token_rps token_p99 token_errors < <(run "$url/v1/oauth/token" 32 "$work/token.lua")
  # Both at once, 16 connections each.
  run "$url/v1/oauth/token" 16 "$work/token.lua" >"$work/beside.out" &
  beside=$!
  read -r verify_beside verify_beside_p99 _ < <(run "$url/v1/verify" 16 "$work/verify.lua")
  wait "$beside"
  read -r token_beside _ _ <"$work/beside.out"
  echo "| token exchange, 32 connections, $backend (\`bench/token.sh\`) | ${token_rps} req/s, p99 ${token_p99} ms (${token_errors} non-2xx) | measured; no target yet |"
  echo "| verify beside token exchange, $backend (\`bench/token.sh\`, 16 + 16 connections) | verify ${verify_beside} req/s (p99 ${verify_beside_p99} ms) while exchanges run at ${token_beside} req/s; verify alone, 16 connections: ${verify_alone} req/s (p99 ${verify_alone_p99} ms) | exchanges must not slow verify |"
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  pids=()
  db_stop
done
