#!/usr/bin/env bash
# Measures the throttle's memory cap (docs/server.md, "Throttling"): a release build of
# examples/throttle_memory.rs records token-exchange failures from 1,000,000 distinct addresses
# (half IPv4, half IPv6 /64s) and prints the process's resident memory before and after, the
# buckets kept, and the time per check-and-failure in each 100,000 (flat: O(1), no scan).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --example throttle_memory
exec target/release/examples/throttle_memory
