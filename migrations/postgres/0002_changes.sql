-- The change feed: every write that changes what verify or token authentication would answer
-- appends a row here in its own transaction, and sends NOTIFY keyward_changes with it. Each
-- replica follows the feed and drops what it had cached of the key named.
-- Sequence numbers are taken when a row is written, not when its transaction commits, so a
-- lower number can become visible after a higher one: followers keep reading below a gap
-- until it fills (see src/server/store/feed.rs).
CREATE TABLE changes (
    seq    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     BIGINT NOT NULL,
    kind   TEXT NOT NULL,
    key_id TEXT COLLATE "C"
);
CREATE INDEX changes_by_age ON changes (at);
