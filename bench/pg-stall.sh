#!/usr/bin/env bash
# How long a throwaway PostgreSQL takes to answer `SELECT 1` while this machine is under load
# that does not touch it: pgbench asks 40 times a second on two connections of its own for
# BENCH_SECONDS (default 40), first while BENCH_BUSY (default 6) busy loops hold the CPUs, then
# while wrk verifies at 16 connections against each of two keyward servers that use SQLite (the
# soak's load, without PostgreSQL in it), once with the kernel's autogroup scheduling as the
# machine has it and once with it off (as root; see autogroup_off in bench/lib/db.sh). Says
# whether a stall seen in bench/soak.sh is the database's own, keyward's, or the scheduler's.
# Prints Markdown rows.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${BENCH_SECONDS:-40}
busy=${BENCH_BUSY:-6}
. bench/lib/db.sh
. bench/lib/wrk.sh
need_wrk
[ -n "${KEYWARD_BIN:-}" ] || cargo build --release --quiet --bin keyward
bench_work
mkdir -p "$work/pg"
db_start postgres "$work/pg"
echo 'SELECT 1;' >"$work/probe.sql"

# Runs the probe for $seconds and prints "n p50 p99 max" of the time from the moment each
# statement was due to its answer (pgbench's third field; a stall shows as its length).
probe() {
  rm -f "$work"/probe.[0-9]*
  (cd "$work" && "$DB_PG_BIN/pgbench" -n -f probe.sql -T "$seconds" -c 2 -R 40 -l \
    --log-prefix=probe "$DB_URL" >/dev/null 2>&1)
  cat "$work"/probe.[0-9]* | awk '{print $3 / 1000}' | sort -n |
    awk '{a[NR] = $1} END {printf "%d %.2f %.1f %.1f\n", NR, a[int(NR / 2)], a[int(NR * 0.99)], a[NR]}'
}

loops=()
for _ in $(seq "$busy"); do
  python3 -c 'while True: pass' &
  loops+=($!)
  pids+=($!)
done
read -r n p50 p99 max < <(probe)
kill "${loops[@]}"
echo "| PostgreSQL \`SELECT 1\` while $busy busy loops hold the CPUs | $n statements: p50 $p50 ms, p99 $p99 ms, max $max ms |"

for i in 1 2; do
  mkdir -p "$work/s$i"
  dev_start "$work/s$i" "sqlite:$work/s$i/keyward.db"
  pids+=("$SERVER")
  cat >"$work/verify$i.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"key":"$KEY"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
LUA
  urls[i]=$URL
done

# The probe while wrk verifies against both servers; prints a row named after the autogroups.
under_wrk() {
  local wrks=() rate
  for i in 1 2; do
    wrk -t1 -c16 -d"${seconds}s" -s "$work/verify$i.lua" "${urls[$i]}/v1/verify" >"$work/wrk$i" &
    wrks+=($!)
  done
  read -r n p50 p99 max < <(probe)
  wait "${wrks[@]}"
  rate=$(awk '/Requests\/sec/ {s += $2} END {printf "%.0f", s}' "$work"/wrk1 "$work"/wrk2)
  echo "| PostgreSQL \`SELECT 1\` while wrk verifies against two keyward servers on SQLite ($rate req/s), autogroups $1 | $n statements: p50 $p50 ms, p99 $p99 ms, max $max ms |"
}

if [ -e /proc/sys/kernel/sched_autogroup_enabled ] && [ "$(cat /proc/sys/kernel/sched_autogroup_enabled)" = 1 ]; then
  under_wrk on
fi
autogroup_off
under_wrk "$AUTOGROUP_STATE"
