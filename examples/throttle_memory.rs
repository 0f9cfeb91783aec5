//! The throttle's memory and look-up cost under failures from 1,000,000 distinct addresses
//! (bench/throttle-memory.sh runs it on a release build). Each failure is a token exchange's:
//! one against a client id from the source, one against the source. Prints the resident memory
//! before and after (VmRSS, VmHWM from /proc/self/status) and the time per failure and per
//! check, in the first and the last 100,000 (a scan or a growing map would show there).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use jiff::Timestamp;
use keyward::server::throttle::{MAX_BUCKETS, Source, Subject, Throttle};

const ADDRESSES: u32 = 1_000_000;
const WINDOW: u32 = 100_000;

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    let before = status_kib("VmRSS:");
    let throttle = Throttle::default();
    let ids: Vec<String> = (0..1000).map(|i| format!("key_{i:016}")).collect();
    let now = Timestamp::now();
    let mut windows = Vec::new();
    let mut started = Instant::now();
    for n in 0..ADDRESSES {
        // Half IPv4 addresses, half IPv6 /64s: every one a source of its own.
        let ip = if n % 2 == 0 {
            IpAddr::V4(Ipv4Addr::from(0x0B00_0000 + n))
        } else {
            IpAddr::V6(Ipv6Addr::from(
                (0x2001_0db8_u128 << 96) | (u128::from(n) << 64) | 1,
            ))
        };
        let source = Source::of(Some(ip));
        let id = &ids[(n % 1000) as usize];
        let subjects = [Subject::Client(id, source), Subject::Address(source)];
        let _ = throttle.check(&subjects, now);
        throttle.failed(&subjects, now);
        if (n + 1) % WINDOW == 0 {
            let elapsed = started.elapsed();
            windows.push(elapsed.as_nanos() as f64 / f64::from(WINDOW));
            started = Instant::now();
        }
    }
    let after = status_kib("VmRSS:");
    let peak = status_kib("VmHWM:");
    println!(
        "failures from {ADDRESSES} distinct addresses (a check and a failure each, 2 buckets)"
    );
    println!("buckets kept: {} (cap {MAX_BUCKETS})", throttle.len());
    println!(
        "resident: {:.1} MiB before, {:.1} MiB after, peak {:.1} MiB; the throttle: {:.1} MiB",
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        peak as f64 / 1024.0,
        (after.saturating_sub(before)) as f64 / 1024.0
    );
    let per: Vec<String> = windows.iter().map(|ns| format!("{ns:.0}")).collect();
    println!(
        "ns per check+failure, each {WINDOW} addresses: {}",
        per.join(" ")
    );
}
