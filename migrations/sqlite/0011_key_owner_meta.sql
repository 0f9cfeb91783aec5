-- Who a key is for (an external id of the caller's) and a JSON object of theirs, kept as the
-- exact text sent (so it is answered byte for byte: not jsonb, which reorders and re-encodes).
ALTER TABLE keys ADD COLUMN owner TEXT;
ALTER TABLE keys ADD COLUMN meta TEXT;
-- Lists filter by owner, in their default order (creation, then id).
CREATE INDEX keys_by_owner ON keys (owner, created_at, id) WHERE owner IS NOT NULL;
