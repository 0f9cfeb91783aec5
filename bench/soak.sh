#!/usr/bin/env bash
# The bound under load (issue: "one core for the store's invariants", item 4): two release-built
# `keyward server`s on one throwaway PostgreSQL, wrk verifying a cached key at 16 connections
# against each (requests over 2 s count as timeouts), and a writer that, for BENCH_SECONDS
# (default 120), creates a key through A, verifies it at B (so B caches it), revokes it through A
# and times until B refuses it. Reports failed writes, verify answers that were not 2xx or took
# over 2 s, the revocation's arrival at B (p50, p99, max), and, beside them, how long PostgreSQL
# took to answer `SELECT 1` to a client of its own (pgbench) in the same run, as Markdown rows.
# Runs with the kernel's autogroup scheduling off (as root; BENCH_AUTOGROUP=keep leaves it on):
# with it, PostgreSQL's mostly idle backends wait on the run queue for up to seconds behind the
# load (autogroup_off in bench/lib/db.sh says why); the last row says which it was.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${BENCH_SECONDS:-120}
. bench/lib/db.sh
. bench/lib/wrk.sh
need_wrk
cargo build --release --quiet --bin keyward
bin=target/release/keyward

bench_work
autogroup_off


mkdir -p "$work/pg"
db_start postgres "$work/pg"
admin=$("$bin" --output json server --bootstrap --database "$DB_URL" \
  --pepper-file "$work/pepper" 2>/dev/null)
start_server "$work/a.out"
a=$URL
start_server "$work/b.out"
b=$URL

# A token and a key to verify, made through A; each replica's wrk script verifies that key.
ADMIN="$admin" A="$a" python3 - >"$work/setup" <<'PY'
import base64, json, os, urllib.request
admin = json.loads(os.environ["ADMIN"])
basic = base64.b64encode(f"{admin['id']}:{admin['secret']}".encode()).decode()
req = urllib.request.Request(os.environ["A"] + "/v1/oauth/token", data=b"grant_type=client_credentials",
    headers={"Authorization": "Basic " + basic, "Content-Type": "application/x-www-form-urlencoded"})
token = json.load(urllib.request.urlopen(req))["access_token"]
body = json.dumps({"name": "soak-verified", "environments": ["default"]}).encode()
req = urllib.request.Request(os.environ["A"] + "/v1/keys", data=body,
    headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
print(token)
print(json.load(urllib.request.urlopen(req))["secret"])
PY
token=$(sed -n 1p "$work/setup")
key=$(sed -n 2p "$work/setup")
cat >"$work/verify.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"key":"$key"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
done = function(s, l, r)
  io.write(string.format("RESULT %d %d %d %.3f %.3f\n", s.requests, s.errors.status,
    s.errors.timeout + s.errors.connect + s.errors.read + s.errors.write, l:percentile(99) / 1000, l.max / 1000))
end
LUA
# PostgreSQL's own answer time in the same run, to a client that is not keyward: pgbench sends
# `SELECT 1` (no table, no lock) 20 times a second on a connection of its own. Where it stalls,
# the database stalled, whatever keyward asked of it.
echo 'SELECT 1;' >"$work/probe.sql"
(cd "$work" && "$DB_PG_BIN/pgbench" -n -f probe.sql -T "$seconds" -c 1 -R 20 -l --log-prefix=probe \
  "$DB_URL" >/dev/null 2>&1) &
probe=$!
wrk -t1 -c16 -d"${seconds}s" --timeout 2s -s "$work/verify.lua" "$a/v1/verify" >"$work/wrk-a" &
wa=$!
wrk -t1 -c16 -d"${seconds}s" --timeout 2s -s "$work/verify.lua" "$b/v1/verify" >"$work/wrk-b" &
wb=$!

TOKEN="$token" A="$a" B="$b" SECONDS_="$seconds" python3 - >"$work/writer" <<'PY'
import http.client, json, os, random, sys, time, urllib.parse
def conn(url):
    u = urllib.parse.urlparse(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=10)
A, B = conn(os.environ["A"]), conn(os.environ["B"])
token = os.environ["TOKEN"]
def call(c, method, path, body=None):
    headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    c.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    r = c.getresponse()
    return r.status, r.read()
end = time.time() + float(os.environ["SECONDS_"])
writes = failed = 0
times = []
n = 0
while time.time() < end:
    n += 1
    status, body = call(A, "POST", "/v1/keys", {"name": f"soak-{n}", "environments": ["default"]})
    writes += 1
    if status != 201:
        failed += 1
        print(f"{time.strftime('%H:%M:%S')} create answered {status}: {body[:300]!r}", file=sys.stderr)
        continue
    created = json.loads(body)
    secret = created["secret"]
    call(B, "POST", "/v1/verify", {"key": secret})
    time.sleep(random.uniform(0, 0.05))
    status, body = call(A, "POST", f"/v1/keys/{created['id']}/revoke")
    writes += 1
    if status != 200:
        failed += 1
        print(f"{time.strftime('%H:%M:%S')} revoke answered {status}: {body[:300]!r}", file=sys.stderr)
        continue
    revoked = time.monotonic()
    while True:
        status, body = call(B, "POST", "/v1/verify", {"key": secret})
        if status == 200 and json.loads(body)["code"] != "VALID":
            took = time.monotonic() - revoked
            times.append(took)
            if took > 0.1:
                print(f"{time.strftime('%H:%M:%S')} revocation reached B after {took * 1000:.0f} ms", file=sys.stderr)
            break
        if time.monotonic() - revoked > 10:
            times.append(float("inf"))
            break
times.sort()
pct = lambda p: times[min(len(times) - 1, int(len(times) * p))] * 1000
print(f"{writes} {failed} {len(times)} {pct(0.5):.1f} {pct(0.99):.1f} {times[-1] * 1000:.1f}")
PY
wait "$wa" "$wb" "$probe"
# The servers' logs, for what went wrong (BENCH_LOGS names a directory to keep them in).
if [ -n "${BENCH_LOGS:-}" ]; then mkdir -p "$BENCH_LOGS" && cp "$work"/a.out.err "$work"/b.out.err "$BENCH_LOGS"/; fi
read -r writes failed revokes p50 p99 max <"$work/writer"
for r in a b; do
  read -r _ requests bad timeouts vp99 vmax < <(grep RESULT "$work/wrk-$r")
  echo "| replica $r | $requests verifies | $bad not 2xx | $timeouts over 2 s or failed | p99 $vp99 ms, max $vmax ms |"
done
# pgbench's log: the third field is the time from the moment the statement was due (20 a
# second) to its answer; a stall shows as its length in the statement due when it began.
read -r pn pp99 pmax < <(cat "$work"/probe.[0-9]* | awk '{print $3 / 1000}' | sort -n |
  awk '{a[NR] = $1} END {printf "%d %.1f %.1f\n", NR, a[int(NR * 0.99)], a[NR]}')
echo "| PostgreSQL, to a client that is not keyward | $pn \`SELECT 1\` | | | p99 $pp99 ms, max $pmax ms |"
echo "| writer | $writes writes through A | $failed failed | $revokes revocations at B | p50 $p50 ms, p99 $p99 ms, max $max ms |"
echo "| kernel autogroup scheduling | $AUTOGROUP_STATE | | | |"
