//! Listing at scale: cursor pages over 1,000 keys return each key exactly once, in every sort;
//! each filter and each field `q` searches is tested through the CLI.

use std::collections::BTreeSet;

use jiff::SignedDuration;
use serde_json::json;

use crate::harness::TestEnv;
use crate::live::{LiveServer, json};

#[test]
fn paging_over_1000_keys_returns_each_exactly_once() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let mut created = BTreeSet::new();
    created.insert(server.admin_id.clone());
    for i in 0..1000 {
        let (id, _) = server.create(
            &admin,
            json!({"name": format!("bulk-{i:04}"), "environments": ["staging"]}),
        );
        created.insert(id);
        // Some keys share a creation millisecond, some do not: both must page correctly.
        if i % 100 == 0 {
            server.advance(SignedDuration::from_millis(1));
        }
    }
    for sort in ["created_at", "-created_at", "name", "expires_at"] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/v1/keys?limit=37&sort={sort}");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let page = json(&server.call(&admin, "GET", &path, None, &[]));
            for k in page["items"].as_array().unwrap() {
                seen.push(k["id"].as_str().unwrap().to_owned());
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        assert_eq!(seen.len(), created.len(), "{sort}: no key twice");
        assert_eq!(
            seen.iter().cloned().collect::<BTreeSet<_>>(),
            created,
            "{sort}: every key"
        );
    }
    // A cursor from one sort is refused by another.
    let page = json(&server.call(&admin, "GET", "/v1/keys?limit=5&sort=name", None, &[]));
    let c = page["next_cursor"].as_str().unwrap();
    let r = server.call(
        &admin,
        "GET",
        &format!("/v1/keys?limit=5&cursor={c}"),
        None,
        &[],
    );
    assert_eq!(r.status, 422);

    // The CLI's --all walks every page.
    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    let all = cli.ok(&["keys", "list", "--all", "-q"]);
    let ids: BTreeSet<String> = all.lines().map(str::to_owned).collect();
    assert_eq!(all.lines().count(), 1001);
    assert_eq!(ids, created);
    // As JSON, printed page by page: the one listing document, every key once, in order.
    let text = cli.ok(&[
        "keys", "list", "--all", "--sort", "created", "--output", "json",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    // Byte for byte what one page holding the same keys prints.
    let streamed = cli.ok(&[
        "keys", "list", "--all", "--search", "bulk-00", "--output", "json",
    ]);
    let one_page = cli.ok(&[
        "keys", "list", "--limit", "1000", "--search", "bulk-00", "--output", "json",
    ]);
    assert_eq!(
        streamed, one_page,
        "streamed JSON is what a whole listing prints"
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&streamed).unwrap()["items"]
            .as_array()
            .unwrap()
            .len(),
        100
    );
    assert_eq!(doc["next_cursor"], serde_json::Value::Null);
    let listed: Vec<String> = doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap().to_owned())
        .collect();
    let api_order: Vec<String> = {
        let mut ids = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = "/v1/keys?limit=1000".to_owned();
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let page = json(&server.call(&admin, "GET", &path, None, &[]));
            for k in page["items"].as_array().unwrap() {
                ids.push(k["id"].as_str().unwrap().to_owned());
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break ids,
            }
        }
    };
    assert_eq!(listed, api_order, "every key once, in the list's order");
    // Nothing matches: an empty listing, still one document.
    let none = cli.json(&["keys", "list", "--all", "--search", "no-such-key-anywhere"]);
    assert_eq!(none, json!({"items": [], "next_cursor": null}));
    // Without --all, one page and a hint.
    let out = cli
        .keyward()
        .args(["keys", "list", "--limit", "10"])
        .output()
        .unwrap();
    let rows = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("key_"))
        .count();
    assert_eq!(rows, 10, "one page of 10");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--all"));
}

