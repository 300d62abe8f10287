-- Rollback of 20261206000000_trigger_scope: drops the TRUNCATE guard of
-- proxy_activities, and puts back the trigger functions and the comments as
-- they were before it.
COMMENT ON TABLE public.peer_mentor_status_log IS
  'One immutable row per peer_mentor_status change, written only by the trigger peer_mentor_status_log_change. No role''s DML can insert, update, delete or truncate rows (ENABLE ALWAYS triggers: the owner and replica mode included); not against the owner''s DDL. Its foreign keys to auth.users and organizations do not fire in replica mode.';
COMMENT ON TABLE public.proxy_audit_log IS
  'Append-only audit of proxy_activities, written only by its audit trigger. No role''s DML can update, delete or truncate rows (ENABLE ALWAYS triggers: the owner and replica mode included), nor insert them outside session_replication_role = replica. Not protected against the owner''s DDL (DISABLE/DROP TRIGGER). The owner''s writes to proxy_activities in replica mode are not audited.';
DROP TRIGGER proxy_activities_no_truncate ON public.proxy_activities;
DROP FUNCTION private.proxy_activities_refuse_truncate();

CREATE OR REPLACE FUNCTION private.proxy_activities_set_timestamps()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
BEGIN
  IF TG_OP = 'INSERT' THEN
    NEW.created_at := now();
    NEW.updated_at := NEW.created_at;
  ELSE
    NEW.created_at := OLD.created_at;
    NEW.updated_at := greatest(now(), OLD.updated_at + interval '1 microsecond');
  END IF;
  RETURN NEW;
END
$function$;

CREATE OR REPLACE FUNCTION private.proxy_activities_guard_immutable()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
BEGIN
  IF (TG_ARGV[0] = 'org_id' AND NEW.org_id IS DISTINCT FROM OLD.org_id)
     OR (TG_ARGV[0] = 'coordinator_id' AND NEW.coordinator_id IS DISTINCT FROM OLD.coordinator_id) THEN
    RAISE EXCEPTION 'proxy_activities.% cannot change', TG_ARGV[0]
      USING ERRCODE = '23514',
            CONSTRAINT = TG_NAME,
            TABLE = 'proxy_activities',
            COLUMN = TG_ARGV[0],
            SCHEMA = 'public';
  END IF;
  RETURN NEW;
END
$function$;

CREATE OR REPLACE FUNCTION private.proxy_activities_write_audit()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO public.proxy_audit_log (activity_id, org_id, actor, actor_role, action, old_row, new_row)
    VALUES (NEW.id, NEW.org_id, auth.uid(), auth.role(), 'INSERT', NULL, to_jsonb(NEW));
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO public.proxy_audit_log (activity_id, org_id, actor, actor_role, action, old_row, new_row)
    VALUES (NEW.id, NEW.org_id, auth.uid(), auth.role(), 'UPDATE', to_jsonb(OLD), to_jsonb(NEW));
  ELSE
    INSERT INTO public.proxy_audit_log (activity_id, org_id, actor, actor_role, action, old_row, new_row)
    VALUES (OLD.id, OLD.org_id, auth.uid(), auth.role(), 'DELETE', to_jsonb(OLD), NULL);
  END IF;
  RETURN NULL;
END
$function$;

CREATE OR REPLACE FUNCTION private.proxy_activities_check_members_in_org()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
DECLARE
  v_coordinator_ok boolean;
  v_mentor_ok boolean;
BEGIN
  IF TG_OP = 'UPDATE'
     AND NEW.coordinator_id = OLD.coordinator_id
     AND NEW.attributed_mentor_id = OLD.attributed_mentor_id
     AND NEW.org_id = OLD.org_id THEN
    RETURN NULL;
  END IF;
  -- A membership whose columns an UPDATE left as they were counts as held
  -- (IS TRUE: a NULL comparison is a change, as it was in the two
  -- functions); OR evaluates its left side first, so its probe is skipped.
  SELECT (TG_OP = 'UPDATE'
          AND NEW.coordinator_id = OLD.coordinator_id
          AND NEW.org_id = OLD.org_id) IS TRUE
         OR EXISTS (
           SELECT 1 FROM public.org_members AS m
           WHERE m.org_id = NEW.org_id
             AND m.user_id = NEW.coordinator_id
             AND m.role = 'coordinator'),
         (TG_OP = 'UPDATE'
          AND NEW.attributed_mentor_id = OLD.attributed_mentor_id
          AND NEW.org_id = OLD.org_id) IS TRUE
         OR EXISTS (
           SELECT 1 FROM public.org_members AS m
           WHERE m.org_id = NEW.org_id
             AND m.user_id = NEW.attributed_mentor_id
             AND m.role = 'peer_mentor')
    INTO v_coordinator_ok, v_mentor_ok;
  IF NOT v_coordinator_ok THEN
    RAISE EXCEPTION 'coordinator % is not a coordinator of organization %',
      NEW.coordinator_id, NEW.org_id
      USING ERRCODE = '23514',
            CONSTRAINT = 'proxy_activities_coordinator_in_org_check',
            TABLE = 'proxy_activities',
            SCHEMA = 'public';
  END IF;
  IF NOT v_mentor_ok THEN
    RAISE EXCEPTION 'attributed mentor % is not a peer_mentor of organization %',
      NEW.attributed_mentor_id, NEW.org_id
      USING ERRCODE = '23514',
            CONSTRAINT = 'proxy_activities_mentor_in_org_check',
            TABLE = 'proxy_activities',
            SCHEMA = 'public';
  END IF;
  RETURN NULL;
