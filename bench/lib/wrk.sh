# Sourced by the bench scripts that drive HTTP load.
#   need_wrk              installs wrk from Debian when missing (as root), or says how
#   dev_start DIR [URL]   starts `keyward server --dev` ($KEYWARD_BIN, default the release build)
#                         on the database URL (none: in memory), its output in DIR; sets SERVER
#                         (pid), URL, ID and SECRET (the dev super-admin key), TOKEN (an access
#                         token for it) and KEY (the secret of a new key in production with
#                         orders:read, for verify)

need_wrk() {
  command -v wrk >/dev/null && return 0
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
  else
    echo "wrk is needed (apt-get install wrk)" >&2
    return 1
  fi
}

dev_start() {
  local dir=$1 database=${2:-} bin=${KEYWARD_BIN:-target/release/keyward}
  local args=(server --dev --listen 127.0.0.1:0)
  [ -n "$database" ] && args+=(--database "$database")
  # The keyward dev server prints its URL and a super-admin key once.
  "$bin" "${args[@]}" >"$dir/dev.out" 2>"$dir/dev.err" &
  SERVER=$!
  for _ in $(seq 200); do
    grep -q "keyward login" "$dir/dev.out" 2>/dev/null && break
    sleep 0.05
  done
  URL=$(grep -o 'http://[0-9.:]*' "$dir/dev.out" | head -1)
  ID=$(awk '/client id:/ {print $3}' "$dir/dev.out")
  SECRET=$(awk '/secret:/ {print $2}' "$dir/dev.out")
  [ -n "$URL" ] && [ -n "$ID" ] && [ -n "$SECRET" ] || { cat "$dir/dev.out" "$dir/dev.err" >&2; return 1; }
  # Secrets and tokens reach Python on stdin, never in an argument.
  TOKEN=$(printf '%s' "$SECRET" | URL="$URL" ID="$ID" python3 -c '
import base64, json, os, sys, urllib.request
basic = base64.b64encode((os.environ["ID"] + ":" + sys.stdin.read()).encode()).decode()
request = urllib.request.Request(os.environ["URL"] + "/v1/oauth/token",
    data=b"grant_type=client_credentials",
    headers={"Authorization": "Basic " + basic,
             "Content-Type": "application/x-www-form-urlencoded"})
print(json.load(urllib.request.urlopen(request))["access_token"])')
  KEY=$(printf '%s' "$TOKEN" | URL="$URL" python3 -c '
import json, os, sys, urllib.request
body = {"name": "bench", "environments": ["production"], "permissions": ["orders:read"]}
request = urllib.request.Request(os.environ["URL"] + "/v1/keys", data=json.dumps(body).encode(),
    headers={"Authorization": "Bearer " + sys.stdin.read(), "Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(request))["secret"])')
}
