-- Rollback of 20261121000000_proxy_activities: removes exactly what it created.
-- Dropping a table drops its indexes, constraints, triggers, policies, grants,
-- comments and identity sequence; the trigger functions go after their
-- triggers. The audit log's immutability triggers do not fire on DROP TABLE.
DROP TABLE public.proxy_audit_log;
DROP TABLE public.proxy_activities;
DROP TABLE public.recurring_activity_templates;
DROP FUNCTION private.proxy_audit_log_reject_change();
DROP FUNCTION private.proxy_activities_write_audit();
DROP FUNCTION private.proxy_activities_guard_immutable();
DROP FUNCTION private.proxy_activities_check_mentor_in_org();
DROP FUNCTION private.proxy_activities_set_timestamps();
