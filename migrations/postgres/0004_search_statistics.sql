-- pg_trgm cannot tell the planner how many keys hold a fragment: it guesses from the
-- columns' statistics, and with PostgreSQL's default 100 values it took a fragment found in
-- 5,000 of a million keys (`ledger-cron`) for one found in 200, fetched all 5,000 from the
-- trigram index and sorted them (30 ms). With 1,000 values a fragment that common is
-- recognised, and the list reads keys in order until its page is full (9 ms); a rare fragment
-- still goes to the index. ANALYZE samples 300,000 rows instead of 30,000 (about 3 s at a
-- million keys, done by autovacuum).
ALTER TABLE keys ALTER COLUMN name SET STATISTICS 1000;
ALTER TABLE keys ALTER COLUMN description SET STATISTICS 1000;
