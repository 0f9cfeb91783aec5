#!/usr/bin/env bash
# Rate limits, measured (issue: "in the request path", items 1 and 5):
#  1. the cost: verify of a key with a rate limit (one that never refuses: 10^9 a minute)
#     against a key without one, on the same release-built `server --dev`, alternating 10-second
#     wrk runs at 32 connections, three rounds; the target is >= 80 %.
#  2. the bound across servers: two release-built servers on one throwaway PostgreSQL (or
#     SQLite file: BENCH_BACKEND=sqlite), a key limited to LIMIT (default 1000) per 10 minutes,
#     flooded at both at once by wrk (16 connections each) for BENCH_SECONDS (default 20):
#     how many VALID answers in all, against the limit (the promise: never more).
# Prints Markdown rows for docs/benchmarks.md. KEYWARD_BIN picks the binary (default: a release
# build of this tree).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${BENCH_SECONDS:-20}
limit=${LIMIT:-1000}
backend=${BENCH_BACKEND:-postgres}
. bench/lib/db.sh
. bench/lib/wrk.sh
need_wrk
if [ -z "${KEYWARD_BIN:-}" ]; then
  cargo build --release --quiet --bin keyward
  KEYWARD_BIN=target/release/keyward
fi
bin=$KEYWARD_BIN
export KEYWARD_BIN
bench_work

# --- 1. the cost of a rate limit on verify --------------------------------------------------
mkdir -p "$work/dev"
dev_start "$work/dev"
pids+=("$SERVER")
limited=$(printf '%s' "$TOKEN" | URL="$URL" python3 -c '
import json, os, sys, urllib.request
body = {"name": "bench-limited", "environments": ["production"], "permissions": ["orders:read"],
        "ratelimits": [{"name": "requests", "limit": 1000000000, "window_secs": 60}]}
request = urllib.request.Request(os.environ["URL"] + "/v1/keys", data=json.dumps(body).encode(),
    headers={"Authorization": "Bearer " + sys.stdin.read(), "Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(request))["secret"])')
script() { # key file
  cat >"$2" <<LUA
wrk.method = "POST"
wrk.body = '{"key":"$1","permission":"orders:read","environment":"production"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
done = function(s, l, r) io.write(string.format("RESULT %.0f %.3f\n", s.requests / (s.duration / 1e6), l:percentile(99) / 1000)) end
LUA
}
script "$KEY" "$work/plain.lua"
script "$limited" "$work/limited.lua"
plain_sum=0
limited_sum=0
for round in 1 2 3; do
  for b in plain limited; do
    r=$(wrk -t2 -c32 -d10s -s "$work/$b.lua" "$URL/v1/verify" | awk '/^RESULT/ {print $2, $3}')
    echo "round $round $b: $r (req/s, p99 ms)"
    rps=${r%% *}
    if [ "$b" = plain ]; then plain_sum=$((plain_sum + rps)); else limited_sum=$((limited_sum + rps)); fi
  done
done
kill "$SERVER" 2>/dev/null || true
ratio=$(python3 -c "print(f'{100 * $limited_sum / $plain_sum:.1f}')")
echo "| $(date -u +%F) | verify, key with a rate limit vs without (same server, 3 alternating rounds) | $((limited_sum / 3)) vs $((plain_sum / 3)) req/s: **$ratio %** (target >= 80 %) |"

# --- 2. two servers flooded at once ------------------------------------------------------------
mkdir -p "$work/db"
db_start "$backend" "$work/db"
admin=$("$bin" --output json server --bootstrap --database "$DB_URL" \
  --pepper-file "$work/pepper" 2>/dev/null)
start_server "$work/a.out"
a=$URL
start_server "$work/b.out"
b=$URL
# Each hears of the other within three rounds.
sleep 3.5
ADMIN="$admin" A="$a" LIMIT="$limit" python3 - >"$work/setup" <<'PY'
import base64, json, os, urllib.request
admin = json.loads(os.environ["ADMIN"])
basic = base64.b64encode(f"{admin['id']}:{admin['secret']}".encode()).decode()
req = urllib.request.Request(os.environ["A"] + "/v1/oauth/token", data=b"grant_type=client_credentials",
    headers={"Authorization": "Basic " + basic, "Content-Type": "application/x-www-form-urlencoded"})
token = json.load(urllib.request.urlopen(req))["access_token"]
body = json.dumps({"name": "flooded", "environments": ["default"],
    "ratelimits": [{"name": "requests", "limit": int(os.environ["LIMIT"]), "window_secs": 600}]}).encode()
req = urllib.request.Request(os.environ["A"] + "/v1/keys", data=body,
    headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
print(token)
print(json.load(urllib.request.urlopen(req))["secret"])
PY
token=$(sed -n 1p "$work/setup")
key=$(sed -n 2p "$work/setup")
cat >"$work/flood.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"key":"$key"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
local threads = {}
setup = function(thread) table.insert(threads, thread) end
init = function() valid = 0 end
response = function(status, headers, body)
  if string.find(body, '"code":"VALID"', 1, true) then valid = valid + 1 end
end
done = function(s, l, r)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("valid") end
  io.write(string.format("RESULT %d %d\n", total, s.requests))
end
LUA
wrk -t1 -c16 -d"${seconds}s" -s "$work/flood.lua" "$a/v1/verify" >"$work/wrk-a" &
wa=$!
wrk -t1 -c16 -d"${seconds}s" -s "$work/flood.lua" "$b/v1/verify" >"$work/wrk-b" &
wb=$!
wait "$wa" "$wb"
read -r va ra < <(awk '/^RESULT/ {print $2, $3}' "$work/wrk-a")
read -r vb rb < <(awk '/^RESULT/ {print $2, $3}' "$work/wrk-b")
echo "server A: $va VALID of $ra verifies; server B: $vb VALID of $rb"
echo "| $(date -u +%F) | two servers ($backend) flooded at once for ${seconds} s, a key limited to $limit per 10 min | **$((va + vb)) VALID** ($va at A, $vb at B) of $((ra + rb)) verifies; limit $limit |"
