//! Search and lists at scale: `q` finds exactly the keys whose name, description or allowed IPs
//! (or hint) contain the fragment, whichever way the database answers it, also after edits,
//! rotations and revokes; paging stays exact while keys are being created; and the database
//! serves every filter from an index (its plans are read, not timed).

use std::collections::BTreeSet;

use jiff::SignedDuration;
use keyward::api::{KeyStatus, KeyType};
use keyward::server::store::{KeyFilter, KeySort, looks_like_hint};
use keyward::server::{dev, seed};
use serde_json::{Value, json};

use crate::harness::{Backend, TestEnv};
use crate::live::{LiveServer, json};

/// Every key `token` may see that the query matches, page after page.
fn list_all(server: &LiveServer, token: &str, query: &str) -> Vec<Value> {
    let mut keys = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/keys?limit=500{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let r = server.call(token, "GET", &path, None, &[]);
        assert_eq!(
            r.status,
            200,
            "{path}: {}",
            String::from_utf8_lossy(&r.body)
        );
        let page = json(&r);
        keys.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return keys,
        }
    }
}

fn ids(keys: &[Value]) -> BTreeSet<String> {
    keys.iter()
        .map(|k| k["id"].as_str().unwrap().to_owned())
        .collect()
}

fn encoded(q: &str) -> String {
    form_urlencoded::byte_serialize(q.as_bytes()).collect()
}

