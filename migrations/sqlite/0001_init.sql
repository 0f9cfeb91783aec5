-- Times are Unix milliseconds (INTEGER) so both backends sort and compare them the same way.
CREATE TABLE environments (
    name        TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
);

CREATE TABLE keys (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    key_type      TEXT NOT NULL CHECK (key_type IN ('private', 'public')),
    allowed_ips   TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL CHECK (status IN ('active', 'disabled', 'revoked')),
    created_at    INTEGER NOT NULL,
    created_by    TEXT NOT NULL,
    updated_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    last_used_ip  TEXT,
    hint          TEXT NOT NULL,
    version       INTEGER NOT NULL,
    -- HMAC-SHA256(pepper, secret); NULL once the key is revoked.
    secret_digest BLOB UNIQUE
);
-- A name is unique among keys that are not revoked; tombstones keep theirs.
CREATE UNIQUE INDEX keys_live_name ON keys (name) WHERE status <> 'revoked';
CREATE INDEX keys_created ON keys (created_at, id);

CREATE TABLE key_environments (
    key_id      TEXT NOT NULL REFERENCES keys (id),
    environment TEXT NOT NULL REFERENCES environments (name),
    PRIMARY KEY (key_id, environment)
);
CREATE INDEX key_environments_by_env ON key_environments (environment, key_id);

CREATE TABLE key_permissions (
    key_id     TEXT NOT NULL REFERENCES keys (id),
    permission TEXT NOT NULL,
    PRIMARY KEY (key_id, permission)
);
CREATE INDEX key_permissions_by_perm ON key_permissions (permission, key_id);

CREATE TABLE access_tokens (
    digest     BLOB PRIMARY KEY,
    key_id     TEXT NOT NULL REFERENCES keys (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX access_tokens_by_key ON access_tokens (key_id);

CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    key_id      TEXT,
    environment TEXT,
    source_ip   TEXT,
    request_id  TEXT,
    outcome     TEXT NOT NULL
);
CREATE INDEX audit_events_by_key ON audit_events (key_id, at);
