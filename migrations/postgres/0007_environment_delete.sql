-- `keyward envs delete`: an environment is marked deleted rather than removed, because revoked
-- keys that lived there keep it as a name (a tombstone with no environment would be visible to
-- every scoped caller). A deleted environment is in no list and takes no key; creating it again
-- brings the name back.
ALTER TABLE environments ADD COLUMN deleted_at BIGINT;