END
$function$;

CREATE OR REPLACE FUNCTION private.proxy_audit_log_reject_change()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
BEGIN
  RAISE EXCEPTION 'proxy_audit_log is append-only: % is not allowed', TG_OP
    USING ERRCODE = '42501',
          CONSTRAINT = 'proxy_audit_log_immutable',
          TABLE = 'proxy_audit_log',
          SCHEMA = 'public';
END
$function$;

CREATE OR REPLACE FUNCTION private.proxy_audit_log_guard_insert()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
BEGIN
  IF pg_trigger_depth() < 2 THEN
    RAISE EXCEPTION 'proxy_audit_log rows are written only by the audit trigger of proxy_activities'
      USING ERRCODE = '42501',
            CONSTRAINT = 'proxy_audit_log_direct_insert',
            TABLE = 'proxy_audit_log',
            SCHEMA = 'public';
  END IF;
  RETURN NEW;
END
$function$;

CREATE OR REPLACE FUNCTION private.peer_mentor_status_set_bookkeeping()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
BEGIN
  NEW.updated_at := now();
  NEW.updated_by := auth.uid();
  NEW.paused_at := CASE WHEN NEW.status = 'paused' THEN now() END;
  NEW.expected_return_date := CASE WHEN NEW.status = 'paused' THEN NEW.expected_return_date END;
  RETURN NEW;
END
$function$;

CREATE OR REPLACE FUNCTION private.peer_mentor_status_reject_no_change()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
BEGIN
  RAISE EXCEPTION 'peer mentor % is already %', OLD.peer_mentor_id, OLD.status
    USING ERRCODE = 'MD002', CONSTRAINT = 'peer_mentor_status_transition',
          HINT = 'pause an active mentor, resume a paused one';
END
$function$;

CREATE OR REPLACE FUNCTION private.peer_mentor_status_log_change()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
BEGIN
  INSERT INTO public.peer_mentor_status_log
    (status_id, peer_mentor_id, org_id, previous_status, new_status, reason, changed_by, changed_at)
  VALUES
    (NEW.id, NEW.peer_mentor_id, NEW.org_id,
     CASE WHEN TG_OP = 'UPDATE' THEN OLD.status ELSE 'active' END,
     NEW.status, NEW.reason, NEW.updated_by, NEW.updated_at);
  RETURN NULL;
END
$function$;

CREATE OR REPLACE FUNCTION private.peer_mentor_status_keep_logged()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
BEGIN
  IF (TG_OP = 'DELETE' OR NEW.id IS DISTINCT FROM OLD.id)
     AND EXISTS (SELECT 1 FROM public.peer_mentor_status_log AS l WHERE l.status_id = OLD.id) THEN
    RAISE EXCEPTION 'peer_mentor_status row % has log rows: it cannot be deleted or renumbered', OLD.id
      USING ERRCODE = '23503',
            CONSTRAINT = 'peer_mentor_status_keep_logged',
            TABLE = 'peer_mentor_status',
            SCHEMA = 'public';
  END IF;
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  RETURN NEW;
END
$function$;

CREATE OR REPLACE FUNCTION private.peer_mentor_status_log_guard()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
BEGIN
  IF pg_trigger_depth() < 2 OR NOT EXISTS (
    SELECT 1 FROM public.peer_mentor_status AS s
    WHERE s.id = NEW.status_id
      AND s.peer_mentor_id = NEW.peer_mentor_id
      AND s.org_id = NEW.org_id
      AND s.status = NEW.new_status
  ) THEN
    RAISE EXCEPTION 'peer_mentor_status_log rows are written only by a status change'
      USING ERRCODE = '42501', CONSTRAINT = 'peer_mentor_status_log_direct_insert';
  END IF;
  RETURN NEW;
END
$function$;

CREATE OR REPLACE FUNCTION private.peer_mentor_status_log_immutable()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
BEGIN
  RAISE EXCEPTION 'peer_mentor_status_log is append-only (% rejected)', TG_OP
    USING ERRCODE = 'MD005', CONSTRAINT = 'peer_mentor_status_log_immutable';
END
$function$;
