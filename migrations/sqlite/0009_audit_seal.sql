-- The audit chain is sealed once, when it is created, and never again (src/server/store/chain.rs):
-- `audit_chain` in server_meta is empty until the first start seals the chain (linking the
-- events an older keyward wrote, if any), then holds the id of the sealing `audit.seal` event
-- and an HMAC of it keyed from the pepper. A link erased later is a break, not something to
-- seal. `detail` is what the log says of itself: where a prune left the chain starting (and
-- the link before it, covered by the prune event's own link), how many events a seal linked.
ALTER TABLE audit_events ADD COLUMN detail TEXT;
INSERT INTO server_meta (name, value) VALUES ('audit_chain', x'') ON CONFLICT DO NOTHING;
