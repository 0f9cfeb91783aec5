#!/usr/bin/env bash
# Forward auth, measured (issue: "in the request path", item 4): what nginx's auth_request to
# keyward adds to a request. One nginx (one worker) runs examples/gateways/nginx.conf as
# shipped (addresses and the gateway key filled in) in front of a trivial upstream (nginx
# answering 200 itself), plus the same proxying without auth_request; keyward is a release-built
# `server --dev`. wrk (2 threads, 8 connections, 10 s each, alternating, two rounds) measures:
# (a) nginx -> upstream, (b) nginx -> keyward /v1/authz -> upstream, (c) POST /v1/verify straight
# to keyward. Prints Markdown rows for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib/db.sh
. bench/lib/wrk.sh
need_wrk
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { echo "nginx is needed (apt-get install nginx)" >&2; exit 1; }
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
if [ -z "${KEYWARD_BIN:-}" ]; then
  cargo build --release --quiet --bin keyward
  KEYWARD_BIN=target/release/keyward
fi
export KEYWARD_BIN
bench_work

mkdir -p "$work/dev"
dev_start "$work/dev"
pids+=("$SERVER")
read -r gateway client < <(printf '%s' "$TOKEN" | URL="$URL" python3 -c '
import json, os, sys, urllib.request
token = sys.stdin.read()
def create(body):
    request = urllib.request.Request(os.environ["URL"] + "/v1/keys", data=json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(request))["secret"]
gateway = create({"name": "gateway", "environments": ["production"], "permissions": ["keys:verify"]})
client = create({"name": "client", "environments": ["production"], "permissions": ["orders:read"]})
print(gateway, client)')

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
gated=127.0.0.1:$(port)
plain=127.0.0.1:$(port)
app=127.0.0.1:$(port)
keyward=${URL#http://}
sed -e "s/127.0.0.1:8080/$keyward/" -e "s/127.0.0.1:3000/$app/" -e "s/127.0.0.1:8000/$gated/" \
    -e "s/kw_sk_PASTE_THE_GATEWAY_KEY_HERE/$gateway/" examples/gateways/nginx.conf >"$work/site.conf"
cat >>"$work/site.conf" <<CONF
server {
    listen $plain;
    location /orders/ { proxy_pass http://app; }
}
server {
    listen $app;
    location / { return 200 "ok\n"; }
}
CONF
mkdir -p "$work/temp"
cat >"$work/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx.err warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/temp/body;
  proxy_temp_path $work/temp/proxy;
  fastcgi_temp_path $work/temp/fastcgi;
  uwsgi_temp_path $work/temp/uwsgi;
  scgi_temp_path $work/temp/scgi;
  include $work/site.conf;
}
CONF
"$nginx_bin" -p "$work" -c "$work/nginx.conf" &
pids+=($!)
for _ in $(seq 100); do curl -s -o /dev/null "http://$gated/" && break; sleep 0.05; done
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $client" "http://$gated/orders/1")
[ "$status" = 200 ] || { echo "nginx with auth_request answered $status" >&2; cat "$work/nginx.err" >&2; exit 1; }

report='done = function(s, l, r) io.write(string.format("RESULT %.0f %.3f %.3f\n", s.requests / (s.duration / 1e6), l:percentile(50) / 1000, l:percentile(99) / 1000)) end'
cat >"$work/get.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $client"
$report
LUA
cat >"$work/verify.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"key":"$client","permission":"orders:read","environment":"production"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
$report
LUA
run() { wrk -t2 -c8 -d10s -s "$work/$1.lua" "$2" | awk '/^RESULT/ {print $2, $3, $4}'; }
for round in 1 2; do
  a=$(run get "http://$plain/orders/1"); echo "round $round nginx -> upstream: $a (req/s, p50 ms, p99 ms)"
  b=$(run get "http://$gated/orders/1"); echo "round $round nginx + auth_request: $b"
  c=$(run verify "$URL/v1/verify"); echo "round $round POST /v1/verify: $c"
done
read -r ar ap50 ap99 <<<"$a"
read -r br bp50 bp99 <<<"$b"
read -r cr cp50 cp99 <<<"$c"
added50=$(python3 -c "print(f'{$bp50 - $ap50:.3f}')")
added99=$(python3 -c "print(f'{$bp99 - $ap99:.3f}')")
echo "| $(date -u +%F) | nginx -> upstream, no auth | $ar req/s, p50 $ap50 ms, p99 $ap99 ms |"
echo "| $(date -u +%F) | nginx auth_request -> keyward /v1/authz -> upstream | $br req/s, p50 $bp50 ms, p99 $bp99 ms: **+$added50 ms p50, +$added99 ms p99** |"
echo "| $(date -u +%F) | POST /v1/verify straight to keyward (for comparison) | $cr req/s, p50 $cp50 ms, p99 $cp99 ms |"
