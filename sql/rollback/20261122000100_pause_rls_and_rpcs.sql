-- Rollback of 20261122000100_pause_rls_and_rpcs: removes exactly what it
-- created and granted, in reverse order (EXECUTE first, policies last).
DROP FUNCTION public.get_active_pauses_for_chapter(uuid);
DROP FUNCTION public.deactivate_pause(uuid, text);
DROP FUNCTION public.activate_pause(uuid, text, date);
DROP FUNCTION private.pause_org_context(uuid);

REVOKE UPDATE (status, reason, expected_return_date) ON public.peer_mentor_status FROM authenticated;
REVOKE INSERT (peer_mentor_id, org_id, status, reason, expected_return_date) ON public.peer_mentor_status FROM authenticated;
REVOKE SELECT ON public.peer_mentor_status, public.peer_mentor_status_log FROM authenticated, service_role;

DROP POLICY peer_mentor_status_log_select ON public.peer_mentor_status_log;
DROP POLICY peer_mentor_status_update ON public.peer_mentor_status;
DROP POLICY peer_mentor_status_insert ON public.peer_mentor_status;
DROP POLICY peer_mentor_status_select ON public.peer_mentor_status;
