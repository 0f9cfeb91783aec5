-- keyward's schema on PostgreSQL: the same tables, columns and rules as migrations/sqlite,
-- gathered into one file (this backend starts where SQLite's third migration ends).
--
-- Times are Unix milliseconds in BIGINT, as in SQLite, not timestamptz: one record mapping
-- serves both backends, and list cursors carry a millisecond value that must compare equal to
-- the stored one (timestamptz keeps microseconds, so a cursor rounded to milliseconds would
-- skip or repeat keys). Digests are bytea. Ids, names and everything sorted or paged on use the
-- "C" collation, so that both backends order text by its bytes and a cursor means the same.

CREATE TABLE environments (
    name        TEXT COLLATE "C" PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL
);

CREATE TABLE keys (
    id            TEXT COLLATE "C" PRIMARY KEY,
    name          TEXT COLLATE "C" NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    key_type      TEXT NOT NULL CHECK (key_type IN ('private', 'public')),
    allowed_ips   TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL CHECK (status IN ('active', 'disabled', 'revoked')),
    created_at    BIGINT NOT NULL,
    created_by    TEXT NOT NULL,
    updated_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    last_used_at  BIGINT,
    last_used_ip  TEXT,
    hint          TEXT NOT NULL,
    version       BIGINT NOT NULL,
    -- HMAC-SHA256(pepper, secret); NULL once the key is revoked.
    secret_digest BYTEA CONSTRAINT keys_secret_digest UNIQUE,
    -- Rotation: the secret being rotated out keeps working until previous_expires_at.
    previous_digest     BYTEA,
    previous_expires_at BIGINT,
    -- After revoke the secret digests are gone; these one-way fingerprints of them (HMAC of
    -- the digest) only let verify answer REVOKED instead of INVALID. They authenticate nothing.
    revoked_fingerprint          BYTEA,
    revoked_previous_fingerprint BYTEA
);
-- A name is unique among keys that are not revoked; tombstones keep theirs.
CREATE UNIQUE INDEX keys_live_name ON keys (name) WHERE status <> 'revoked';
CREATE UNIQUE INDEX keys_previous_digest ON keys (previous_digest) WHERE previous_digest IS NOT NULL;
CREATE INDEX keys_revoked_fingerprint ON keys (revoked_fingerprint)
    WHERE revoked_fingerprint IS NOT NULL;
CREATE INDEX keys_revoked_previous_fingerprint ON keys (revoked_previous_fingerprint)
    WHERE revoked_previous_fingerprint IS NOT NULL;
CREATE INDEX keys_created ON keys (created_at, id);
CREATE INDEX keys_expires ON keys (expires_at, id);
CREATE INDEX keys_name_sort ON keys (name, id);

CREATE TABLE key_environments (
    key_id      TEXT COLLATE "C" NOT NULL REFERENCES keys (id),
    environment TEXT COLLATE "C" NOT NULL REFERENCES environments (name),
    PRIMARY KEY (key_id, environment)
);
CREATE INDEX key_environments_by_env ON key_environments (environment, key_id);

CREATE TABLE key_permissions (
    key_id     TEXT COLLATE "C" NOT NULL REFERENCES keys (id),
    permission TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (key_id, permission)
);
CREATE INDEX key_permissions_by_perm ON key_permissions (permission, key_id);

CREATE TABLE access_tokens (
    digest     BYTEA PRIMARY KEY,
    key_id     TEXT COLLATE "C" NOT NULL REFERENCES keys (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX access_tokens_by_key ON access_tokens (key_id);
-- The purger deletes expired tokens and old idempotency records by time.
CREATE INDEX access_tokens_by_expiry ON access_tokens (expires_at);

CREATE TABLE audit_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    key_id      TEXT COLLATE "C",
    environment TEXT,
    source_ip   TEXT,
    request_id  TEXT,
    outcome     TEXT NOT NULL
);
CREATE INDEX audit_events_by_key ON audit_events (key_id, at);

-- Idempotent create: which key a caller's Idempotency-Key minted, and a digest of the request
-- it came with. No secret is kept: a replay answers with the key and no secret.
CREATE TABLE idempotency_keys (
    actor        TEXT NOT NULL,
    idem_key     TEXT NOT NULL,
    request_hash BYTEA NOT NULL,
    key_id       TEXT COLLATE "C" NOT NULL REFERENCES keys (id),
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (actor, idem_key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

-- Non-secret facts about the server, such as the check value of its pepper
-- (HMAC(pepper, "keyward-pepper-check")), so that a server started with another pepper, or
-- none, refuses to start instead of answering every secret "invalid".
CREATE TABLE server_meta (
    name  TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);