/// The keys `q` must find, worked out from the keys themselves (the fragments are ASCII, and
/// search ignores ASCII case).
fn expected(keys: &[Value], q: &str) -> BTreeSet<String> {
    let q_lower = q.to_lowercase();
    let contains = |text: &str| text.to_lowercase().contains(&q_lower);
    let hint = looks_like_hint(q).map(|h| h.to_lowercase());
    keys.iter()
        .filter(|k| {
            let ips: Vec<&str> = k["allowed_ips"]
                .as_array()
                .unwrap()
                .iter()
                .map(|ip| ip.as_str().unwrap())
                .collect();
            contains(k["name"].as_str().unwrap())
                || contains(k["description"].as_str().unwrap())
                || contains(&ips.join(","))
                || hint.as_ref().is_some_and(|h| {
                    k["hint"]
                        .as_str()
                        .unwrap()
                        .to_lowercase()
                        .contains(h.as_str())
                })
        })
        .map(|k| k["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Each fragment finds exactly the keys that contain it.
fn assert_search(server: &LiveServer, token: &str, fragments: &[String], when: &str) {
    assert_search_sorted(server, token, fragments, "", when);
}

/// [`assert_search`] for lists in the order `sort` (a `&sort=…` query, or "" for the default).
fn assert_search_sorted(
    server: &LiveServer,
    token: &str,
    fragments: &[String],
    sort: &str,
    when: &str,
) {
    let all = list_all(server, token, "");
    for q in fragments {
        let found = list_all(server, token, &format!("&q={}{sort}", encoded(q)));
        let want = expected(&all, q);
        assert_eq!(
            ids(&found),
            want,
            "{when}: q={q:?}{sort} found the wrong keys ({} found, {} expected)",
            found.len(),
            want.len()
        );
        assert_eq!(
            found.len(),
            want.len(),
            "{when}: q={q:?}{sort} gave a key twice"
        );
    }
}

/// The tail of a key's hint (`kw_sk_…AbCd` → `AbCd`).
fn hint_tail(key: &Value) -> String {
    key["hint"]
        .as_str()
        .unwrap()
        .rsplit('…')
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn q_finds_exactly_the_keys_containing_the_fragment_before_and_after_changes() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let descriptions = [
        "Nightly export of orders",
        "Payments webhook",
        "100% coverage_of refunds",
        "Quote \"this\" please",
        "",
    ];
    let ips: [&[&str]; 4] = [&["10.1.2.0/24"], &["192.168.7.7", "10.9.0.0/16"], &[], &[]];
    let mut created = Vec::new();
    for i in 0..40 {
        let public = i % 7 == 0;
        let (id, _) = server.create(
            &admin,
            json!({
                "name": format!("{}-{i}", ["alpha", "beta", "gamma-ray"][i % 3]),
                "description": descriptions[i % descriptions.len()],
                "environments": ["staging"],
                "type": if public { "public" } else { "private" },
                "permissions": ["orders:read"],
                "allowed_ips": ips[i % ips.len()],
            }),
        );
        created.push(id);
    }
    let keys = list_all(&server, &admin, "");
    let some = |i: usize| {
        keys.iter()
            .find(|k| k["id"] == created[i].as_str())
            .unwrap()
            .clone()
    };
    let mut fragments: Vec<String> = [
        "alp",
        "ALPHA-1",
        "ha-1",
        "mma-r",
        "EXPORT",
        "webhook",
        "100%",
        "e_o",
        "\"this\"",
        "10.1.",
        "2.0/24",
        "7.7,10",
        "168",
        "al",
        "x",
        "%",
        "_",
        "kw_pk",
        "kw_sk_",
        "nothing-like-it",
    ]
    .map(str::to_owned)
    .to_vec();
    for i in [1, 2, 3] {
        let tail = hint_tail(&some(i));
        fragments.push(format!("…{tail}"));
        fragments.push(format!("...{tail}"));
        fragments.push(some(i)["hint"].as_str().unwrap().to_owned());
    }
    assert_search(&server, &admin, &fragments, "as created");

    // Edits change the searched fields; rotations change hints; revokes keep tombstones.
    let edit = |i: usize, body: Value| {
        let key = some(i);
        let version = format!("\"{}\"", key["version"]);
        let r = server.call(
            &admin,
            "PATCH",
            &format!("/v1/keys/{}", created[i]),
            Some(&body),
            &[("If-Match", version.as_str())],
        );
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    };
    edit(
        1,
        json!({"name": "renamed-omega", "description": "Now about invoices"}),
    );
    edit(2, json!({"allowed_ips": ["172.16.5.0/24"]}));
    edit(4, json!({"description": "webhook for EXPORT"}));
    let old_tails: Vec<String> = [5, 6].map(|i| hint_tail(&some(i))).to_vec();
    for i in [5, 6] {
        let r = server.call(
            &admin,
            "POST",
            &format!("/v1/keys/{}/rotate", created[i]),
            Some(&json!({"grace_seconds": 0})),
            &[],
        );
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
    for i in [8, 9] {
        let r = server.call(
            &admin,
            "POST",
            &format!("/v1/keys/{}/revoke", created[i]),
            None,
            &[],
        );
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
    let keys = list_all(&server, &admin, "");
    let now_of = |i: usize| {
        keys.iter()
            .find(|k| k["id"] == created[i].as_str())
            .unwrap()
            .clone()
    };
    fragments.extend(["omega", "invoices", "172.16.", "for export"].map(str::to_owned));
    for (i, old) in [5, 6].into_iter().zip(&old_tails) {
        let new = hint_tail(&now_of(i));
        assert_ne!(&new, old, "a rotation gives a new hint");
        fragments.push(format!("…{old}"));
        fragments.push(format!("…{new}"));
    }
    for i in [8, 9] {
        assert_eq!(now_of(i)["status"], "revoked");
        fragments.push(now_of(i)["name"].as_str().unwrap().to_owned());
    }
    assert_search(
        &server,
        &admin,
        &fragments,
        "after edits, rotations and revokes",
    );
}

/// The ids of the keys `q` finds, read one key per page: a page that the first keys in order
/// fill (PostgreSQL's in-order read) as well as pages only an index fills.
fn found_one_per_page(server: &LiveServer, token: &str, q: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut cursor = String::new();
    loop {
        let path = format!("/v1/keys?limit=1&q={}{cursor}", encoded(q));
        let r = server.call(token, "GET", &path, None, &[]);
        assert_eq!(
            r.status,
            200,
            "{path}: {}",
            String::from_utf8_lossy(&r.body)
        );
        let page = json(&r);
        for k in page["items"].as_array().unwrap() {
            assert!(
                found.insert(k["id"].as_str().unwrap().to_owned()),
                "{q:?} gave a key twice"
            );
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => return found,
        }
    }
}

#[test]
fn a_fragment_never_matches_across_two_fields_and_case_is_ignored_beyond_ascii_where_indexed() {
    // PostgreSQL searches one column holding every searched field, lowered, a newline between
    // them: a fragment holding a newline must still match inside one field only.
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let create = |name: &str, description: &str| {
        server
            .create(
                &admin,
                json!({"name": name, "description": description, "environments": ["staging"],
                       "permissions": ["orders:read"], "allowed_ips": ["10.20.30.0/24"]}),
            )
            .0
    };
    let inside = create("inside-one", "first line\nsecond line");
    let spans = create("edge-x", "start here");
    let summer = create("summer", "Été à Lyon");
    let one = |id: &str| BTreeSet::from([id.to_owned()]);
    for (q, want) in [
        ("line\nsecond", one(&inside)),
        ("LINE\nSECOND", one(&inside)),
        ("edge-x", one(&spans)),
        ("edge-x\nstart", BTreeSet::new()),
        ("x\ns", BTreeSet::new()),
        ("here\n10.20", BTreeSet::new()),
        ("e\n1", BTreeSet::new()),
        ("été à", one(&summer)),
    ] {
        assert_eq!(
            ids(&list_all(&server, &admin, &format!("&q={}", encoded(q)))),
            want,
            "q={q:?}"
        );
        assert_eq!(
            found_one_per_page(&server, &admin, q),
            want,
            "q={q:?}, one key per page"
        );
    }
    // Letters beyond ASCII fold on PostgreSQL (its `lower` under the database's UTF-8 locale)
    // and in SQLite's FTS5 index (fragments of three characters or more).
    assert_eq!(
        ids(&list_all(
            &server,
            &admin,
            &format!("&q={}", encoded("ÉTÉ À"))
        )),
        one(&summer),
        "upper-case beyond ASCII"
    );
    if crate::BACKEND == Backend::Postgres {
        assert_eq!(found_one_per_page(&server, &admin, "ÉTÉ À"), one(&summer));
    }
}

/// Seeds `n` realistic keys straight through the server's store (as the benchmarks do).
fn seed_keys(server: &LiveServer, n: u64) {
    server.block_on(async {
        for name in seed::ENVIRONMENTS {
            dev::ensure_environment(&server.state, name, "seeded", "test")
                .await
                .unwrap();
        }
        seed::seed(
            server.state.store.as_ref(),
            &server.state.pepper,
            n,
            server.now(),
            |_| {},
        )
        .await
        .unwrap();
        server.state.store.analyze().await.unwrap();
    });
}

#[test]
fn a_fragment_found_in_thousands_of_keys_finds_each_of_them() {
    // SQLite answers a fragment found in more than 1,000 keys (in creation order; 5,000 in
    // other orders) by reading keys in order rather than from its index: both ways must find
    // the same keys, in every order.
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    seed_keys(&server, 6_000);
    let fragments = [
        "owned by team",
        "OWNED BY",
        "team borealis",
        "-000012",
        "ticket ops-0",
        "cron for",
        // Roles `api` and `ci`: about 1,500 keys, between the two orders' bounds.
        "i for",
        "10.1",
    ]
    .map(str::to_owned);
    for sort in ["", "&sort=-created_at", "&sort=name", "&sort=expires_at"] {
        assert_search_sorted(&server, &admin, &fragments, sort, "6,000 seeded keys");
    }
}

#[test]
fn paging_while_keys_are_created_returns_no_key_twice() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    for i in 0..150 {
        server.create(
            &admin,
            json!({
                "name": format!("before-{i:03}"),
                "environments": ["staging"],
                "permissions": ["orders:read"],
            }),
        );
        if i % 10 == 0 {
            server.advance(SignedDuration::from_millis(1));
        }
    }
    let before = ids(&list_all(&server, &admin, ""));
    let queries = ["", "&environment=staging", "&permission=orders:read"];
    let sorts = ["created_at", "-created_at", "name", "expires_at"];
    for (round, (query, sort)) in queries
        .iter()
        .flat_map(|q| sorts.iter().map(move |s| (q, s)))
        .enumerate()
    {
        let mut seen = Vec::new();
        std::thread::scope(|s| {
            let writer = s.spawn(|| {
                for i in 0..40 {
                    server.create(
                        &admin,
                        json!({
                            "name": format!("during-{round}-{i:03}"),
                            "environments": ["staging"],
                            "permissions": ["orders:read"],
                        }),
                    );
                    if i % 3 == 0 {
                        server.advance(SignedDuration::from_millis(1));
                    }
                }
            });
            let mut cursor: Option<String> = None;
            loop {
                let mut path = format!("/v1/keys?limit=7&sort={sort}{query}");
                if let Some(c) = &cursor {
                    path.push_str(&format!("&cursor={c}"));
                }
                let r = server.call(&admin, "GET", &path, None, &[]);
                assert_eq!(
                    r.status,
                    200,
                    "{path}: {}",
                    String::from_utf8_lossy(&r.body)
                );
                let page = json(&r);
                seen.extend(ids(page["items"].as_array().unwrap()));
                match page["next_cursor"].as_str() {
                    Some(c) => cursor = Some(c.to_owned()),
                    None => break,
                }
            }
            writer.join().unwrap();
        });
        let unique: BTreeSet<String> = seen.iter().cloned().collect();
        assert_eq!(
            unique.len(),
            seen.len(),
            "sort={sort}{query}: a key came twice"
        );
        let expected: BTreeSet<String> = if query.is_empty() {
            before.clone()
        } else {
            // The admin key holds neither staging alone nor orders:read.
            before
                .iter()
                .filter(|id| **id != server.admin_id)
                .cloned()
                .collect()
        };
        assert!(
            expected.is_subset(&unique),
            "sort={sort}{query}: a key that existed before paging began was skipped"
        );
    }
}

#[test]
fn every_filter_and_the_scoping_rule_are_served_by_an_index() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    seed_keys(&server, 3_000);
    let now = server.now();
    let base = KeyFilter {
        limit: 50,
        now,
        ..KeyFilter::default()
    };
    // Each filter, and the indexes that may serve it: (SQLite, PostgreSQL). SQLite's plan is
    // the one it would run; PostgreSQL's is asked with whole-table and in-order scans ruled
    // out (see `Store::list_plan`), so it names the index that finds the filter's keys.
    type Case<'a> = (&'a str, KeyFilter, &'a [&'a str], &'a [&'a str]);
    let with = |f: fn(&mut KeyFilter)| {
        let mut filter = base.clone();
        f(&mut filter);
        filter
    };
    let status = ["keys_status_created"].as_slice();
    // PostgreSQL may also read a live key's status from the partial index of live names.
    let live = ["keys_status_created", "keys_live_name"].as_slice();
    let mut cases: Vec<Case> = vec![
        (
            "no filter",
            base.clone(),
            &["keys_created"],
            &["keys_created"],
        ),
        (
            "newest first",
            with(|f| f.sort = KeySort::CreatedDesc),
            &["keys_created"],
            &["keys_created"],
        ),
        (
            "by expiry",
            with(|f| f.sort = KeySort::ExpiresAsc),
            &["keys_expires"],
            &["keys_expires"],
        ),
        (
            "by name",
            with(|f| f.sort = KeySort::NameAsc),
            &["keys_name_sort"],
            &["keys_name_sort"],
        ),
        (
            "active",
            with(|f| f.status = Some(KeyStatus::Active)),
            status,
            live,
        ),
        (
            "disabled",
            with(|f| f.status = Some(KeyStatus::Disabled)),
            status,
            status,
        ),
        (
            "revoked",
            with(|f| f.status = Some(KeyStatus::Revoked)),
            status,
            status,
        ),
        (
            "expired",
            with(|f| f.status = Some(KeyStatus::Expired)),
            status,
            live,
        ),
        (
            "type",
            with(|f| f.key_type = Some(KeyType::Public)),
            &["keys_type_created"],
            &["keys_type_created"],
        ),
        (
            "name",
            with(|f| f.name = Some("billing-api-0000042".into())),
            &["(name=?)"],
            &["keys_name_sort", "keys_live_name"],
        ),
        (
            "environment",
            with(|f| f.environment = Some("eu-audit".into())),
            &["key_environments_in_order (environment=?)"],
            &["key_environments_in_order"],
        ),
        (
            "permission",
            with(|f| f.permission = Some("payments:refund".into())),
            &["key_permissions_in_order (permission=?)"],
            &["key_permissions_in_order"],
        ),
        (
            "a caller scoped to staging",
            with(|f| f.within_environments = Some(BTreeSet::from(["staging".to_owned()]))),
            &["SEARCH e USING COVERING INDEX sqlite_autoindex_key_environments_1 (key_id=?)"],
            &["key_environments_pkey"],
        ),
        (
            "expiring within 30 days",
            with(|f| f.expires_before = Some(f.now + SignedDuration::from_hours(24 * 30))),
            &[
                "keys_expires (expires_at>? AND expires_at<?)",
                "keys_created",
            ],
            &["keys_expires"],
        ),
        (
            "unused for 90 days",
            with(|f| f.unused_since = Some(f.now - SignedDuration::from_hours(24 * 90))),
            &["keys_created (created_at<?)", "keys_last_used"],
            &["keys_created", "keys_last_used"],
        ),
        (
            "q, a rare fragment",
            with(|f| f.q = Some("team borealis".into())),
            &["keys_search_id (search_id=?)"],
            &["keys_search"],
        ),
    ];
    let store = server.state.store.clone();
    // A hint's tail, as someone reading it off a log would search for it.
    let some_key = server
        .block_on(store.list_keys(&base))
        .unwrap()
        .pop()
        .unwrap();
    let tail = some_key.hint.rsplit('…').next().unwrap().to_owned();
    cases.push((
        "q, a hint",
        KeyFilter {
            q: Some(format!("…{tail}")),
            ..base.clone()
        },
        &["keys_search_id (search_id=?)"],
        &["keys_search"],
    ));
    for (what, filter, sqlite, postgres) in cases {
        let plan = server.block_on(store.list_plan(&filter)).unwrap();
        let (full_scan, served_by) = match crate::BACKEND {
            // `SCAN t` reads a whole table (`SCAN t USING … INDEX` reads an index in the
            // list's order and stops at the page's end).
            Backend::Sqlite => (
                plan.lines().find(|line| {
                    line.starts_with("SCAN ")
                        && !line.contains(" USING ")
                        && !line.contains("VIRTUAL TABLE INDEX")
                }),
                sqlite,
            ),
            Backend::Postgres => (
                plan.lines().find(|line| line.contains("Seq Scan")),
                postgres,
            ),
        };
        assert!(
            full_scan.is_none(),
            "{what}: the plan reads a whole table ({}):\n{plan}",
            full_scan.unwrap_or_default()
        );
        assert!(
            served_by.iter().any(|index| plan.contains(index)),
            "{what}: none of {served_by:?} serves the filter:\n{plan}"
        );
    }
}

