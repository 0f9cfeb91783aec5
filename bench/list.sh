#!/usr/bin/env bash
# Measures docs/design.md's targets at a million keys, on each backend (BENCH_BACKENDS, default
# "sqlite postgres"; PostgreSQL is a throwaway cluster):
#   - GET /v1/keys, one page of 50: p50/p99 per query shape (each sort, each filter alone, a
#     caller scoped to one environment, and `q` for name, hint, description and IP fragments),
#     BENCH_REQUESTS requests per shape (default 200) over one keep-alive connection, fragments
#     drawn from real keys; target p99 <= 20 ms;
#   - start-up: `keyward server` on the seeded database until /readyz answers 200; target 2 s;
#   - resident memory of the server after the list run and a verify run; target 200 MB.
# BENCH_KEYS (default 1000000) keys are seeded first with the hidden `keyward server
# --seed-keys` (realistic keys written through the store in batches; its time is reported).
# BENCH_REPORT=memory prints only the start-up and memory rows (bench/memory.sh).
# KEYWARD_BIN=PATH measures another build (a baseline) the same way.
# Prints Markdown rows for the README's performance table.
set -euo pipefail
cd "$(dirname "$0")/.."
backends=${BENCH_BACKENDS:-sqlite postgres}
keys=${BENCH_KEYS:-1000000}
requests=${BENCH_REQUESTS:-200}
report=${BENCH_REPORT:-all}
. bench/lib/db.sh
. bench/lib/wrk.sh

need_wrk
# KEYWARD_BIN: another build to measure (a baseline), the same way.
bin=${KEYWARD_BIN:-target/release/keyward}
[ -n "${KEYWARD_BIN:-}" ] || cargo build --release --quiet --bin keyward

bench_work

for backend in $backends; do
  rm -rf "${work:?}/$backend" "$work/pepper"
  mkdir -p "$work/$backend"
  db_start "$backend" "$work/$backend"
  cat >"$work/server.toml" <<TOML
database = "$DB_URL"
pepper_file = "$work/pepper"
[[permissions]]
name = "orders:read"
description = "Read orders"
public_safe = true
TOML
  admin=$("$bin" --output json server --bootstrap --database "$DB_URL" \
    --pepper-file "$work/pepper" 2>/dev/null)
  seed_start=$(date +%s.%N)
  "$bin" server --database "$DB_URL" --pepper-file "$work/pepper" \
    --seed-keys "$keys" 2>"$work/seed.err" >/dev/null || { cat "$work/seed.err" >&2; exit 1; }
  seed_seconds=$(python3 -c "import time; print(f'{time.time() - $seed_start:.0f}')")
  echo "seeded $keys keys on $backend in ${seed_seconds} s" >&2

  # Start-up: from exec to the first /readyz 200.
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  url="http://127.0.0.1:$port"
  start=$(date +%s.%N)
  "$bin" server --listen "127.0.0.1:$port" --config "$work/server.toml" >"$work/server.out" 2>"$work/server.err" &
  server=$!
  pids+=($server)
  until curl -sf "$url/readyz" >/dev/null 2>&1; do
    kill -0 "$server" 2>/dev/null || { cat "$work/server.err" >&2; exit 1; }
    sleep 0.01
  done
  startup=$(python3 -c "import time; print(f'{time.time() - $start:.2f}')")

  ADMIN="$admin" URL="$url" REQUESTS="$requests" BACKEND="$backend" REPORT="$report" \
    KEYS="$keys" SEED_SECONDS="$seed_seconds" WORK="$work" python3 - <<'PY'
import http.client, json, os, random, statistics, time, urllib.parse

admin = json.loads(os.environ["ADMIN"])
u = urllib.parse.urlparse(os.environ["URL"])
conn = http.client.HTTPConnection(u.hostname, u.port)
backend, keys = os.environ["BACKEND"], int(os.environ["KEYS"])
random.seed(42)

def call(method, path, body=None, token=None, form=False):
    headers = {}
    if token:
        headers["Authorization"] = "Bearer " + token
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded" if form else "application/json"
        body = body if form else json.dumps(body)
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    data = r.read()
    return r.status, (json.loads(data) if data else None)

def token(client_id, secret):
    form = urllib.parse.urlencode({"grant_type": "client_credentials",
                                   "client_id": client_id, "client_secret": secret})
    status, body = call("POST", "/v1/oauth/token", form, form=True)
    assert status == 200, body
    return body["access_token"]

admin_token = token(admin["id"], admin["secret"])
# A caller scoped to staging, and a key for the verify run.
status, scoped = call("POST", "/v1/keys", {"name": "bench-scoped", "environments": ["staging"],
                                            "permissions": ["keys:read"]}, admin_token)
assert status == 201, scoped
scoped_token = token(scoped["id"], scoped["secret"])
status, verifier = call("POST", "/v1/keys", {"name": "bench-verify", "environments": ["production"],
                                              "permissions": ["orders:read"]}, admin_token)
