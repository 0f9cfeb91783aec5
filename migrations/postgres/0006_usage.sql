-- Verify answers per key, per minute, per code (`keyward keys usage`): counted in memory and
-- added here in batches, never a write per verify.
CREATE TABLE key_usage (
    key_id TEXT COLLATE "C" NOT NULL,
    minute BIGINT NOT NULL,
    code   TEXT NOT NULL,
    count  BIGINT NOT NULL,
    PRIMARY KEY (key_id, minute, code)
);
