-- A key's named rate limits, as a JSON array (`[{"name":"requests","limit":100,"window_secs":60}]`);
-- NULL for a key without any. Part of the key: an edit is a new version on the change feed.
ALTER TABLE keys ADD COLUMN ratelimits TEXT;

-- What each replica counted per key, limit and window (`window_start` in milliseconds since
-- the epoch, a multiple of the window). Each replica writes its own absolute counts in
-- batches, every `ratelimit_sync`, never per verify, and reads the other replicas'. A row is
-- of no use once its window and the next are over (`expires_at`), and is purged then.
CREATE TABLE ratelimit_counts (
    key_id TEXT NOT NULL,
    name TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    replica TEXT NOT NULL,
    window_ms BIGINT NOT NULL,
    count BIGINT NOT NULL,
    first_at BIGINT NOT NULL,
    last_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    -- On the replica's newest window of the limit: how many more uses it may admit before
    -- its next round (the other replicas leave them to it).
    reserved BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (key_id, name, window_ms, window_start, replica)
);
CREATE INDEX ratelimit_counts_by_expiry ON ratelimit_counts (expires_at);

-- Each replica says it is alive at every round: a limit's room is shared among the replicas
-- alive, and the reservation of one not heard from for three rounds is given back.
-- `alone`: its last round saw no other replica alive, so it counts by its own count alone,
-- under limits it may not have published yet: until it has a round with the others, they
-- reserve nothing.
CREATE TABLE ratelimit_replicas (
    replica TEXT PRIMARY KEY,
    seen_at BIGINT NOT NULL,
    alone BIGINT NOT NULL DEFAULT 0
);
