-- The BRIN index on proxy_activities.created_at, sized for the query that
-- uses it: the export of the activities registered in a time window
-- (ExportProxyActivities, typically one day), and a fillfactor that keeps an
-- edited row on its page so the index stays tight after updates.
--
-- Measured on the seed at PA-PLAN-1's size (3 orgs x 100,000 rows, created_at
-- rising over two years, so one day is about 411 rows on 8-9 heap pages), the
-- heap blocks a one-day export reads (Bitmap Heap Scan over the BRIN) for six
-- days, and the index size:
--
--   pages_per_range   heap blocks read   index size
--   128 (default)     128-256            24 kB
--    32               32-64              24 kB
--    16               16-32              32 kB
--     8               16                 40 kB
--     4               12                 64 kB
--     2               10                 112 kB
--     1               8-9                200 kB
--
-- A bitmap over a BRIN reads whole ranges, so a window of p pages costs at
-- most p + 2 x (pages_per_range - 1) pages. 4 keeps a day within about twice
-- its own pages (worst case 9 + 6 = 15 of 9) for about 1/100 of the size of a
-- btree on created_at (6.6 MB at this size); 8 already reads twice the day
-- and more on an unlucky boundary. More rows per day (more organisations)
-- only make the ranges' share of a window smaller.
--
-- autosummarize: a BRIN summarises pages only at VACUUM (or on request);
-- until then every bitmap scan reads every page added since, whatever the
-- window. Autovacuum vacuums an insert-mostly table only after inserts of
-- 20% of its rows (autovacuum_vacuum_insert_scale_factor): at 300,000 rows
-- that is 60,000 rows, five months of registrations at the seed's rate, and
-- a one-day export would read them all. With autosummarize on, an insert
-- into the first page of a new range asks autovacuum to summarise the range
-- just filled (a work item, handled within autovacuum_naptime), so only the
-- range being filled (< 4 pages) is unsummarised.
--
-- fillfactor = 80: created_at never changes (the timestamps trigger keeps
-- it), but an UPDATE writes a new row version, and when the page is full that
-- version goes to the end of the table, whose ranges then span every
-- created_at and match every window. Measured with 10% of all rows edited in
-- one statement (durations and notes, uniformly over the two years): at
-- fillfactor 100 the table grew by 583 pages and a one-day export read
-- 595-599 blocks instead of 12; at 90, 97 new pages and 111 blocks; at 80,
-- no new page and 13-17 blocks. INSERT never fills a page beyond the
-- fillfactor either, so the room kept for edits never takes new rows (with
-- a recent created_at that would widen an old range to the present). The
-- cost is a heap a quarter larger for new pages; the report and list
-- queries read the covering index, not the heap. The setting applies to
-- pages written from now on: existing pages keep their layout until the
-- table is rewritten.
--
-- Live table: CREATE INDEX without CONCURRENTLY (the runner runs each file in
-- one transaction, where CONCURRENTLY is not allowed) holds a SHARE lock, so
-- writers wait while the index builds. A BRIN build is one sequential pass
-- over the heap with no sort: about a second at 1,000,000 rows (docs/
-- benchmarks.md, the BRIN case), within the runner's lock_timeout that a
-- writer may wait. Dropping the old index and creating the new one under
-- the same name in one transaction means no session ever sees the table
-- without a BRIN on created_at. For a table much larger than that, build
-- proxy_activities_created_at_brin4_idx CONCURRENTLY by hand first and this
-- migration only swaps names.

-- The runner and the Supabase CLI already wait at most 4s for a lock; the
-- statement timeout also bounds how long writers wait behind the index
-- build (see above): a table too large to index within it fails the
-- migration, which changes nothing, instead of stalling its writers.
SET LOCAL lock_timeout = '4s';
SET LOCAL statement_timeout = '4s';

ALTER TABLE public.proxy_activities SET (fillfactor = 80);

-- squawk-ignore require-concurrent-index-deletion
DROP INDEX public.proxy_activities_created_at_brin_idx;

-- squawk-ignore require-concurrent-index-creation
CREATE INDEX proxy_activities_created_at_brin_idx
  ON public.proxy_activities USING brin (created_at)
  WITH (pages_per_range = 4, autosummarize = on);
