//! `keyward server --ready-check`: asks a running server on this host whether it is ready
//! (`GET /readyz`), for health checks where no curl or shell exists (the container image holds
//! only keyward).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::bail;

use super::UsageError;
use crate::client::ClientError;

/// Exit 0 when the server listening on `listen` answers `/readyz` with 200; an unreachable or
/// unready server is exit 6 (unreachable), as for any command.
pub async fn run(listen: &str, tls: bool) -> anyhow::Result<()> {
    let addr: SocketAddr = listen.parse().map_err(|_| {
        UsageError(format!(
            "--listen {listen:?} is not an address; write it like 127.0.0.1:8080 or [::1]:8080"
        ))
    })?;
    let url = format!(
        "{}://{}/readyz",
        if tls { "https" } else { "http" },
        SocketAddr::new(reachable(addr.ip()), addr.port())
    );
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Only the status is read and nothing is sent: the certificate need not be trusted (a
    // self-signed one for loopback is common, and its name is not 127.0.0.1). Also for plain
    // HTTP: a verifier would load the system's CA certificates, and a minimal image has none.
    // No proxy (a proxy could answer for a server that is down) and no redirect: this asks the
    // server on this host and nothing else.
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .tls_danger_accept_invalid_certs(true)
        .timeout(Duration::from_secs(5))
        .build()?;
    let status = match client.get(&url).send().await {
        Ok(response) => response.status(),
        Err(e) => bail!(ClientError::Unreachable {
            url,
            reason: if e.is_timeout() {
                "timed out".to_owned()
            } else {
                "connection refused".to_owned()
            },
            maybe_delivered: false,
        }),
    };
    if status.is_success() {
        println!("ready");
        return Ok(());
    }
    bail!(ClientError::Unreachable {
        url,
        reason: format!("the server is not ready ({})", status.as_u16()),
        maybe_delivered: false,
    })
}

/// Where a server listening on every address is reached from this host.
fn reachable(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    }
}
