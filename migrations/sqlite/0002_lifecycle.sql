-- Rotation: the secret being rotated out keeps working until previous_expires_at.
ALTER TABLE keys ADD COLUMN previous_digest BLOB;
ALTER TABLE keys ADD COLUMN previous_expires_at INTEGER;
-- After revoke the secret digest is gone; this one-way fingerprint of it (HMAC of the digest)
-- only lets verify answer REVOKED instead of INVALID. It cannot authenticate anything.
ALTER TABLE keys ADD COLUMN revoked_fingerprint BLOB;
CREATE UNIQUE INDEX keys_previous_digest ON keys (previous_digest) WHERE previous_digest IS NOT NULL;
CREATE INDEX keys_revoked_fingerprint ON keys (revoked_fingerprint) WHERE revoked_fingerprint IS NOT NULL;
CREATE INDEX keys_expires ON keys (expires_at, id);
CREATE INDEX keys_name_sort ON keys (name, id);

-- Idempotent create: which key a caller's Idempotency-Key minted, and a digest of the request
-- it came with. No secret is kept: a replay answers with the key and no secret.
CREATE TABLE idempotency_keys (
    actor        TEXT NOT NULL,
    idem_key     TEXT NOT NULL,
    request_hash BLOB NOT NULL,
    key_id       TEXT NOT NULL REFERENCES keys (id),
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (actor, idem_key)
);
