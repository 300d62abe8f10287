-- Every private trigger function runs only on its own table, the two logs
-- accept a row only from their own writer, and TRUNCATE of proxy_activities
-- is refused for every role (PS-LOG-2, PA-AUD-1, PA-AUD-2, PS-LOG-1).
--
-- Why. A trigger function can be attached to any table whose owner may
-- execute it. A role that may create a temporary table (PUBLIC holds TEMP on
-- the database) and execute one of these functions could attach it to its
-- own temporary table and fire it there: the SECURITY DEFINER writers
-- (proxy_activities_write_audit, peer_mentor_status_log_change) would write
-- forged audit or log rows with the owner's rights, and the membership check
-- (proxy_activities_check_members_in_org) would answer whether any user
-- holds any role in any org. The API roles hold no EXECUTE on them today (the
-- suite TriggerScope proves it); the table owner does, and for the owner a
-- temporary table and trigger count as DDL: the checks below make that DDL
-- fail where PostgreSQL lets a function tell where it runs.
--
--   * Every trigger function in schema private first compares TG_RELID with
--     the one table it was written for and otherwise raises
--       SQLSTATE  constraint                     meaning
--       MD006     trigger_function_wrong_table   a private trigger function fired
--                                                on a table that is not its own
--     before it reads or writes anything.
--   * The log guards (proxy_audit_log_guard_insert,
--     peer_mentor_status_log_guard) used to accept any insert made at trigger
--     depth 2 or more, i.e. from ANY trigger, one on a temporary table
--     included. They now read PostgreSQL's call stack (GET DIAGNOSTICS
--     PG_CONTEXT) and accept a row only when the statement just below them is
--     the one INSERT of their writer function, run by that function
--     (schema-qualified: a function of the same name in another schema prints
--     another name). With the first check, that writer ran as a trigger on its
--     own table. The writers' INSERT statements are rewritten on one line for
--     that comparison; they write the same columns and values as before.
--   * proxy_activities_no_truncate (BEFORE TRUNCATE, ENABLE ALWAYS) refuses
--     TRUNCATE of proxy_activities, also through TRUNCATE ... CASCADE of a
--     table it references, for every role, the owner and replica mode
--     included: TRUNCATE fires no row trigger, so it would remove activities
--     without the DELETE audit rows PA-AUD-1 promises. The API roles hold no
--     TRUNCATE grant; this stops the owner. 42501, constraint
--     proxy_activities_no_truncate.
--
-- What still does not hold for the owner (PS-LOG-2): its DDL on the
-- persistent objects (DISABLE/DROP TRIGGER, or CREATE OR REPLACE of these
-- functions, which it owns) undoes every check above, as the header of
-- 20261201000300_owner_guarantees.sql says; and a function it writes cannot
-- be told from the real writer by anything but its schema-qualified name and
-- the text of its INSERT, which only persistent DDL in schema private can
-- reproduce.
--
-- The API roles' EXECUTE is unchanged: none on these functions (PUBLIC's
-- default is revoked where each was created).

CREATE OR REPLACE FUNCTION private.proxy_activities_set_timestamps()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
  IF TG_RELID IS DISTINCT FROM 'public.proxy_activities'::regclass THEN
    RAISE EXCEPTION '% runs only on public.proxy_activities, not on %.%', TG_NAME, TG_TABLE_SCHEMA, TG_TABLE_NAME
      USING ERRCODE = 'MD006', CONSTRAINT = 'trigger_function_wrong_table';
  END IF;
  IF TG_OP = 'INSERT' THEN
    NEW.created_at := now();
    NEW.updated_at := NEW.created_at;
  ELSE
    NEW.created_at := OLD.created_at;
    NEW.updated_at := greatest(now(), OLD.updated_at + interval '1 microsecond');
  END IF;
  RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION private.proxy_activities_guard_immutable()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
  IF TG_RELID IS DISTINCT FROM 'public.proxy_activities'::regclass THEN
    RAISE EXCEPTION '% runs only on public.proxy_activities, not on %.%', TG_NAME, TG_TABLE_SCHEMA, TG_TABLE_NAME
      USING ERRCODE = 'MD006', CONSTRAINT = 'trigger_function_wrong_table';
  END IF;
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
$$;