#[test]
fn the_purger_gives_sqlite_planner_statistics_once_there_are_many_keys() {
    // SQLite keeps no statistics unless asked; the purger's `optimize` gathers them once there
    // are 10,000 keys (PostgreSQL's autovacuum does so by itself).
    if crate::BACKEND != Backend::Sqlite {
        return;
    }
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let analyzed_tables = || {
        let url = server.db.clone();
        server.block_on(async move {
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT tbl FROM sqlite_stat1 WHERE tbl IN ('keys', 'key_environments')",
            )
            .fetch_all(&pool)
            .await
            .unwrap_or_default();
            pool.close().await;
            tables.into_iter().collect::<BTreeSet<String>>()
        })
    };
    let purge = || server.block_on(keyward::server::workers::purger::run(&server.state));
    purge();
    assert!(
        analyzed_tables().is_empty(),
        "a nearly empty database is not analyzed"
    );
    server.block_on(async {
        for name in seed::ENVIRONMENTS {
            dev::ensure_environment(&server.state, name, "seeded", "test")
                .await
                .unwrap();
        }
        seed::seed(
            server.state.store.as_ref(),
            &server.state.pepper,
            10_000,
            server.now(),
            |_| {},
        )
        .await
        .unwrap();
    });
    assert!(
        analyzed_tables().is_empty(),
        "seeding alone analyzes nothing"
    );
    purge();
    assert_eq!(
        analyzed_tables(),
        BTreeSet::from(["keys".to_owned(), "key_environments".to_owned()])
    );
}

