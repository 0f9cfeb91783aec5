-- A key's credits: a row only for keys that have them, so a key without credits costs verify
-- nothing. Spent by verify in place (no new version, no change-feed row); refilled by the
-- first spend after a refill time. Kept out of `keys`, whose rows and indexes a spend would
-- otherwise rewrite on every verify.
CREATE TABLE key_credits (
    key_id TEXT COLLATE "C" PRIMARY KEY REFERENCES keys (id),
    remaining BIGINT NOT NULL,
    refilled_at BIGINT NOT NULL,
    refill_amount BIGINT,
    refill_interval TEXT,
    refill_day INTEGER
);
