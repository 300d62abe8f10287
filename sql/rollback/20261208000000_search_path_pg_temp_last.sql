-- Rollback of 20261208000000_search_path_pg_temp_last: puts back the empty
-- search_path every function had before it.
ALTER FUNCTION private.assert_mentors_in_org(uuid, uuid[]) SET search_path = '';
ALTER FUNCTION private.has_org_role(uuid, uuid, text) SET search_path = '';
ALTER FUNCTION private.org_ids_with_role(text[]) SET search_path = '';
ALTER FUNCTION private.pause_org_context(uuid) SET search_path = '';
ALTER FUNCTION private.peer_mentor_status_keep_logged() SET search_path = '';
ALTER FUNCTION private.peer_mentor_status_log_change() SET search_path = '';
ALTER FUNCTION private.peer_mentor_status_log_guard() SET search_path = '';
ALTER FUNCTION private.peer_mentor_status_log_immutable() SET search_path = '';
ALTER FUNCTION private.peer_mentor_status_reject_no_change() SET search_path = '';
ALTER FUNCTION private.peer_mentor_status_set_bookkeeping() SET search_path = '';
ALTER FUNCTION private.proxy_activities_check_members_in_org() SET search_path = '';
ALTER FUNCTION private.proxy_activities_guard_immutable() SET search_path = '';
ALTER FUNCTION private.proxy_activities_refuse_truncate() SET search_path = '';
ALTER FUNCTION private.proxy_activities_set_timestamps() SET search_path = '';
ALTER FUNCTION private.proxy_activities_write_audit() SET search_path = '';
ALTER FUNCTION private.proxy_audit_log_guard_insert() SET search_path = '';
ALTER FUNCTION private.proxy_audit_log_reject_change() SET search_path = '';
ALTER FUNCTION public.activate_pause(uuid, text, date) SET search_path = '';
ALTER FUNCTION public.deactivate_pause(uuid, text) SET search_path = '';
ALTER FUNCTION public.get_active_pauses_for_chapter(uuid) SET search_path = '';
