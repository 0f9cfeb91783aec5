//! Bounded staleness (docs/design.md, Staleness is bounded): a replica whose change-feed follower
//! cannot read the feed stops answering from its cache once `max_staleness` has passed, so a
//! key revoked through another replica stops verifying there within `max_staleness` + 1 s;
//! and a flood of failed token exchanges at one replica cannot hold its follower off the
//! database, so a revocation still arrives there within the one-second bound.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use keyward::server::store::{self, CacheSettings};
use keyward::server::{self, AppState, Catalog};
use serde_json::{Value, json};

use crate::harness::{Server, TestEnv, http, store_args};
use crate::live::LiveServer;
use crate::replicas::{BOUND, Replica};

/// A TCP forwarder on loopback whose traffic can be stopped without closing a connection: to
/// the client behind it, the database stops answering (a cut cable, a hung server).
struct Cuttable {
    port: u16,
    cut: Arc<AtomicBool>,
}

impl Cuttable {
    fn to(server: &LiveServer, upstream: u16) -> Cuttable {
        let cut = Arc::new(AtomicBool::new(false));
        let listener = server
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let held = cut.clone();
        server.state_runtime_spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let Ok(upstream) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                else {
                    continue;
                };
                let (cr, cw) = client.into_split();
                let (ur, uw) = upstream.into_split();
                tokio::spawn(pipe(cr, uw, held.clone()));
                tokio::spawn(pipe(ur, cw, held.clone()));
            }
        });
        Cuttable { port, cut }
    }
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    cut: Arc<AtomicBool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        // Cut: the bytes go nowhere, and the connection stays open.
        while cut.load(Ordering::Acquire) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// `url` with its port replaced.
fn through(url: &str, port: u16) -> String {
    let mut parsed = url::Url::parse(url).unwrap();
    parsed.set_port(Some(port)).unwrap();
    parsed.to_string()
}

