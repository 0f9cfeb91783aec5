-- Search that scales (`q` in GET /v1/keys): an FTS5 index with the trigram tokenizer answers
-- "contains this fragment" (three characters or more, any case) from the index instead of
-- scanning every key. It holds no text of its own (content = 'keys'); triggers keep it in step
-- with the keys table in the same transaction as every write.
--
-- Its rowid is search_id, a column of keys, not keys' implicit rowid: VACUUM may renumber the
-- implicit rowids of a table without an INTEGER PRIMARY KEY, which would point the index at
-- the wrong keys. Writes give a new key max(search_id) + 1 (they hold the write lock).
ALTER TABLE keys ADD COLUMN search_id INTEGER;
UPDATE keys SET search_id = rowid;
CREATE UNIQUE INDEX keys_search_id ON keys (search_id);

CREATE VIRTUAL TABLE keys_search USING fts5(
    name, description, allowed_ips, hint,
    content = 'keys', content_rowid = 'search_id', tokenize = 'trigram'
);
INSERT INTO keys_search (keys_search) VALUES ('rebuild');

CREATE TRIGGER keys_search_insert AFTER INSERT ON keys BEGIN
    INSERT INTO keys_search (rowid, name, description, allowed_ips, hint)
    VALUES (new.search_id, new.name, new.description, new.allowed_ips, new.hint);
END;
CREATE TRIGGER keys_search_delete AFTER DELETE ON keys BEGIN
    INSERT INTO keys_search (keys_search, rowid, name, description, allowed_ips, hint)
    VALUES ('delete', old.search_id, old.name, old.description, old.allowed_ips, old.hint);
END;
CREATE TRIGGER keys_search_update AFTER UPDATE OF name, description, allowed_ips, hint ON keys
BEGIN
    INSERT INTO keys_search (keys_search, rowid, name, description, allowed_ips, hint)
    VALUES ('delete', old.search_id, old.name, old.description, old.allowed_ips, old.hint);
    INSERT INTO keys_search (rowid, name, description, allowed_ips, hint)
    VALUES (new.search_id, new.name, new.description, new.allowed_ips, new.hint);
END;

-- Every list filter finds its keys through an index (the plans are checked by a test):
-- status and type lead an index in the default order, last use has its own.
CREATE INDEX keys_status_created ON keys (status, created_at, id);
CREATE INDEX keys_type_created ON keys (key_type, created_at, id);
CREATE INDEX keys_last_used ON keys (last_used_at);
-- An environment's or a permission's keys in the default order: each row carries its key's
-- creation time (which never changes), so a filtered list reads one index range in order and
-- stops at the page's end, however rare the environment.
ALTER TABLE key_environments ADD COLUMN key_created_at INTEGER;
UPDATE key_environments SET key_created_at = (SELECT created_at FROM keys WHERE id = key_id);
CREATE INDEX key_environments_in_order ON key_environments (environment, key_created_at, key_id);
DROP INDEX key_environments_by_env;
ALTER TABLE key_permissions ADD COLUMN key_created_at INTEGER;
UPDATE key_permissions SET key_created_at = (SELECT created_at FROM keys WHERE id = key_id);
CREATE INDEX key_permissions_in_order ON key_permissions (permission, key_created_at, key_id);
DROP INDEX key_permissions_by_perm;
