-- The change feed: every write that changes what verify or token authentication would answer
-- appends a row here in its own transaction. Each server follows the feed and drops what it
-- had cached of the key named, so several processes on one file agree within a poll.
-- AUTOINCREMENT: SQLite commits one writer at a time, so sequence numbers become visible in
-- order and are never reused.
CREATE TABLE changes (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    at     INTEGER NOT NULL,
    kind   TEXT NOT NULL,
    key_id TEXT
);
CREATE INDEX changes_by_age ON changes (at);