#[test]
fn each_filter_and_search_field_through_the_cli() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    let make = |args: &[&str]| {
        let mut all = vec!["keys", "create", "--no-store", "--output", "json"];
        all.extend_from_slice(args);
        cli.json(&all)["id"].as_str().unwrap().to_owned()
    };
    let web = make(&[
        "--name",
        "web",
        "--type",
        "public",
        "--env",
        "production",
        "--permission",
        "catalog:read",
    ]);
    let ci = make(&[
        "--name",
        "ci",
        "--env",
        "staging",
        "--permission",
        "orders:read",
        "--description",
        "deploys the shop",
        "--allow-ip",
        "198.51.100.0/24",
        "--expires-in",
        "10d",
    ]);
    let off = make(&["--name", "off", "--env", "development"]);
    cli.ok(&["keys", "disable", "off"]);
    let gone = make(&["--name", "gone", "--env", "development"]);
    cli.ok(&["keys", "revoke", "gone", "--yes"]);

    let ids = |args: &[&str]| -> BTreeSet<String> {
        let mut all = vec!["keys", "list", "--all", "-q"];
        all.extend_from_slice(args);
        cli.ok(&all).lines().map(str::to_owned).collect()
    };
    let set = |v: &[&String]| v.iter().map(|s| (*s).clone()).collect::<BTreeSet<_>>();

    assert_eq!(ids(&["--type", "public"]), set(&[&web]));
    // The super admin was minted into every environment.
    assert_eq!(ids(&["--env", "staging"]), set(&[&ci, &server.admin_id]));
    assert_eq!(ids(&["--permission", "orders:read"]), set(&[&ci]));
    assert_eq!(ids(&["--status", "disabled"]), set(&[&off]));
    assert_eq!(ids(&["--status", "revoked"]), set(&[&gone]));
    assert!(ids(&["--status", "active"]).contains(&web));
    assert!(!ids(&["--status", "active"]).contains(&off));
    assert_eq!(ids(&["--expiring-within", "30d"]), set(&[&ci]));
    // q: name, description, hint, allowed IPs.
    assert_eq!(ids(&["--search", "web"]), set(&[&web]));
    assert_eq!(ids(&["--search", "the shop"]), set(&[&ci]));
    // Whatever the case, on either backend (PostgreSQL's LIKE minds it; keyward's search not).
    assert_eq!(ids(&["--search", "The SHOP"]), set(&[&ci]));
    assert_eq!(ids(&["--search", "WEB"]), set(&[&web]));
    assert_eq!(ids(&["--search", "198.51.100"]), set(&[&ci]));
    let hint = cli.json(&["keys", "show", "ci"])["hint"]
        .as_str()
        .unwrap()
        .to_owned();
    let tail = hint.rsplit('…').next().unwrap().to_owned();
    assert!(ids(&["--search", &format!("…{tail}")]).contains(&ci));
    assert!(ids(&["--search", "kw_sk_"]).contains(&ci));
    // A search with SQL wildcards is taken literally.
    assert!(ids(&["--search", "%"]).is_empty());

    // Expired is derived from the clock.
    server.advance(SignedDuration::from_hours(24 * 11));
    assert_eq!(ids(&["--status", "expired"]), set(&[&ci]));

    // Unused: only keys with no use in the window (a token exchange is a use).
    let (status, _, _) = server.token(&server.admin_id, &server.admin_secret);
    assert_eq!(status, 200);
    server.flush_last_used();
    let unused = ids(&["--unused-for", "1h"]);
    assert!(
        !unused.contains(&server.admin_id),
        "the admin key was just used"
    );
    assert!(unused.contains(&web), "never used");
    // Last used is shown with the address.
    let admin = cli.json(&["keys", "show", &server.admin_id]);
    assert_eq!(admin["last_used_ip"], "127.0.0.1");
    assert!(admin["last_used_at"].is_string());
}

