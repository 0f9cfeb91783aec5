//! A verify in flight while its key is revoked must not leave a stale VALID in the server's
//! cache. The database look-up is slowed deliberately (it answers, then waits), so the revoke
//! lands between the look-up's read and its return, every time.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use keyward::server::store::{Credentials, KeyRecord, StoreResult, TokenRecord};
use serde_json::json;

use crate::harness::TestEnv;
use crate::live::{LiveServer, Options};

/// How long a key look-up by digest waits after the database answered.
const SLOW: Duration = Duration::from_millis(150);

/// The real store's credentials, with key look-ups by digest slowed after they have read the
/// database.
struct SlowLookups(Arc<dyn Credentials>);

fn slow(inner: Arc<dyn Credentials>) -> Arc<dyn Credentials> {
    Arc::new(SlowLookups(inner))
}

#[test]
fn a_verify_in_flight_during_a_revoke_leaves_no_stale_valid_behind() {
    let env = TestEnv::new();
    let server = LiveServer::start_with(
        &env,
        Options {
            wrap_credentials: Some(slow),
            ..Options::default()
        },
    );
    let admin = server.admin_token();
    let code = |body: &[u8]| -> String {
        let v: serde_json::Value = serde_json::from_slice(body).unwrap();
        v["code"].as_str().unwrap().to_owned()
    };
    for round in 0..25 {
        let (id, secret) = server.create(
            &admin,
            json!({"name": format!("raced-{round}"), "environments": ["staging"]}),
        );
        std::thread::scope(|s| {
            // Not cached yet: this verify reads the key (active) and then dawdles.
            let in_flight = s.spawn(|| server.verify(&admin, json!({ "key": secret })));
            std::thread::sleep(SLOW / 3);
            let r = server.call(&admin, "POST", &format!("/v1/keys/{id}/revoke"), None, &[]);
            assert_eq!(r.status, 200);
            let (status, body) = in_flight.join().unwrap();
            assert_eq!(status, 200);
            // It began before the revoke: either answer is honest for it.
            assert!(["VALID", "REVOKED"].contains(&code(&body).as_str()));
        });
        // What it read must not have been cached after the revoke dropped the key.
        let (_, body) = server.verify(&admin, json!({ "key": secret }));
        assert_eq!(
            code(&body),
            "REVOKED",
            "round {round}: a stale VALID was cached"
        );
    }
}

#[async_trait]
impl Credentials for SlowLookups {
    async fn find_key_by_digest(&self, digest: &[u8]) -> StoreResult<Option<KeyRecord>> {
        let found = self.0.find_key_by_digest(digest).await?;
        if found.is_some() {
            tokio::time::sleep(SLOW).await;
        }
        Ok(found)
    }

    async fn token_and_key(&self, digest: &[u8]) -> StoreResult<Option<(TokenRecord, KeyRecord)>> {
        self.0.token_and_key(digest).await
    }
}
