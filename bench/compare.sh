#!/usr/bin/env bash
# Two keyward binaries side by side: `bench/compare.sh OLD NEW` starts `server --dev` from each
# and alternates 10-second wrk runs of verify (32 connections) against them, three rounds, so a
# change is judged against its baseline in the same run on a noisy machine.
set -euo pipefail
old_bin=${1:?usage: bench/compare.sh OLD_KEYWARD NEW_KEYWARD}
new_bin=${2:?usage: bench/compare.sh OLD_KEYWARD NEW_KEYWARD}
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }
work=$(mktemp -d); pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null||true; done; rm -rf $work' EXIT
start() { # bin name
  $1 server --dev --listen 127.0.0.1:0 >"$work/$2.out" 2>/dev/null & pids+=($!)
  for _ in $(seq 200); do grep -q "keyward login" "$work/$2.out" 2>/dev/null && break; sleep 0.05; done
  url=$(grep -o 'http://[0-9.:]*' "$work/$2.out" | head -1)
  id=$(awk '/client id:/ {print $3}' "$work/$2.out"); secret=$(awk '/secret:/ {print $2}' "$work/$2.out")
  token=$(curl -s -u "$id:$secret" -d grant_type=client_credentials "$url/v1/oauth/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  key=$(curl -s -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d '{"name":"bench","environments":["production"],"permissions":["orders:read"]}' "$url/v1/keys" | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
  cat >"$work/$2.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"key":"$key","permission":"orders:read","environment":"production"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
done = function(s, l, r) io.write(string.format("RESULT %.0f %.3f\n", s.requests / (s.duration / 1e6), l:percentile(99) / 1000)) end
LUA
  echo "$url" > "$work/$2.url"
}
start "$old_bin" old
start "$new_bin" new
for round in 1 2 3; do
  for b in old new; do
    r=$(wrk -t2 -c32 -d10s -s "$work/$b.lua" "$(cat $work/$b.url)/v1/verify" | awk '/^RESULT/ {print $2, $3}')
    echo "round $round $b: $r (req/s, p99 ms)"
  done
done