CREATE OR REPLACE FUNCTION private.proxy_activities_write_audit()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = ''
AS $$
BEGIN
  IF TG_RELID IS DISTINCT FROM 'public.proxy_activities'::regclass THEN
    RAISE EXCEPTION '% runs only on public.proxy_activities, not on %.%', TG_NAME, TG_TABLE_SCHEMA, TG_TABLE_NAME
      USING ERRCODE = 'MD006', CONSTRAINT = 'trigger_function_wrong_table';
  END IF;
  -- One statement, kept on one line: proxy_audit_log_guard_insert accepts
  -- a row only when PostgreSQL's call stack shows this text run by this
  -- function.
  INSERT INTO public.proxy_audit_log (activity_id, org_id, actor, actor_role, action, old_row, new_row) VALUES (coalesce(NEW.id, OLD.id), coalesce(NEW.org_id, OLD.org_id), auth.uid(), auth.role(), TG_OP, to_jsonb(OLD), to_jsonb(NEW));
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION private.proxy_activities_check_members_in_org()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
  v_coordinator_ok boolean;
  v_mentor_ok boolean;
BEGIN
  IF TG_RELID IS DISTINCT FROM 'public.proxy_activities'::regclass THEN
    RAISE EXCEPTION '% runs only on public.proxy_activities, not on %.%', TG_NAME, TG_TABLE_SCHEMA, TG_TABLE_NAME
      USING ERRCODE = 'MD006', CONSTRAINT = 'trigger_function_wrong_table';
  END IF;
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
$$;

CREATE OR REPLACE FUNCTION private.proxy_audit_log_reject_change()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
  IF TG_RELID IS DISTINCT FROM 'public.proxy_audit_log'::regclass THEN
    RAISE EXCEPTION '% runs only on public.proxy_audit_log, not on %.%', TG_NAME, TG_TABLE_SCHEMA, TG_TABLE_NAME
      USING ERRCODE = 'MD006', CONSTRAINT = 'trigger_function_wrong_table';
  END IF;
  RAISE EXCEPTION 'proxy_audit_log is append-only: % is not allowed', TG_OP
    USING ERRCODE = '42501',
          CONSTRAINT = 'proxy_audit_log_immutable',
          TABLE = 'proxy_audit_log',
          SCHEMA = 'public';
END
$$;

CREATE OR REPLACE FUNCTION private.proxy_audit_log_guard_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
  v_context text;
