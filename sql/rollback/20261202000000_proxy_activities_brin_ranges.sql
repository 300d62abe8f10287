-- Rollback of 20261202000000_proxy_activities_brin_ranges: the BRIN index
-- with the default storage parameters and the default fillfactor, as
-- 20261121000000_proxy_activities created them.
SET LOCAL lock_timeout = '4s';
SET LOCAL statement_timeout = '4s';

ALTER TABLE public.proxy_activities RESET (fillfactor);

-- squawk-ignore require-concurrent-index-deletion
DROP INDEX public.proxy_activities_created_at_brin_idx;

-- squawk-ignore require-concurrent-index-creation
CREATE INDEX proxy_activities_created_at_brin_idx
  ON public.proxy_activities USING brin (created_at);
