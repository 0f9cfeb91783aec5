#!/usr/bin/env bash
# Two keyward binaries side by side: `bench/compare.sh OLD NEW` starts `server --dev` from each
# and alternates 10-second wrk runs of verify (32 connections) against them, three rounds, so a
# change is judged against its baseline in the same run on a noisy machine.
set -euo pipefail
old_bin=$(realpath "${1:?usage: bench/compare.sh OLD_KEYWARD NEW_KEYWARD}")
new_bin=$(realpath "${2:?usage: bench/compare.sh OLD_KEYWARD NEW_KEYWARD}")
cd "$(dirname "$0")/.."
. bench/lib/db.sh
. bench/lib/wrk.sh
need_wrk
bench_work

start() { # bin name
  mkdir -p "$work/$2"
  KEYWARD_BIN=$1 dev_start "$work/$2"
  pids+=("$SERVER")
  cat >"$work/$2.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"key":"$KEY","permission":"orders:read","environment":"production"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
done = function(s, l, r) io.write(string.format("RESULT %.0f %.3f\n", s.requests / (s.duration / 1e6), l:percentile(99) / 1000)) end
LUA
  echo "$URL" >"$work/$2.url"
}
start "$old_bin" old
start "$new_bin" new
for round in 1 2 3; do
  for b in old new; do
    r=$(wrk -t2 -c32 -d10s -s "$work/$b.lua" "$(cat "$work/$b.url")/v1/verify" | awk '/^RESULT/ {print $2, $3}')
    echo "round $round $b: $r (req/s, p99 ms)"
  done
done
