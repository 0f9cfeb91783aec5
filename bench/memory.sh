#!/usr/bin/env bash
# Measures docs/design.md's memory target: the server's resident memory at a million keys after
# listing and a verify run (<= 200 MB), and its start-up time (<= 2 s). bench/list.sh does the
# seeding and the work; this runs it reporting only those rows. Same variables as bench/list.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_REPORT=memory exec bench/list.sh
