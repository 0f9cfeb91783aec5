-- Verify answers per key, per minute, per code (`keyward keys usage`): counted in memory and
-- added here in batches, never a write per verify.
CREATE TABLE key_usage (
    key_id TEXT NOT NULL,
    minute INTEGER NOT NULL,
    code   TEXT NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (key_id, minute, code)
) WITHOUT ROWID;
