//! IP allowlists: is an address inside any of a key's networks? IPv4-mapped IPv6 addresses
//! (`::ffff:203.0.113.7`) are judged as the IPv4 address they carry, against IPv4 rules, so a
//! dual-stack socket or proxy cannot slip past an IPv4 allowlist (or be refused by one).

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Mutex;

use ipnet::IpNet;

/// An empty list allows every address.
pub fn allowed(ip: IpAddr, nets: &[IpNet]) -> bool {
    if nets.is_empty() {
        return true;
    }
    let ip = ip.to_canonical();
    nets.iter().any(|net| canonical_net(net).contains(&ip))
}

/// Whether the network `inner` lies wholly inside one of `outer` (IPv4-mapped IPv6 networks
/// judged as the IPv4 networks they carry). An empty `outer` here holds nothing.
pub fn within(inner: &IpNet, outer: &[IpNet]) -> bool {
    let inner = canonical_net(inner);
    outer.iter().any(|net| canonical_net(net).contains(&inner))
}

/// `::ffff:a.b.c.d/96+n` is the IPv4 network `a.b.c.d/n`.
fn canonical_net(net: &IpNet) -> IpNet {
    if let IpNet::V6(v6) = net {
        if let Some(v4) = v6.addr().to_ipv4_mapped() {
            if v6.prefix_len() >= 96 {
                return IpNet::new(IpAddr::V4(v4), v6.prefix_len() - 96)
                    .map(|n| n.trunc())
                    .unwrap_or(*net);
            }
        }
    }
    *net
}

/// Whether a key's stored allowlist lets `ip` in. An empty list lets every address in; an address
/// that is not known (`None`) passes no list. The entries were validated when written, but one
/// that no longer parses (a hand-edited row, a bug) allows no address: it is logged once per key
/// and never widens the list, so a list whose entries all fail refuses everyone.
pub fn permits(key_id: &str, ip: Option<IpAddr>, entries: &[String]) -> bool {
    if entries.is_empty() {
        return true;
    }
    let Some(ip) = ip else {
        return false;
    };
    entries.iter().any(|entry| match entry.parse::<IpNet>() {
        Ok(net) => allowed(ip, std::slice::from_ref(&net)),
        Err(_) => {
            warn_once(key_id);
            false
        }
    })
}