BEGIN
  IF TG_RELID IS DISTINCT FROM 'public.proxy_audit_log'::regclass THEN
    RAISE EXCEPTION '% runs only on public.proxy_audit_log, not on %.%', TG_NAME, TG_TABLE_SCHEMA, TG_TABLE_NAME
      USING ERRCODE = 'MD006', CONSTRAINT = 'trigger_function_wrong_table';
  END IF;
  GET DIAGNOSTICS v_context = PG_CONTEXT;
  -- The stack below this guard's own frame (its first line): the INSERT,
  -- then the function that ran it.
  IF NOT starts_with(substr(v_context, strpos(v_context, E'\n') + 1),
      'SQL statement "INSERT INTO public.proxy_audit_log (activity_id, org_id, actor, actor_role, action, old_row, new_row) VALUES (coalesce(NEW.id, OLD.id), coalesce(NEW.org_id, OLD.org_id), auth.uid(), auth.role(), TG_OP, to_jsonb(OLD), to_jsonb(NEW))"' || E'\n'
      || 'PL/pgSQL function private.proxy_activities_write_audit() line ') THEN
    RAISE EXCEPTION 'proxy_audit_log rows are written only by the audit trigger of proxy_activities'
      USING ERRCODE = '42501',
            CONSTRAINT = 'proxy_audit_log_direct_insert',
            TABLE = 'proxy_audit_log',
            SCHEMA = 'public';
  END IF;
  RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION private.peer_mentor_status_set_bookkeeping()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
  IF TG_RELID IS DISTINCT FROM 'public.peer_mentor_status'::regclass THEN
    RAISE EXCEPTION '% runs only on public.peer_mentor_status, not on %.%', TG_NAME, TG_TABLE_SCHEMA, TG_TABLE_NAME
      USING ERRCODE = 'MD006', CONSTRAINT = 'trigger_function_wrong_table';
  END IF;
  NEW.updated_at := now();
  NEW.updated_by := auth.uid();
  NEW.paused_at := CASE WHEN NEW.status = 'paused' THEN now() END;
  NEW.expected_return_date := CASE WHEN NEW.status = 'paused' THEN NEW.expected_return_date END;
  RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION private.peer_mentor_status_reject_no_change()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
  IF TG_RELID IS DISTINCT FROM 'public.peer_mentor_status'::regclass THEN
    RAISE EXCEPTION '% runs only on public.peer_mentor_status, not on %.%', TG_NAME, TG_TABLE_SCHEMA, TG_TABLE_NAME
      USING ERRCODE = 'MD006', CONSTRAINT = 'trigger_function_wrong_table';
  END IF;
  RAISE EXCEPTION 'peer mentor % is already %', OLD.peer_mentor_id, OLD.status
    USING ERRCODE = 'MD002', CONSTRAINT = 'peer_mentor_status_transition',
          HINT = 'pause an active mentor, resume a paused one';
END
$$;

CREATE OR REPLACE FUNCTION private.peer_mentor_status_log_change()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = ''
AS $$
BEGIN
  IF TG_RELID IS DISTINCT FROM 'public.peer_mentor_status'::regclass THEN
    RAISE EXCEPTION '% runs only on public.peer_mentor_status, not on %.%', TG_NAME, TG_TABLE_SCHEMA, TG_TABLE_NAME
      USING ERRCODE = 'MD006', CONSTRAINT = 'trigger_function_wrong_table';
  END IF;
  -- One statement, kept on one line: peer_mentor_status_log_guard accepts
  -- a row only when PostgreSQL's call stack shows this text run by this
  -- function.
  INSERT INTO public.peer_mentor_status_log (status_id, peer_mentor_id, org_id, previous_status, new_status, reason, changed_by, changed_at) VALUES (NEW.id, NEW.peer_mentor_id, NEW.org_id, coalesce(OLD.status, 'active'), NEW.status, NEW.reason, NEW.updated_by, NEW.updated_at);
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION private.peer_mentor_status_keep_logged()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
  IF TG_RELID IS DISTINCT FROM 'public.peer_mentor_status'::regclass THEN
    RAISE EXCEPTION '% runs only on public.peer_mentor_status, not on %.%', TG_NAME, TG_TABLE_SCHEMA, TG_TABLE_NAME
      USING ERRCODE = 'MD006', CONSTRAINT = 'trigger_function_wrong_table';
  END IF;
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
$$;

CREATE OR REPLACE FUNCTION private.peer_mentor_status_log_guard()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
  v_context text;
