-- The name of the key an event is about, as it was when the event was written (a later rename
-- does not change it), so the log reads by name. Older events have none; their links do not
-- cover it (see the chain).
ALTER TABLE audit_events ADD COLUMN key_name TEXT;
