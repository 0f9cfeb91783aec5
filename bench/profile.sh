#!/usr/bin/env bash
# Where verify's time goes (issue: "verify at 75 % of the HTTP ceiling", item 3): a release-built
# `server --dev` (SQLite) under wrk verify load (2 threads, 32 connections) while `perf record`
# samples it for BENCH_SECONDS (default 15) at 999 Hz. Prints the top of a flat profile (self
# time per function; the release profile keeps symbols but not debug info, so no call graph)
# grouped by where the code comes from. Needs Debian's linux-perf, and root (or a permissive
# kernel.perf_event_paranoid). KEYWARD_BIN picks the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${BENCH_SECONDS:-15}
. bench/lib/db.sh
. bench/lib/wrk.sh
need_wrk
command -v perf >/dev/null || { echo "perf is needed (apt-get install linux-perf)" >&2; exit 1; }
if [ -z "${KEYWARD_BIN:-}" ]; then
  cargo build --release --quiet --bin keyward
  KEYWARD_BIN=target/release/keyward
fi
export KEYWARD_BIN
bench_work
mkdir -p "$work/dev"
dev_start "$work/dev" "sqlite:$work/dev/keyward.db"
pids+=("$SERVER")
cat >"$work/verify.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"key":"$KEY","permission":"orders:read","environment":"production"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
done = function(s, l, r) io.write(string.format("RESULT %.0f %.3f\n", s.requests / (s.duration / 1e6), l:percentile(99) / 1000)) end
LUA
# Warm the cache, then sample the server under load.
wrk -t2 -c32 -d3s -s "$work/verify.lua" "$URL/v1/verify" >/dev/null
wrk -t2 -c32 -d"$((seconds + 2))s" -s "$work/verify.lua" "$URL/v1/verify" >"$work/wrk.out" &
load=$!
sleep 1
perf record -q -F 999 -p "$SERVER" -o "$work/perf.data" -- sleep "$seconds" 2>/dev/null
wait "$load"
echo "under perf: $(awk '/^RESULT/ {print $2 " req/s, p99 " $3 " ms"}' "$work/wrk.out")"
report() { perf report -i "$work/perf.data" --stdio --no-children "$@" 2>/dev/null \
  | grep -v '^#' | grep -v '^$' | sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//; s/[[:space:]]+$//'; }
echo "== by where the code is (the kernel: system calls, scheduling, the network)"
report --sort dso | head -12
echo "== keyward's own process, by function (self time)"
report --sort dso,symbol --percent-limit 0.4 | head -45