assert status == 201, verifier
with open(os.path.join(os.environ["WORK"], "verify.json"), "w") as f:
    json.dump({"token": admin_token, "secret": verifier["secret"]}, f)

# Fragments drawn from real keys, spread over the whole table.
sample = []
for sort in ("created_at", "-created_at", "name", "expires_at"):
    status, page = call("GET", f"/v1/keys?limit=500&sort={sort}", token=admin_token)
    assert status == 200, page
    sample += [k for k in page["items"] if k["created_by"] == "local:seed"]
names = [k["name"].rsplit("-", 1)[1] for k in sample]
hints = [k["hint"].split("…")[1] for k in sample]
tickets = [k["description"].rsplit(" ", 1)[1] for k in sample]
ips = [".".join(k["allowed_ips"][0].split(".")[:3]) + "." for k in sample if k["allowed_ips"]]

def q(values):
    return lambda: "q=" + urllib.parse.quote(random.choice(values))

now = time.time()
iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
shapes = [
    ("default order (created_at)", lambda: "", admin_token, None),
    ("sort=-created_at", lambda: "sort=-created_at", admin_token, None),
    ("sort=expires_at", lambda: "sort=expires_at", admin_token, None),
    ("sort=name", lambda: "sort=name", admin_token, None),
    ("status=active", lambda: "status=active", admin_token, None),
    ("status=disabled (3 %)", lambda: "status=disabled", admin_token, None),
    ("status=revoked (10 %)", lambda: "status=revoked", admin_token, None),
    ("status=expired (7 %)", lambda: "status=expired", admin_token, None),
    ("type=public (15 %)", lambda: "type=public", admin_token, None),
    ("environment=production (40 %)", lambda: "environment=production", admin_token, None),
    ("environment=eu-audit (1 %)", lambda: "environment=eu-audit", admin_token, None),
    ("permission=orders:read (all)", lambda: "permission=orders:read", admin_token, None),
    ("permission=payments:refund (1.7 %)", lambda: "permission=payments:refund", admin_token, None),
    ("expiring within 30 days", lambda: "expiring_within_seconds=2592000", admin_token, None),
    ("unused for 90 days", lambda: "unused_for_seconds=7776000", admin_token, None),
    ("a caller scoped to staging", lambda: "", scoped_token, None),
    ("q: a name fragment (1 key)", q(names), admin_token, None),
    ("q: a name fragment (0.5 %)", q(["ledger-cron", "search-etl", "tax-webhook"]), admin_token, None),
    ("q: a hint fragment", q(["…" + h for h in hints]), admin_token, None),
    ("q: a description word (~10 keys)", q(tickets), admin_token, None),
    ("q: a description word (8 %)", q(["borealis", "kestrel", "juniper"]), admin_token, None),
    ("q: an IP fragment", q(ips), admin_token, None),
]
rows = []
if os.environ["REPORT"] == "all":
    for label, query, tok, _ in shapes:
        # Two warm-up requests, then the measured ones.
        times, found = [], 0
        n = int(os.environ["REQUESTS"])
        for i in range(n + 2):
            qs = query()
            path = "/v1/keys?limit=50" + ("&" + qs if qs else "")
            start = time.perf_counter()
            status, page = call("GET", path, token=tok)
            elapsed = time.perf_counter() - start
            assert status == 200, (path, page)
            if i >= 2:
                times.append(elapsed)
                found += len(page["items"])
        times.sort()
        p = lambda x: times[min(len(times) - 1, int(x * len(times)))] * 1000
        verdict = "" if p(0.99) <= 20 else " **missed**"
        rows.append(f"| `GET /v1/keys` at {keys:,} keys, {backend}: {label} | p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms (avg {found / n:.0f} keys per page){verdict} | p99 ≤ 20 ms |")
    rows.append(f"| seeding {keys:,} keys, {backend} (`--seed-keys`, bench only) | {os.environ['SEED_SECONDS']} s | a few minutes |")
print("\n".join(rows))
PY

  # Verify for 10 s on one key, then the server's resident memory.
  secret=$(python3 -c "import json; print(json.load(open('$work/verify.json'))['secret'])")
  tok=$(python3 -c "import json; print(json.load(open('$work/verify.json'))['token'])")
  cat >"$work/verify.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"key":"$secret","permission":"orders:read","environment":"production"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $tok"
LUA
  wrk -t2 -c32 -d10s -s "$work/verify.lua" "$url/v1/verify" >/dev/null
  rss=$(awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$server/status")
  hwm=$(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$server/status")
  echo "| start-up at $(python3 -c "print(f'{$keys:,}')") keys, $backend (exec to /readyz 200) | ${startup} s | ≤ 2 s |"
  echo "| server resident memory at $(python3 -c "print(f'{$keys:,}')") keys, $backend, after listing and 10 s of verify | ${rss} MB (peak ${hwm} MB) | ≤ 200 MB |"
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  pids=()
  db_stop
done
