#!/usr/bin/env bash
# Measures docs/design.md's first target: `keyward --version` median <= 5 ms.
# Builds the release binary, then times it with hyperfine (installed from Debian if missing).
# Prints one Markdown row for the README's performance table.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v hyperfine >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y -qq hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null; }
  else
    echo "hyperfine is needed (apt-get install hyperfine)" >&2
    exit 1
  fi
fi

cargo build --release --quiet
out=$(mktemp)
trap 'rm -f "$out"' EXIT
hyperfine --warmup 50 --runs 500 -N --export-json "$out" 'target/release/keyward --version' >&2
python3 - "$out" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"| `keyward --version` | median {r['median']*1000:.2f} ms, mean {r['mean']*1000:.2f} ms ± {r['stddev']*1000:.2f} ms over {len(r['times'])} runs | ≤ 5 ms median |")
PY
