//! A verify in flight while its key is revoked must not leave a stale VALID in the server's
//! cache. The database look-up is slowed deliberately (it answers, then waits), so the revoke
//! lands between the look-up's read and its return, every time.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use keyward::api::Environment;
use keyward::server::store::{
    AuditEvent, Change, IdempotencyRecord, KeyFilter, KeyRecord, RevokedFingerprints, Store,
    StoreResult, TokenRecord,
};
use serde_json::json;

use crate::harness::TestEnv;
use crate::live::{LiveServer, Options};

/// How long a key look-up by digest waits after the database answered.
const SLOW: Duration = Duration::from_millis(150);

/// The real store, with key look-ups by digest slowed after they have read the database.
struct SlowLookups(Arc<dyn Store>);

fn slow(inner: Arc<dyn Store>) -> Arc<dyn Store> {
    Arc::new(SlowLookups(inner))
}

#[test]
fn a_verify_in_flight_during_a_revoke_leaves_no_stale_valid_behind() {
    let env = TestEnv::new();
    let server = LiveServer::start_with(
        &env,
        Options {
            wrap_store: Some(slow),
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
impl Store for SlowLookups {
    async fn find_key_by_digest(&self, digest: &[u8]) -> StoreResult<Option<KeyRecord>> {
        let found = self.0.find_key_by_digest(digest).await?;
        if found.is_some() {
            tokio::time::sleep(SLOW).await;
        }
        Ok(found)
    }

    // The rest as the real store does it.

    async fn ping(&self) -> StoreResult<()> {
        self.0.ping().await
    }
    async fn seed_keys(&self, keys: &[KeyRecord]) -> StoreResult<()> {
        self.0.seed_keys(keys).await
    }
    async fn analyze(&self) -> StoreResult<()> {
        self.0.analyze().await
    }
    async fn list_plan(&self, filter: &KeyFilter) -> StoreResult<String> {
        self.0.list_plan(filter).await
    }
    async fn list_environments(&self) -> StoreResult<Vec<Environment>> {
        self.0.list_environments().await
    }
    async fn create_environment(&self, env: &Environment, audit: &AuditEvent) -> StoreResult<()> {
        self.0.create_environment(env, audit).await
    }
    async fn count_keys(&self) -> StoreResult<i64> {
        self.0.count_keys().await
    }
    async fn pepper_check(&self) -> StoreResult<Option<Vec<u8>>> {
        self.0.pepper_check().await
    }
    async fn adopt_pepper_check(&self, check: &[u8]) -> StoreResult<Vec<u8>> {
        self.0.adopt_pepper_check(check).await
    }
    async fn insert_first_key(
        &self,
        key: &KeyRecord,
        environment: Option<(&Environment, &AuditEvent)>,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        self.0.insert_first_key(key, environment, audit).await
    }
    async fn insert_key(
        &self,
        key: &KeyRecord,
        idempotency: Option<&IdempotencyRecord>,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.0.insert_key(key, idempotency, audit).await
    }
    async fn get_key(&self, id: &str) -> StoreResult<Option<KeyRecord>> {
        self.0.get_key(id).await
    }
    async fn find_key_by_fingerprint(&self, fingerprint: &[u8]) -> StoreResult<Option<KeyRecord>> {
        self.0.find_key_by_fingerprint(fingerprint).await
    }
    async fn list_keys(&self, filter: &KeyFilter) -> StoreResult<Vec<KeyRecord>> {
        self.0.list_keys(filter).await
    }
    async fn update_key(
        &self,
        key: &KeyRecord,
        expected_version: i64,
        cap_tokens_at: Option<Timestamp>,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        self.0
            .update_key(key, expected_version, cap_tokens_at, audit)
            .await
    }
    async fn revoke_key(
        &self,
        id: &str,
        expected_version: i64,
        at: Timestamp,
        fingerprints: &RevokedFingerprints,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        self.0
            .revoke_key(id, expected_version, at, fingerprints, audit)
            .await
    }
    async fn record_last_used(
        &self,
        uses: &[(String, Timestamp, Option<String>)],
    ) -> StoreResult<()> {
        self.0.record_last_used(uses).await
    }
    async fn get_idempotency(
        &self,
        actor: &str,
        idem_key: &str,
    ) -> StoreResult<Option<IdempotencyRecord>> {
        self.0.get_idempotency(actor, idem_key).await
    }
    async fn insert_token(&self, token: &TokenRecord, audit: &AuditEvent) -> StoreResult<()> {
        self.0.insert_token(token, audit).await
    }
    async fn get_token(&self, digest: &[u8]) -> StoreResult<Option<TokenRecord>> {
        self.0.get_token(digest).await
    }
    async fn token_and_key(&self, digest: &[u8]) -> StoreResult<Option<(TokenRecord, KeyRecord)>> {
        self.0.token_and_key(digest).await
    }
    async fn purge(
        &self,
        tokens_before: Timestamp,
        idempotency_before: Timestamp,
    ) -> StoreResult<(u64, u64)> {
        self.0.purge(tokens_before, idempotency_before).await
    }
    async fn record_audit(&self, audit: &AuditEvent) -> StoreResult<()> {
        self.0.record_audit(audit).await
    }
    async fn environment_counts(
        &self,
        now: Timestamp,
        soon: Timestamp,
        within: Option<&std::collections::BTreeSet<String>>,
    ) -> StoreResult<Vec<(String, keyward::api::KeyCounts)>> {
        self.0.environment_counts(now, soon, within).await
    }
    async fn delete_environment(
        &self,
        name: &str,
        audit: &AuditEvent,
        moved: &AuditEvent,
    ) -> StoreResult<keyward::server::store::EnvironmentDeletion> {
        self.0.delete_environment(name, audit, moved).await
    }
    async fn prune_audit(&self, before: Timestamp) -> StoreResult<u64> {
        self.0.prune_audit(before).await
    }
    async fn audit_anchor(&self) -> StoreResult<Option<(i64, Vec<u8>)>> {
        self.0.audit_anchor().await
    }
    async fn record_usage(&self, counts: &[keyward::server::store::UsageCount]) -> StoreResult<()> {
        self.0.record_usage(counts).await
    }
    async fn usage(
        &self,
        key_id: &str,
        since: Timestamp,
        until: Timestamp,
    ) -> StoreResult<Vec<keyward::server::store::UsageCount>> {
        self.0.usage(key_id, since, until).await
    }
    fn set_chain_key(&self, key: keyward::server::audit::ChainKey) {
        self.0.set_chain_key(key)
    }
    async fn seal_audit(&self) -> StoreResult<u64> {
        self.0.seal_audit().await
    }
    async fn list_audit(
        &self,
        filter: &keyward::server::store::AuditFilter,
    ) -> StoreResult<Vec<keyward::server::audit::AuditRow>> {
        self.0.list_audit(filter).await
    }
    async fn changes_after(&self, seq: i64, limit: i64) -> StoreResult<Vec<Change>> {
        self.0.changes_after(seq, limit).await
    }
    async fn last_change(&self) -> StoreResult<i64> {
        self.0.last_change().await
    }
    async fn purge_changes(&self, before: Timestamp) -> StoreResult<u64> {
        self.0.purge_changes(before).await
    }
    async fn listen_for_changes(&self, wake: &tokio::sync::Notify) -> StoreResult<()> {
        self.0.listen_for_changes(wake).await
    }
}