#[test]
fn a_scoped_caller_filtering_by_environment_or_permission_sees_only_its_own_keys() {
    // These lists read the environment's or permission's own index in order (a join): the
    // caller's scope must still hold there.
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let mut staging = BTreeSet::new();
    for (i, envs) in [["staging"], ["production"], ["staging"], ["production"]]
        .iter()
        .enumerate()
    {
        let (id, _) = server.create(
            &admin,
            json!({"name": format!("k{i}"), "environments": envs, "permissions": ["orders:read"]}),
        );
        if envs[0] == "staging" {
            staging.insert(id);
        }
    }
    let (scoped, scoped_secret) = server.create(
        &admin,
        json!({"name": "scoped", "environments": ["staging"], "permissions": ["keys:read"]}),
    );
    staging.insert(scoped.clone());
    let (status, token, _) = server.token(&scoped, &scoped_secret);
    assert_eq!(status, 200);
    let token = token.unwrap();
    for sort in ["created_at", "-created_at"] {
        let production = list_all(
            &server,
            &token,
            &format!("&sort={sort}&environment=production"),
        );
        assert!(production.is_empty(), "{sort}: {production:?}");
        let seen = ids(&list_all(
            &server,
            &token,
            &format!("&sort={sort}&permission=orders:read"),
        ));
        assert!(seen.is_subset(&staging), "{sort}: {seen:?}");
        assert_eq!(seen.len(), 2, "{sort}: both staging keys with orders:read");
        let seen = ids(&list_all(
            &server,
            &token,
            &format!("&sort={sort}&environment=staging"),
        ));
        assert_eq!(seen, staging, "{sort}");
    }
}
