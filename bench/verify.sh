#!/usr/bin/env bash
# Measures docs/design.md's verify target: throughput >= 50 % of a bare axum JSON echo measured in the
# same run, and p99 <= 2 ms at 32 connections. Uses wrk (installed from Debian if missing) against
# release builds of `keyward server --dev` and examples/echo.rs, both on 127.0.0.1, on each
# backend (BENCH_BACKENDS, default "sqlite postgres"; PostgreSQL is a throwaway cluster).
# Prints Markdown rows for the README's performance table.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${BENCH_SECONDS:-10}
backends=${BENCH_BACKENDS:-sqlite postgres}
. bench/lib/db.sh
. bench/lib/wrk.sh

need_wrk
cargo build --release --quiet --bin keyward --example echo

bench_work

target/release/examples/echo >"$work/echo.out" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/echo.out" ] && break; sleep 0.05; done
echo_url=$(head -1 "$work/echo.out")

run() { wrk -t2 -c32 -d"${seconds}s" -s "$work/bench.lua" "$1" | awk '/^RESULT/ {print $2, $3}'; }

for backend in $backends; do
  mkdir -p "$work/$backend"
  db_start "$backend" "$work/$backend"
  dev_start "$work" "$DB_URL"
  server=$SERVER url=$URL id=$ID secret=$SECRET token=$TOKEN key=$KEY
  pids+=($server)
  body="{\"key\":\"$key\",\"permission\":\"orders:read\",\"environment\":\"production\"}"
  cat >"$work/bench.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.0f %.3f\n", summary.requests / (summary.duration / 1e6), latency:percentile(99) / 1000))
end
LUA
  # A check that verify really answers VALID before timing it.
  curl -s -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "$body" "$url/v1/verify" |
    grep -q '"code":"VALID"' || { echo "verify did not answer VALID on $backend" >&2; exit 1; }

  # The echo is measured again beside each backend: the machine is shared and noisy.
  read -r echo_rps echo_p99 < <(run "$echo_url/echo")
  read -r verify_rps verify_p99 < <(run "$url/v1/verify")
  ratio=$(python3 -c "print(f'{100*$verify_rps/$echo_rps:.0f}')")
  echo "| verify throughput, 32 connections, $backend | ${verify_rps} req/s = ${ratio} % of a bare axum echo (${echo_rps} req/s) | ≥ 50 % |"
  echo "| verify p99, 32 connections, $backend | ${verify_p99} ms (echo: ${echo_p99} ms) | ≤ 2 ms |"
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  db_stop
done
