-- Rollback of 20261201000300_owner_guarantees: removes the two guards and
-- puts back the comments the objects had before.
COMMENT ON TRIGGER proxy_activities_write_audit ON public.proxy_activities IS NULL;
COMMENT ON TABLE public.peer_mentor_status_log IS
  'One immutable row per peer_mentor_status change, written only by the trigger peer_mentor_status_log_change.';
COMMENT ON TABLE public.peer_mentor_status IS
  'One row per (peer_mentor_id, org_id); a mentor without a row is active. Written only with a paired peer_mentor_status_log row (triggers).';
COMMENT ON TABLE public.proxy_audit_log IS NULL;
DROP TRIGGER peer_mentor_status_keep_logged ON public.peer_mentor_status;
DROP FUNCTION private.peer_mentor_status_keep_logged();
DROP TRIGGER proxy_audit_log_direct_insert ON public.proxy_audit_log;
DROP FUNCTION private.proxy_audit_log_guard_insert();
