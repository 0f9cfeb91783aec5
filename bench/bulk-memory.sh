#!/usr/bin/env bash
# Measures the CLI's peak resident memory (maximum RSS, GNU time's %M) for bulk changes over a
# large selection, and for `keys list --all` beside them: docs/cli.md's "Bulk changes stream".
# BENCH_KEYS (default 111,000) keys are seeded with the hidden `keyward server --seed-keys` on
# SQLite; every seeded key holds orders:read and about 10 % of them are revoked, so
# `--permission orders:read` selects them all and about 100,000 are targets. A loopback server
# serves them; each command runs once as the super admin, its stdout to /dev/null, and the last
# on a pseudo-terminal, its question answered y (the preview's versions kept). Results and
# method: docs/benchmarks.md ("Bulk changes' memory").
# KEYWARD_BIN=PATH measures another build (a baseline) the same way; by default the debug build
# in $CARGO_TARGET_DIR (or target/).
# Prints one Markdown row per command.
set -euo pipefail
cd "$(dirname "$0")/.."
keys=${BENCH_KEYS:-111000}
bin=${KEYWARD_BIN:-${CARGO_TARGET_DIR:-target}/debug/keyward}
. bench/lib/db.sh

[ -x /usr/bin/time ] || { echo "GNU time is needed: apt-get install time" >&2; exit 1; }
bench_work
db_start sqlite "$work"
admin=$("$bin" --output json server --bootstrap --database "$DB_URL" \
  --pepper-file "$work/pepper" 2>/dev/null)
"$bin" server --database "$DB_URL" --pepper-file "$work/pepper" \
  --seed-keys "$keys" 2>"$work/seed.err" >/dev/null || { cat "$work/seed.err" >&2; exit 1; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
"$bin" server --listen "127.0.0.1:$port" --database "$DB_URL" --pepper-file "$work/pepper" \
  >"$work/server.out" 2>"$work/server.err" &
pids+=($!)
until curl -sf "$url/readyz" >/dev/null 2>&1; do sleep 0.05; done

mkdir -p "$work/home"
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_DATA_HOME="$work/home/.data"
export KEYWARD_URL="$url"
KEYWARD_CLIENT_ID=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["id"])' "$admin")
KEYWARD_CLIENT_SECRET=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["secret"])' "$admin")
export KEYWARD_CLIENT_ID KEYWARD_CLIENT_SECRET

echo "| command | selection | max RSS | time |"
echo "|---|---|---|---|"
measure() {
  local started rc=0
  started=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$work/rss" "$bin" "$@" >/dev/null 2>"$work/err" || rc=$?
  # Exit 9 is a bulk change's "some keys failed or changed": still a measurement.
  if [ "$rc" != 0 ] && [ "$rc" != 9 ]; then cat "$work/err" >&2; exit 1; fi
  local seconds kib said
  seconds=$(python3 -c "import time; print(f'{time.time() - $started:.0f}')")
  kib=$(tail -1 "$work/rss")
  said=$( (grep -v "^warning" "$work/err" || true) | tail -1 | cut -c1-90)
  [ -n "$said" ] || said="-"
  echo "| \`keyward $*\` | $said | $((kib / 1024)) MiB | ${seconds} s |"
}
# The same on a terminal: the question after the preview, answered y (the preview keeps each
# key's version). A pseudo-terminal from Python; GNU time writes the figure to a file.
measure_asked() {
  local started
  started=$(date +%s.%N)
  python3 - "$work/rss" "$bin" "$@" >"$work/err" <<'PY'
import os, pty, sys, time
rss, argv = sys.argv[1], sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.environ.pop("CI", None)
    os.execvp("/usr/bin/time", ["/usr/bin/time", "-f", "%M", "-o", rss] + argv)
seen = b""
while b"[y/N]" not in seen:
    seen += os.read(fd, 65536)
time.sleep(0.3)
os.write(fd, b"y")
while True:
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    seen += chunk
os.waitpid(pid, 0)
lines = [l for l in seen.decode(errors="replace").splitlines() if l.strip()]
print(lines[-1] if lines else "")
PY
  local seconds kib said
  seconds=$(python3 -c "import time; print(f'{time.time() - $started:.0f}')")
  kib=$(tail -1 "$work/rss")
  said=$(tail -1 "$work/err" | tr -d '\r' | cut -c1-90)
  echo "| \`keyward $*\` (on a terminal, answered y) | $said | $((kib / 1024)) MiB | ${seconds} s |"
}
measure keys list --permission orders:read --all -q
measure keys disable --permission orders:read --dry-run --output json
measure keys disable --permission orders:read --yes --output json
measure keys enable --permission orders:read --yes
measure_asked keys disable --permission orders:read
