-- Every function of public and private searches pg_catalog, then the
-- session's temporary schema, and nothing else.
--
-- search_path = '' did not keep a caller's objects out: PostgreSQL searches
-- pg_temp before everything else, for relation and type names, whenever the
-- path does not list it. Any role may create temporary objects (PUBLIC holds
-- TEMP on the database), so service code through db (r.Tx() runs any SQL as
-- an API role) could create a temporary domain named text whose CHECK calls
-- its own function, and a SECURITY DEFINER function declaring a text
-- variable ran that check with its owner's rights. Listed explicitly and
-- last, pg_temp is searched after pg_catalog, where every unqualified type
-- name of the bodies resolves; every other name is schema-qualified.
-- PostgreSQL never searches pg_temp for functions and operators.
ALTER FUNCTION private.assert_mentors_in_org(uuid, uuid[]) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION private.has_org_role(uuid, uuid, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION private.org_ids_with_role(text[]) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION private.pause_org_context(uuid) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION private.peer_mentor_status_keep_logged() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION private.peer_mentor_status_log_change() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION private.peer_mentor_status_log_guard() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION private.peer_mentor_status_log_immutable() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION private.peer_mentor_status_reject_no_change() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION private.peer_mentor_status_set_bookkeeping() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION private.proxy_activities_check_members_in_org() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION private.proxy_activities_guard_immutable() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION private.proxy_activities_refuse_truncate() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION private.proxy_activities_set_timestamps() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION private.proxy_activities_write_audit() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION private.proxy_audit_log_guard_insert() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION private.proxy_audit_log_reject_change() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION public.activate_pause(uuid, text, date) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION public.deactivate_pause(uuid, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION public.get_active_pauses_for_chapter(uuid) SET search_path = pg_catalog, pg_temp;