fn warn_once(key_id: &str) {
    static WARNED: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let mut warned = WARNED.lock().unwrap_or_else(|p| p.into_inner());
    if warned
        .get_or_insert_with(HashSet::new)
        .insert(key_id.to_owned())
    {
        tracing::warn!(
            key_id,
            "a stored allowlist entry of this key does not parse; it allows no address (edit the key's allowed IPs to fix it)"
        );
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use proptest::prelude::*;

    use super::*;

    /// Plain CIDR containment with integer masks: the reference the matcher must agree with.
    fn reference(ip: IpAddr, net: (IpAddr, u8)) -> bool {
        let ip = ip.to_canonical();
        let (addr, len) = match net {
            (IpAddr::V6(a), len) if a.to_ipv4_mapped().is_some() && len >= 96 => {
                (IpAddr::V4(a.to_ipv4_mapped().unwrap()), len - 96)
            }
            other => other,
        };
        match (ip, addr) {
            (IpAddr::V4(i), IpAddr::V4(n)) => {
                let mask = if len == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(len))
                };
                u32::from(i) & mask == u32::from(n) & mask
            }
            (IpAddr::V6(i), IpAddr::V6(n)) => {
                let mask = if len == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(len))
                };
                u128::from(i) & mask == u128::from(n) & mask
            }
            _ => false,
        }
    }

    fn v4() -> impl Strategy<Value = IpAddr> {
        any::<u32>().prop_map(|n| IpAddr::V4(Ipv4Addr::from(n)))
    }

    fn v6() -> impl Strategy<Value = IpAddr> {
        any::<u128>().prop_map(|n| IpAddr::V6(Ipv6Addr::from(n)))
    }

    fn mapped() -> impl Strategy<Value = IpAddr> {
        any::<u32>().prop_map(|n| IpAddr::V6(Ipv4Addr::from(n).to_ipv6_mapped()))
    }

    fn any_ip() -> impl Strategy<Value = IpAddr> {
        prop_oneof![v4(), v6(), mapped()]
    }

    fn any_net() -> impl Strategy<Value = (IpAddr, u8)> {
        prop_oneof![
            (v4(), prop_oneof![Just(0u8), Just(32u8), 0u8..=32]),
            (v6(), prop_oneof![Just(0u8), Just(128u8), 0u8..=128]),
            (mapped(), prop_oneof![Just(96u8), Just(128u8), 96u8..=128]),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn agrees_with_plain_cidr_containment(ip in any_ip(), net in any_net()) {
            let parsed = IpNet::new(net.0, net.1).unwrap();
            prop_assert_eq!(allowed(ip, &[parsed]), reference(ip, net));
        }

        #[test]
        fn an_address_is_inside_its_own_network(ip in any_ip(), len in 0u8..=32) {
            let net = match ip.to_canonical() {
                IpAddr::V4(a) => IpNet::new(IpAddr::V4(a), len).unwrap().trunc(),
                IpAddr::V6(a) => IpNet::new(IpAddr::V6(a), len * 4).unwrap().trunc(),
            };
            prop_assert!(allowed(ip, &[net]));
        }
    }

    #[test]
    fn an_entry_that_does_not_parse_allows_nothing() {
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let list = |entries: &[&str]| entries.iter().map(|e| e.to_string()).collect::<Vec<_>>();
        assert!(!permits("key_a", Some(ip), &list(&["garbage"])));
        assert!(!permits(
            "key_a",
            Some(ip),
            &list(&["garbage", "10.0.0.0/8"])
        ));
        assert!(permits(
            "key_a",
            Some(ip),
            &list(&["garbage", "203.0.113.0/24"])
        ));
        assert!(permits("key_a", Some(ip), &[]));
        assert!(!permits("key_a", None, &list(&["0.0.0.0/0"])));
    }

    #[test]
    fn edges() {
        let ip4: IpAddr = "203.0.113.7".parse().unwrap();
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().unwrap();
        let net = |s: &str| s.parse::<IpNet>().unwrap();
        assert!(allowed(ip4, &[]));
        assert!(allowed(ip4, &[net("0.0.0.0/0")]));
        assert!(allowed(ip4, &[net("203.0.113.7/32")]));
        assert!(!allowed(ip4, &[net("203.0.113.8/32")]));
        assert!(allowed(mapped, &[net("203.0.113.0/24")]));
        assert!(
            !allowed(mapped, &[net("::/0")]),
            "a mapped address is judged as IPv4"
        );
        assert!(allowed(ip4, &[net("::ffff:203.0.113.0/120")]));
        assert!(allowed(
            "2001:db8::1".parse().unwrap(),
            &[net("2001:db8::1/128")]
        ));
        assert!(!allowed(
            "2001:db8::2".parse().unwrap(),
            &[net("2001:db8::1/128")]
        ));
        assert!(!allowed(ip4, &[net("2001:db8::/32")]));
    }

    #[test]
    fn a_network_within_another() {
        let net = |s: &str| s.parse::<IpNet>().unwrap();
        let office = [net("10.0.0.0/8"), net("2001:db8::/32")];
        assert!(within(&net("10.0.0.0/8"), &office));
        assert!(within(&net("10.1.2.0/24"), &office));
        assert!(within(&net("10.1.2.3/32"), &office));
        assert!(within(&net("::ffff:10.1.2.0/120"), &office));
        assert!(within(&net("2001:db8:1::/48"), &office));
        assert!(!within(&net("0.0.0.0/0"), &office), "wider");
        assert!(!within(&net("10.0.0.0/7"), &office), "wider");
        assert!(!within(&net("11.0.0.0/8"), &office), "beside");
        assert!(!within(&net("::/0"), &office));
        assert!(
            !within(&net("10.0.0.0/8"), &[]),
            "an empty list holds nothing here"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// A network around an address lies within every wider one around it, never the
        /// other way, and every address the narrower allows the wider allows too.
        #[test]
        fn narrower_lies_within_wider(net in any_net(), extra in 0u8..=128, ip in any_ip()) {
            let (addr, wide) = net;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let narrow = wide.saturating_add(extra).min(max);
            let outer = IpNet::new(addr, wide).unwrap().trunc();
            let inner = IpNet::new(addr, narrow).unwrap().trunc();
            prop_assert!(within(&inner, &[outer]));
            prop_assert_eq!(within(&outer, &[inner]), narrow == wide);
            if allowed(ip, &[inner]) {
                prop_assert!(allowed(ip, &[outer]));
            }
        }
    }
}