BEGIN
  IF TG_RELID IS DISTINCT FROM 'public.peer_mentor_status_log'::regclass THEN
    RAISE EXCEPTION '% runs only on public.peer_mentor_status_log, not on %.%', TG_NAME, TG_TABLE_SCHEMA, TG_TABLE_NAME
      USING ERRCODE = 'MD006', CONSTRAINT = 'trigger_function_wrong_table';
  END IF;
  GET DIAGNOSTICS v_context = PG_CONTEXT;
  -- The stack below this guard's own frame (its first line): the INSERT,
  -- then the function that ran it.
  IF NOT starts_with(substr(v_context, strpos(v_context, E'\n') + 1),
      'SQL statement "INSERT INTO public.peer_mentor_status_log (status_id, peer_mentor_id, org_id, previous_status, new_status, reason, changed_by, changed_at) VALUES (NEW.id, NEW.peer_mentor_id, NEW.org_id, coalesce(OLD.status, ''active''), NEW.status, NEW.reason, NEW.updated_by, NEW.updated_at)"' || E'\n'
      || 'PL/pgSQL function private.peer_mentor_status_log_change() line ') THEN
    RAISE EXCEPTION 'peer_mentor_status_log rows are written only by a status change'
      USING ERRCODE = '42501', CONSTRAINT = 'peer_mentor_status_log_direct_insert';
  END IF;
  RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION private.peer_mentor_status_log_immutable()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
  IF TG_RELID IS DISTINCT FROM 'public.peer_mentor_status_log'::regclass THEN
    RAISE EXCEPTION '% runs only on public.peer_mentor_status_log, not on %.%', TG_NAME, TG_TABLE_SCHEMA, TG_TABLE_NAME
      USING ERRCODE = 'MD006', CONSTRAINT = 'trigger_function_wrong_table';
  END IF;
  RAISE EXCEPTION 'peer_mentor_status_log is append-only (% rejected)', TG_OP
    USING ERRCODE = 'MD005', CONSTRAINT = 'peer_mentor_status_log_immutable';
END
$$;

-- ---------------------------------------------------------------------------
-- proxy_activities: no TRUNCATE
-- ---------------------------------------------------------------------------

CREATE FUNCTION private.proxy_activities_refuse_truncate()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
  IF TG_RELID IS DISTINCT FROM 'public.proxy_activities'::regclass THEN
    RAISE EXCEPTION '% runs only on public.proxy_activities, not on %.%', TG_NAME, TG_TABLE_SCHEMA, TG_TABLE_NAME
      USING ERRCODE = 'MD006', CONSTRAINT = 'trigger_function_wrong_table';
  END IF;
  RAISE EXCEPTION 'proxy_activities cannot be truncated: delete its rows, so that each deletion is audited'
    USING ERRCODE = '42501',
          CONSTRAINT = 'proxy_activities_no_truncate',
          TABLE = 'proxy_activities',
          SCHEMA = 'public';
END
$$;

REVOKE ALL ON FUNCTION private.proxy_activities_refuse_truncate() FROM PUBLIC;

CREATE TRIGGER proxy_activities_no_truncate
  BEFORE TRUNCATE ON public.proxy_activities
  FOR EACH STATEMENT EXECUTE FUNCTION private.proxy_activities_refuse_truncate();
ALTER TABLE public.proxy_activities ENABLE ALWAYS TRIGGER proxy_activities_no_truncate;

-- ---------------------------------------------------------------------------
-- Comments: what holds, for whom
-- ---------------------------------------------------------------------------

COMMENT ON TRIGGER proxy_activities_no_truncate ON public.proxy_activities IS
  'PA-AUD-1, PS-LOG-2: TRUNCATE (direct or by CASCADE) is refused for every role, the owner and replica mode included (ENABLE ALWAYS), because it would remove activities without DELETE audit rows. Not against the owner''s DDL.';
COMMENT ON TABLE public.proxy_audit_log IS
  'Append-only audit of proxy_activities, written only by its audit trigger. No role''s DML can update, delete or truncate rows (ENABLE ALWAYS triggers: the owner and replica mode included), nor insert them outside session_replication_role = replica; a row is accepted only from the INSERT of private.proxy_activities_write_audit firing on proxy_activities, not from a trigger on any other table. Not protected against the owner''s DDL on persistent objects (DISABLE/DROP TRIGGER, replacing the functions). The owner''s writes to proxy_activities in replica mode are not audited.';
COMMENT ON TABLE public.peer_mentor_status_log IS
  'One immutable row per peer_mentor_status change, written only by private.peer_mentor_status_log_change firing on peer_mentor_status (not by a trigger on any other table). No role''s DML can insert, update, delete or truncate rows (ENABLE ALWAYS triggers: the owner and replica mode included); not against the owner''s DDL on persistent objects. Its foreign keys to auth.users and organizations do not fire in replica mode.';
