-- Search that scales (`q` in GET /v1/keys): pg_trgm's GIN index answers ILIKE '%fragment%'
-- (three characters or more) from the index instead of scanning every key, one index over the
-- four searched columns (a condition on any of them can use it). pg_trgm ships with
-- PostgreSQL and is a trusted extension: the database's owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX keys_search ON keys USING gin (
    name gin_trgm_ops, description gin_trgm_ops, allowed_ips gin_trgm_ops, hint gin_trgm_ops
);

-- Every list filter finds its keys through an index (the plans are checked by a test):
-- status and type lead an index in the default order, last use has its own.
CREATE INDEX keys_status_created ON keys (status, created_at, id);
CREATE INDEX keys_type_created ON keys (key_type, created_at, id);
CREATE INDEX keys_last_used ON keys (last_used_at);
-- An environment's or a permission's keys in the default order: each row carries its key's
-- creation time (which never changes), so a filtered list reads one index range in order and
-- stops at the page's end, however rare the environment.
ALTER TABLE key_environments ADD COLUMN key_created_at BIGINT;
UPDATE key_environments e SET key_created_at = k.created_at FROM keys k WHERE k.id = e.key_id;
ALTER TABLE key_environments ALTER COLUMN key_created_at SET NOT NULL;
CREATE INDEX key_environments_in_order ON key_environments (environment, key_created_at, key_id);
DROP INDEX key_environments_by_env;
ALTER TABLE key_permissions ADD COLUMN key_created_at BIGINT;
UPDATE key_permissions p SET key_created_at = k.created_at FROM keys k WHERE k.id = p.key_id;
ALTER TABLE key_permissions ALTER COLUMN key_created_at SET NOT NULL;
CREATE INDEX key_permissions_in_order ON key_permissions (permission, key_created_at, key_id);
DROP INDEX key_permissions_by_perm;
