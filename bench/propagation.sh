#!/usr/bin/env bash
# Measures docs/design.md's bound on revocation across replicas (< 1 s): two release-built
# `keyward server`s on one database, on each backend (BENCH_BACKENDS, default "sqlite postgres";
# SQLite: one file, PostgreSQL: a throwaway cluster). BENCH_REVOKES times (default 200): a key
# made at A and verified at B (so B has it cached), then revoked at A at a random moment; the
# time from A's answer to B's first answer other than VALID. Prints p50, p99 and max per backend
# as Markdown rows for the README.
set -euo pipefail
cd "$(dirname "$0")/.."
backends=${BENCH_BACKENDS:-sqlite postgres}
revokes=${BENCH_REVOKES:-200}
. bench/lib/db.sh
cargo build --release --quiet --bin keyward

bench_work

bin=target/release/keyward

for backend in $backends; do
  rm -rf "${work:?}/$backend" "$work/pepper"
  mkdir -p "$work/$backend"
  db_start "$backend" "$work/$backend"
  admin=$(target/release/keyward --output json server --bootstrap --database "$DB_URL" \
    --pepper-file "$work/pepper" 2>/dev/null)
  start_server "$work/a.out"
  a=$URL
  start_server "$work/b.out"
  b=$URL
  ADMIN="$admin" A="$a" B="$b" REVOKES="$revokes" BACKEND="$backend" python3 - <<'PY'
import base64, http.client, json, os, random, time, urllib.parse

admin = json.loads(os.environ["ADMIN"])
def conn(url):
    u = urllib.parse.urlparse(url)
    return http.client.HTTPConnection(u.hostname, u.port)
A, B = conn(os.environ["A"]), conn(os.environ["B"])

def call(c, method, path, body=None, token=None, form=False):
    headers = {}
    if token:
        headers["Authorization"] = "Bearer " + token
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded" if form else "application/json"
        body = body if form else json.dumps(body)
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    data = r.read()
    return r.status, (json.loads(data) if data else None)

def token(c):
    form = urllib.parse.urlencode({"grant_type": "client_credentials",
                                   "client_id": admin["id"], "client_secret": admin["secret"]})
    status, body = call(c, "POST", "/v1/oauth/token", form, form=True)
    assert status == 200, body
    return body["access_token"]

ta, tb = token(A), token(B)
times = []
for i in range(int(os.environ["REVOKES"])):
    status, key = call(A, "POST", "/v1/keys", {"name": f"p{i}", "environments": ["default"]}, ta)
    assert status == 201, key
    secret = key["secret"]
    status, v = call(B, "POST", "/v1/verify", {"key": secret}, tb)
    assert v["code"] == "VALID", v
    # A random moment, so revokes do not fall in step with B's poll.
    time.sleep(random.uniform(0, 0.25))
    status, _ = call(A, "POST", f"/v1/keys/{key['id']}/revoke", None, ta)
    assert status == 200
    start = time.monotonic()
    while True:
        status, v = call(B, "POST", "/v1/verify", {"key": secret}, tb)
        if status == 200 and v["code"] != "VALID":
            break
        if time.monotonic() - start > 10:
            raise SystemExit(f"B still says VALID 10 s after revoke {i}")
    times.append(time.monotonic() - start)

times.sort()
ms = lambda s: f"{s * 1000:.1f} ms"
p = lambda q: times[min(len(times) - 1, int(q * len(times)))]
backend = os.environ["BACKEND"]
print(f"| revocation across two replicas, {backend} ({len(times)} revokes) | "
      f"p50 {ms(p(0.5))}, p99 {ms(p(0.99))}, max {ms(times[-1])} | < 1 s |")
PY
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  pids=()
  db_stop
done
