-- Non-secret facts about the server, such as the check value of its pepper
-- (HMAC(pepper, "keyward-pepper-check")), so that a server started with another pepper, or
-- none, refuses to start instead of answering every secret "invalid".
CREATE TABLE server_meta (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

-- A rotated-out secret still inside its grace when the key was revoked: verify answers it
-- REVOKED as well. Like revoked_fingerprint it is one-way and cannot authenticate anything.
ALTER TABLE keys ADD COLUMN revoked_previous_fingerprint BLOB;
CREATE INDEX keys_revoked_previous_fingerprint ON keys (revoked_previous_fingerprint)
    WHERE revoked_previous_fingerprint IS NOT NULL;

-- The purger deletes expired tokens and old idempotency records by time.
CREATE INDEX access_tokens_by_expiry ON access_tokens (expires_at);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