#[test]
fn a_replica_whose_follower_is_cut_off_stops_verifying_a_revoked_key_within_max_staleness() {
    const MAX_STALENESS: Duration = Duration::from_secs(2);
    let env = TestEnv::new();
    // Replica A: the test's server. Replica B: the same database, its follower behind a
    // forwarder the test can cut.
    let a = LiveServer::start(&env);
    let upstream = url::Url::parse(&a.db).unwrap().port().unwrap();
    let cable = Cuttable::to(&a, upstream);
    let b_url = a.block_on(async {
        let store = store::open(&a.db).await.unwrap();
        let feed = store::open_feed(&through(&a.db, cable.port), &store)
            .await
            .unwrap();
        let settings = CacheSettings {
            max_staleness: MAX_STALENESS,
            ..CacheSettings::default()
        };
        let state = Arc::new(
            AppState::new(store, a.state.pepper.clone(), Catalog::new(&[]).unwrap())
                .with_cache(feed, settings),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = listener.local_addr().unwrap().to_string();
        tokio::spawn(server::serve(listener, state, std::future::pending()));
        url
    });
    let admin = a.admin_token();
    let (id, secret) = a.create(
        &admin,
        json!({"name": "watched", "environments": ["staging"]}),
    );
    let verify_at_b = || -> String {
        let r = http(
            &b_url,
            "POST",
            "/v1/verify",
            &[
                ("Authorization", &format!("Bearer {admin}")),
                ("Content-Type", "application/json"),
            ],
            json!({ "key": secret }).to_string().as_bytes(),
        );
        if r.status != 200 {
            return format!("HTTP {}", r.status);
        }
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        v["code"].as_str().unwrap().to_owned()
    };
    // Cached at B (the feed is quiet, so the look-up is kept).
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(verify_at_b(), "VALID");
    assert_eq!(verify_at_b(), "VALID");

    cable.cut.store(true, Ordering::Release);
    std::thread::sleep(Duration::from_millis(300));
    let r = a.call(&admin, "POST", &format!("/v1/keys/{id}/revoke"), None, &[]);
    assert_eq!(r.status, 200);
    let revoked = Instant::now();
    // B cannot hear of it: for a while it still answers from its cache...
    assert_eq!(
        verify_at_b(),
        "VALID",
        "the cut did not hold the follower off"
    );
    // ...but never past max_staleness (+ 1 s).
    let limit = MAX_STALENESS + Duration::from_secs(1);
    let took = loop {
        let seen = verify_at_b();
        if seen == "REVOKED" {
            break revoked.elapsed();
        }
        assert!(
            revoked.elapsed() < limit,
            "B still answers {seen} {:?} after the revoke",
            revoked.elapsed()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    eprintln!(
        "revoked key refused at the cut-off replica after {took:?} (max_staleness {MAX_STALENESS:?})"
    );
    let ready = http(&b_url, "GET", "/readyz", &[], b"");
    let health: Value = serde_json::from_slice(&ready.body).unwrap();
    assert!(
        health["feed_age_ms"].as_u64().unwrap() > MAX_STALENESS.as_millis() as u64,
        "{health}"
    );
    cable.cut.store(false, Ordering::Release);
}

#[test]
fn a_flood_of_failed_exchanges_at_a_replica_does_not_delay_a_revocation_there() {
    let env = TestEnv::new();
    let database = env.database("flood");
    // Behind a load balancer: every request comes from loopback, each with its own client
    // address, so no per-address bucket ever fills.
    let config = env.dir.path().join("server.toml");
    let mut file = std::fs::File::create(&config).unwrap();
    writeln!(file, "trusted_proxies = [\"127.0.0.1/32\"]").unwrap();
    let pepper = env.dir.path().join("flood.pepper");
    let mut args = store_args(&database, &pepper);
    let boot = {
        let mut boot = vec![
            "server".to_owned(),
            "--bootstrap".into(),
            "--output".into(),
            "json".into(),
        ];
        boot.extend(args.clone());
        let boot: Vec<&str> = boot.iter().map(String::as_str).collect();
        env.ok(&boot)
    };
    let admin: Value = serde_json::from_str(&boot).unwrap();
    let (admin_id, admin_secret) = (
        admin["id"].as_str().unwrap(),
        admin["secret"].as_str().unwrap(),
    );
    args.extend(["--config".to_owned(), config.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let a = Replica::new(Server::start(&env, &args), admin_id, admin_secret);
    let b = Replica::new(Server::start(&env, &args), admin_id, admin_secret);

    let flooding = AtomicBool::new(true);
    let mut times = Vec::new();
    let mut sent = 0usize;
    std::thread::scope(|s| {
        let floods: Vec<_> = (0..8)
            .map(|t| {
                let (flooding, b) = (&flooding, &b);
                s.spawn(move || {
                    let mut n = 0usize;
                    // Bounded: 400 a thread, 3,200 in all.
                    while n < 400 {
                        let client = format!("key_{}", keyward::secret::random_base62(16));
                        let from = format!("198.18.{}.{}", t, n % 250 + 1);
                        let r = http(
                            b.server.authority(),
                            "POST",
                            "/v1/oauth/token",
                            &[
                                ("Content-Type", "application/x-www-form-urlencoded"),
                                ("X-Forwarded-For", &from),
                            ],
                            format!(
                                "grant_type=client_credentials&client_id={client}&client_secret=wrong"
                            )
                            .as_bytes(),
                        );
                        assert!(matches!(r.status, 401 | 429), "{}", r.status);
                        n += 1;
                    }
                    flooding.store(false, Ordering::Release);
                    n
                })
            })
            .collect();
        // While the flood runs: keys made and revoked through A, each watched at B.
        std::thread::sleep(Duration::from_millis(300));
        let mut round = 0;
        while flooding.load(Ordering::Acquire) || round < 5 {
            round += 1;
            let created = a.expect(
                201,
                "POST",
                "/v1/keys",
                Some(json!({"name": format!("flooded-{round}"), "environments": ["default"]})),
            );
            let (id, secret) = (
                created["id"].as_str().unwrap(),
                created["secret"].as_str().unwrap(),
            );
            assert_eq!(b.verify(secret), "VALID");
            a.expect(200, "POST", &format!("/v1/keys/{id}/revoke"), None);
            times.push(b.time_until(secret, "REVOKED", BOUND));
        }
        sent = floods.into_iter().map(|f| f.join().unwrap()).sum();
    });
    times.sort();
    eprintln!(
        "during a flood of {sent} failed exchanges: {} revocations at the flooded replica, p50 {:?}, max {:?}",
        times.len(),
        times[times.len() / 2],
        times[times.len() - 1]
    );
    assert_eq!(sent, 3200);
}
