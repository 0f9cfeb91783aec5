# Sourced by the bench scripts that drive HTTP load.
#   need_wrk              installs wrk from Debian when missing (as root), or says how
#   dev_start DIR URL     starts a release `keyward server --dev` on the database URL, its output
#                         in DIR; sets SERVER (pid), URL, ID and SECRET (the dev super-admin key),
#                         TOKEN (an access token for it) and KEY (the secret of a new key in
#                         production with orders:read, for verify)

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
  local dir=$1 database=$2
  # The keyward dev server prints its URL and a super-admin key once.
  target/release/keyward server --dev --listen 127.0.0.1:0 --database "$database" >"$dir/dev.out" 2>"$dir/dev.err" &
  SERVER=$!
  for _ in $(seq 200); do
    grep -q "keyward login" "$dir/dev.out" 2>/dev/null && break
    sleep 0.05
  done
  URL=$(grep -o 'http://[0-9.:]*' "$dir/dev.out" | head -1)
  ID=$(awk '/client id:/ {print $3}' "$dir/dev.out")
  SECRET=$(awk '/secret:/ {print $2}' "$dir/dev.out")
  TOKEN=$(curl -s -u "$ID:$SECRET" -d grant_type=client_credentials "$URL/v1/oauth/token" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  KEY=$(curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"name":"bench","environments":["production"],"permissions":["orders:read"]}' "$URL/v1/keys" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
}
