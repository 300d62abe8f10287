-- Queries over a window of registration time (proxy_activities.created_at,
-- proxy_audit_log.at). Both columns are stamped by the server and rise with
-- insertion order, which is what lets a BRIN index find a window in a few
-- ranges of heap pages.

-- ExportProxyActivities is the nightly hand-off to an external reporting or
-- portal system: the activities registered in [from_at, to_at), of every
-- org or of one (org_id NULL means every org), in registration order, paged
-- by keyset on (created_at, id): the first page passes (from_at, the nil
-- uuid) as (after_created_at, after_id), the next ones the last row's. Run as
-- service_role (it bypasses RLS; for a coordinator RLS limits it to their
-- orgs). created_at >= after_created_at repeats the keyset's leading column
-- as a plain range so the BRIN index can skip the pages already exported.
-- name: ExportProxyActivities :many
SELECT * FROM proxy_activities
WHERE created_at >= @from_at::timestamptz
  AND created_at < @to_at::timestamptz
  AND created_at >= @after_created_at::timestamptz
  AND (created_at, id) > (@after_created_at::timestamptz, @after_id::uuid)
  AND (sqlc.narg(org_id)::uuid IS NULL OR org_id = sqlc.narg(org_id)::uuid)
ORDER BY created_at, id
LIMIT @limit_rows;

-- ReviewProxyAuditLog pages one org's audit trail written in [from_at,
-- to_at), newest first, by keyset on (at, id): the first page passes (to_at,
-- the largest bigint) as (before_at, before_id). An index scan of
-- proxy_audit_log_org_id_at_idx (org_id, at DESC) from the window's end,
-- stopping after a page of rows (rows of one transaction share their at and
-- are ordered by id in an incremental sort).
-- name: ReviewProxyAuditLog :many
SELECT * FROM proxy_audit_log
WHERE org_id = @org_id
  AND at >= @from_at::timestamptz
  AND at < @to_at::timestamptz
  AND at <= @before_at::timestamptz
  AND (at, id) < (@before_at::timestamptz, @before_id::bigint)
ORDER BY at DESC, id DESC
LIMIT @limit_rows;
