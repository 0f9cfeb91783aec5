-- The audit log as a product (GET /v1/audit, `keyward audit`): who acted (and the acting key's
-- name), on which key and environments, what an edit changed (field names, never values), why a
-- failure failed, and `hash`, the event's link in the tamper-evident chain (an HMAC over its
-- fields and the previous event's link, keyed from the pepper; see src/server/audit.rs). Events
-- written before this migration are linked when the server next starts.
ALTER TABLE audit_events ADD COLUMN actor_name TEXT;
ALTER TABLE audit_events ADD COLUMN environments TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN error_code TEXT;
ALTER TABLE audit_events ADD COLUMN changed TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN hash BLOB;
UPDATE audit_events SET environments = coalesce(environment, '');
-- Filters read newest first from an index.
DROP INDEX audit_events_by_key;
CREATE INDEX audit_events_by_key ON audit_events (key_id, id);
CREATE INDEX audit_events_by_actor ON audit_events (actor, id);
CREATE INDEX audit_events_by_action ON audit_events (action, id);
CREATE INDEX audit_events_by_time ON audit_events (at);