#[test]
fn a_page_is_bounded_in_bytes_as_well_as_items() {
    let env = TestEnv::new();
    let server = LiveServer::start_with(
        &env,
        crate::live::Options {
            page_bytes: Some(4096),
            ..Default::default()
        },
    );
    let admin = server.admin_token();
    let mut made = std::collections::BTreeSet::new();
    for i in 0..20 {
        let (id, _) = server.create(
            &admin,
            serde_json::json!({"name": format!("wordy-{i}"), "environments": ["staging"], "description": "w".repeat(500)}),
        );
        made.insert(id);
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/keys?q=wordy&limit=1000&cursor={c}"),
            None => "/v1/keys?q=wordy&limit=1000".to_owned(),
        };
        let r = server.call(&admin, "GET", &path, None, &[]);
        assert_eq!(r.status, 200);
        // One key past the bound at most: a page stops once it is over.
        assert!(
            r.body.len() < 4096 + 1200,
            "a page of {} bytes",
            r.body.len()
        );
        let page = crate::live::json(&r);
        for k in page["items"].as_array().unwrap() {
            assert!(
                seen.insert(k["id"].as_str().unwrap().to_owned()),
                "a key twice"
            );
        }
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert!(
        pages >= 4,
        "20 keys of ~800 bytes fit no 4 KiB page: {pages} pages"
    );
    assert_eq!(seen, made, "every key exactly once");
}

#[test]
fn revoked_keys_are_listed_only_when_asked_for() {
    let env = TestEnv::new();
    let id = |name: &str| {
        env.json(&["keys", "create", "--name", name, "--no-store"])["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (live, dead) = (id("live"), id("dead"));
    env.ok(&["keys", "revoke", "dead", "--yes"]);
    // A key of a revoked one's name may live again: only the live one is listed by default.
    let reborn = id("dead");
    let ids = |args: &[&str]| -> BTreeSet<String> {
        let mut all = vec!["keys", "list", "-q"];
        all.extend_from_slice(args);
        env.ok(&all).lines().map(str::to_owned).collect()
    };
    let set = |v: &[&String]| v.iter().map(|s| (*s).clone()).collect::<BTreeSet<_>>();
    // `-q` pipelines never receive a dead id, paged or not.
    assert_eq!(ids(&[]), set(&[&live, &reborn]));
    assert_eq!(ids(&["--all"]), set(&[&live, &reborn]));
    assert_eq!(ids(&["--name", "dead"]), set(&[&reborn]));
    assert_eq!(ids(&["--status", "revoked"]), set(&[&dead]));
    assert_eq!(ids(&["--all-statuses"]), set(&[&live, &dead, &reborn]));
    assert_eq!(
        ids(&["--all-statuses", "--name", "dead"]),
        set(&[&dead, &reborn])
    );
    let listed = env.json(&["keys", "list"]);
    assert_eq!(listed["items"].as_array().unwrap().len(), 2, "{listed}");
    // --all-statuses and --status contradict each other.
    env.fails(&["keys", "list", "--all-statuses", "--status", "active"], 2);
    // A revoked row does not claim it expires.
    let table = env.ok(&["keys", "list", "--status", "revoked"]);
    let row = table.lines().find(|l| l.contains(&dead)).unwrap();
    assert!(
        !row.contains("in 12 months") && !row.contains(" in "),
        "{table}"
    );
    // The help says so.
    let help = env.ok(&["keys", "list", "--help"]);
    assert!(help.contains("--all-statuses"), "{help}");
    assert!(help.contains("Revoked keys are left out"), "{help}");
}

#[test]
fn get_and_view_show_a_key_and_delete_and_rm_revoke_it() {
    let env = TestEnv::new();
    for name in ["one", "two"] {
        env.ok(&["keys", "create", "--name", name, "--no-store", "-q"]);
    }
    for alias in ["get", "view"] {
        assert_eq!(env.json(&["keys", alias, "one"])["name"], "one");
    }
    for (alias, name) in [("delete", "one"), ("rm", "two")] {
        let revoked = env.json(&["keys", alias, name, "--yes"]);
        assert_eq!(revoked["status"], "revoked", "{alias}");
    }
    let help = env.ok(&["keys", "--help"]);
    assert!(
        help.contains("get, view") && help.contains("delete, rm"),
        "{help}"
    );
}
