-- Proxy activities (issue 3): recurring activity templates, dual-attributed
-- proxy activities, and their append-only audit log.
--
-- Builds on 20261120000000_foundation: organizations, org_members(org_id,
-- user_id, role) and the helper private.org_ids_with_role(text[]).
--
-- Errors raised by the triggers below carry a constraint name, so the Go
-- package maps them by name (db.interpretError, db/proxy_activities.go):
--
--   constraint name                              SQLSTATE  raised by
--   proxy_activities_no_self_attribution_check   23514     CHECK
--   proxy_activities_duration_minutes_check      23514     CHECK
--   proxy_activities_mentor_in_org_check         23514     constraint trigger
--   proxy_activities_org_id_immutable            23514     BEFORE UPDATE trigger
--   proxy_activities_coordinator_id_immutable    23514     BEFORE UPDATE trigger
--   proxy_activities_template_same_org_fkey      23503     FOREIGN KEY
--   proxy_audit_log_immutable                    42501     trigger (every role)
--
-- No custom (class MD) SQLSTATE is introduced here: every failure has a
-- standard code, and the constraint name carries the specifics. Every name
-- raised by a trigger is also the name of that trigger (pg_trigger); the
-- mentor check is a CONSTRAINT TRIGGER, so its name is in pg_constraint too,
-- and it fires after the row's RLS WITH CHECK and CHECK constraints: a caller
-- whom RLS refuses learns nothing about other orgs' memberships from it. The
-- immutability guards run BEFORE UPDATE, so they win over every other check
-- (an UPDATE only reaches them for rows the caller may update at all).

-- ---------------------------------------------------------------------------
-- recurring_activity_templates
-- ---------------------------------------------------------------------------

-- Recurrence lives here, never in proxy_activities (whose is_recurring is a
-- plain flag). recurrence_rule is an RFC 5545 RRULE value, for example
-- 'FREQ=WEEKLY;BYDAY=TU', interpreted by the application.
CREATE TABLE public.recurring_activity_templates (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id uuid NOT NULL
    CONSTRAINT recurring_activity_templates_org_id_fkey
    REFERENCES public.organizations (id) ON DELETE RESTRICT,
  created_by uuid NOT NULL
    CONSTRAINT recurring_activity_templates_created_by_fkey
    REFERENCES auth.users (id) ON DELETE RESTRICT,
  activity_type text NOT NULL
    CONSTRAINT recurring_activity_templates_activity_type_check
    CHECK (length(btrim(activity_type)) > 0),
  title text NOT NULL
    CONSTRAINT recurring_activity_templates_title_check
    CHECK (length(btrim(title)) > 0),
  default_duration_minutes integer
    CONSTRAINT recurring_activity_templates_default_duration_minutes_check
    CHECK (default_duration_minutes > 0),
  recurrence_rule text
    CONSTRAINT recurring_activity_templates_recurrence_rule_check
    CHECK (recurrence_rule ~ '^[A-Z-]+=[^;=]+(;[A-Z-]+=[^;=]+)*$'
           AND recurrence_rule ~ '(^|;)FREQ=(SECONDLY|MINUTELY|HOURLY|DAILY|WEEKLY|MONTHLY|YEARLY)(;|$)'),
  created_at timestamptz NOT NULL DEFAULT now(),
  -- Target of proxy_activities' (template_id, org_id) foreign key, which is
  -- how "a template from another org cannot be referenced" is declarative.
  CONSTRAINT recurring_activity_templates_id_org_id_key UNIQUE (id, org_id)
);

CREATE INDEX recurring_activity_templates_org_id_idx
  ON public.recurring_activity_templates (org_id);
CREATE INDEX recurring_activity_templates_created_by_idx
  ON public.recurring_activity_templates (created_by);

ALTER TABLE public.recurring_activity_templates ENABLE ROW LEVEL SECURITY;

-- Coordinators of the org read and manage its templates; nobody else.
CREATE POLICY recurring_activity_templates_select_coordinator
  ON public.recurring_activity_templates
  FOR SELECT TO authenticated
  USING (org_id = ANY (ARRAY(SELECT private.org_ids_with_role(ARRAY['coordinator']))));

CREATE POLICY recurring_activity_templates_insert_coordinator
  ON public.recurring_activity_templates
  FOR INSERT TO authenticated
  WITH CHECK (
    created_by = (SELECT auth.uid())
    AND org_id = ANY (ARRAY(SELECT private.org_ids_with_role(ARRAY['coordinator'])))
  );

CREATE POLICY recurring_activity_templates_update_coordinator
  ON public.recurring_activity_templates
  FOR UPDATE TO authenticated
  USING (org_id = ANY (ARRAY(SELECT private.org_ids_with_role(ARRAY['coordinator']))))
  WITH CHECK (org_id = ANY (ARRAY(SELECT private.org_ids_with_role(ARRAY['coordinator']))));

CREATE POLICY recurring_activity_templates_delete_coordinator
  ON public.recurring_activity_templates
  FOR DELETE TO authenticated
  USING (org_id = ANY (ARRAY(SELECT private.org_ids_with_role(ARRAY['coordinator']))));

-- A template's org and author are fixed once it exists: coordinators may edit
-- only its content, so nobody can re-attribute another coordinator's template.
GRANT SELECT, INSERT, DELETE ON public.recurring_activity_templates TO authenticated;
GRANT UPDATE (activity_type, title, default_duration_minutes, recurrence_rule)
  ON public.recurring_activity_templates TO authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.recurring_activity_templates TO service_role;

-- ---------------------------------------------------------------------------
-- proxy_activities
-- ---------------------------------------------------------------------------

-- =====================================================================
-- DUAL ATTRIBUTION: every proxy activity names two different people.
--
--   coordinator_id        WHO REGISTERED IT. The coordinator who entered
--                         the activity on a mentor's behalf. Drives
--                         accountability, the audit trail and access
--                         control: RLS lets only this coordinator update
--                         or delete the row, and it can never change.
--
--   attributed_mentor_id  WHO DID IT. The peer mentor the activity is
--                         credited to. Drives Bufdir subsidy reporting:
--                         every report aggregates by this column and never
--                         by coordinator_id. Must hold the peer_mentor role
--                         in the row's org (checked in the database by the
--                         constraint trigger proxy_activities_mentor_in_org_check
--                         and pre-checked by the Go repository).
--
-- The two are never conflated, swapped, or equal: CHECK
-- proxy_activities_no_self_attribution_check forbids a coordinator
-- crediting an activity to themselves, on INSERT and on every UPDATE.
-- Both reference auth.users ON DELETE RESTRICT: deleting either person
-- would orphan an attribution Bufdir has been (or will be) paid for.
--
-- Audit dependency: every INSERT, UPDATE and DELETE writes one row to
-- proxy_audit_log (trigger proxy_activities_write_audit, same transaction).
-- =====================================================================
CREATE TABLE public.proxy_activities (
  -- The default is not in the seed's column list; a primary key without one
  -- would make every client (supabase-js included) invent ids.
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  coordinator_id uuid NOT NULL
    CONSTRAINT proxy_activities_coordinator_id_fkey
    REFERENCES auth.users (id) ON DELETE RESTRICT,
  attributed_mentor_id uuid NOT NULL
    CONSTRAINT proxy_activities_attributed_mentor_id_fkey
    REFERENCES auth.users (id) ON DELETE RESTRICT,
  org_id uuid NOT NULL
    CONSTRAINT proxy_activities_org_id_fkey
    REFERENCES public.organizations (id) ON DELETE RESTRICT,
  activity_type text NOT NULL,
  date date NOT NULL,
  duration_minutes integer NOT NULL
    CONSTRAINT proxy_activities_duration_minutes_check CHECK (duration_minutes > 0),
  notes text,
  -- A plain flag: recurrence itself is modelled in recurring_activity_templates.
  is_recurring boolean NOT NULL DEFAULT false,
  template_id uuid
    CONSTRAINT proxy_activities_template_id_fkey
    REFERENCES public.recurring_activity_templates (id) ON DELETE SET NULL,
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now(),
  CONSTRAINT proxy_activities_no_self_attribution_check
    CHECK (coordinator_id <> attributed_mentor_id),
  -- Same-org templates (PA-ORG-2), declaratively: (template_id, org_id) must
  -- be a template of this org. MATCH SIMPLE, so a NULL template_id is not
  -- checked; deleting the template nulls only template_id (PostgreSQL 15
  -- column list), never org_id. It also blocks moving a referenced template
  -- to another org. The single-column key above is the seed's literal FK and
  -- fires first, so an unknown template is a plain foreign-key error and a
  -- known template of another org is this constraint.
  CONSTRAINT proxy_activities_template_same_org_fkey
    FOREIGN KEY (template_id, org_id)
    REFERENCES public.recurring_activity_templates (id, org_id)
    ON DELETE SET NULL (template_id)
);

COMMENT ON TABLE public.proxy_activities IS
  'Activities a coordinator registered on behalf of a peer mentor. Dual attribution: coordinator_id (accountability, audit, access control) and attributed_mentor_id (Bufdir reporting) are different people and are never conflated.';
COMMENT ON COLUMN public.proxy_activities.coordinator_id IS
  'Who registered the activity: the coordinator accountable for it. Drives audit and access control (RLS); immutable after insert. Never used for Bufdir reporting.';
COMMENT ON COLUMN public.proxy_activities.attributed_mentor_id IS
  'Who the activity is credited to: a peer_mentor of org_id. Drives Bufdir subsidy reporting. Never equal to coordinator_id.';

-- Indexes.
-- The seed's six:
CREATE INDEX proxy_activities_org_id_idx ON public.proxy_activities (org_id);
CREATE INDEX proxy_activities_coordinator_id_idx ON public.proxy_activities (coordinator_id);
CREATE INDEX proxy_activities_attributed_mentor_id_idx ON public.proxy_activities (attributed_mentor_id);
CREATE INDEX proxy_activities_date_idx ON public.proxy_activities (date DESC);
CREATE INDEX proxy_activities_org_id_attributed_mentor_id_idx
  ON public.proxy_activities (org_id, attributed_mentor_id);
-- created_at is stamped by the server (trigger below), so it follows
-- insertion order and a BRIN summary stays tight.
CREATE INDEX proxy_activities_created_at_brin_idx
  ON public.proxy_activities USING brin (created_at);
-- Foreign keys: org_id, coordinator_id and attributed_mentor_id lead the
-- indexes above. Both template keys lead with template_id; rows without a
-- template are never looked up by it, so the index is partial.
CREATE INDEX proxy_activities_template_id_org_id_idx
  ON public.proxy_activities (template_id, org_id)
  WHERE template_id IS NOT NULL;
-- Reporting and listing, one index for both (PA-PLAN-1). With 100,000 rows
-- per org interleaved among other orgs' rows, the seed's (org_id,
-- attributed_mentor_id) index reaches every row of the org regardless of the
-- period and then visits a heap page per row. This one starts at the org and
-- the period's end and reads only that range:
--   * the Bufdir report (per attributed mentor, count, minutes, per
--     activity_type) needs nothing but the key and INCLUDE columns, so it is
--     an index-only scan;
--   * the org listing is ordered by (date DESC, id DESC) and pages by keyset
--     on exactly those columns, so it is an index scan with no sort.
-- The RLS SELECT policy's org_id = ANY (ARRAY(...)) is an index condition on
-- the leading column, so the report is as fast without an explicit org filter.
CREATE INDEX proxy_activities_org_id_date_id_idx
  ON public.proxy_activities (org_id, date DESC, id DESC)
  INCLUDE (attributed_mentor_id, activity_type, duration_minutes);

-- Timestamps are the server's. On INSERT both are the transaction time. On
-- every UPDATE updated_at moves forward strictly: now() is the transaction's
-- start, so two updates of one row in one transaction would otherwise leave it
-- unchanged; greatest(now(), previous + 1 microsecond) keeps the Supabase
-- convention (a transaction's writes share its timestamp) and still changes
-- on every UPDATE. created_at cannot be rewritten.
CREATE FUNCTION private.proxy_activities_set_timestamps()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
AS $$
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
$$;

CREATE TRIGGER proxy_activities_set_timestamps
  BEFORE INSERT OR UPDATE ON public.proxy_activities
  FOR EACH ROW EXECUTE FUNCTION private.proxy_activities_set_timestamps();

-- PA-ORG-1: the attributed mentor holds peer_mentor in the row's org. A
-- foreign key cannot say it (the role is part of org_members' key and is not
-- a column here). SECURITY DEFINER because the caller may not see the roster
-- (peer mentors, service jobs acting for a user) and the check must not
-- depend on it. Checked on INSERT and when the mentor (or org) changes, so a
-- mentor who later leaves the org keeps their history and it stays editable.
CREATE FUNCTION private.proxy_activities_check_mentor_in_org()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = ''
AS $$
BEGIN
  IF TG_OP = 'UPDATE'
     AND NEW.attributed_mentor_id = OLD.attributed_mentor_id
     AND NEW.org_id = OLD.org_id THEN
    RETURN NULL;
  END IF;
  IF NOT EXISTS (
    SELECT 1 FROM public.org_members AS m
    WHERE m.org_id = NEW.org_id
      AND m.user_id = NEW.attributed_mentor_id
      AND m.role = 'peer_mentor'
  ) THEN
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

CREATE CONSTRAINT TRIGGER proxy_activities_mentor_in_org_check
  AFTER INSERT OR UPDATE OF attributed_mentor_id, org_id ON public.proxy_activities
  FOR EACH ROW EXECUTE FUNCTION private.proxy_activities_check_mentor_in_org();

-- PA-RLS-3 for every role: a row never moves to another org and never changes
-- its coordinator. The RLS UPDATE policy's WITH CHECK refuses most of it for
-- authenticated too; these also cover service_role, moves between two orgs
-- the caller coordinates, and give one typed error whichever role tries.
-- BEFORE, so they fire ahead of the foreign keys (a moved row's template is
-- of the wrong org too) and of WITH CHECK. TG_ARGV[0] names the column; the
-- trigger's name is the constraint reported.
CREATE FUNCTION private.proxy_activities_guard_immutable()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
AS $$
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
$$;

CREATE TRIGGER proxy_activities_org_id_immutable
  BEFORE UPDATE OF org_id ON public.proxy_activities
  FOR EACH ROW EXECUTE FUNCTION private.proxy_activities_guard_immutable('org_id');

CREATE TRIGGER proxy_activities_coordinator_id_immutable
  BEFORE UPDATE OF coordinator_id ON public.proxy_activities
  FOR EACH ROW EXECUTE FUNCTION private.proxy_activities_guard_immutable('coordinator_id');

ALTER TABLE public.proxy_activities ENABLE ROW LEVEL SECURITY;

-- Policies check membership rows through private.org_ids_with_role, never
-- the JWT's user_metadata. The org test is written
-- org_id = ANY (ARRAY(SELECT ...)): one initPlan per statement, and an index
-- condition on every index that leads with org_id.
CREATE POLICY proxy_activities_select_coordinator ON public.proxy_activities
  FOR SELECT TO authenticated
  USING (org_id = ANY (ARRAY(SELECT private.org_ids_with_role(ARRAY['coordinator']))));

CREATE POLICY proxy_activities_insert_own ON public.proxy_activities
  FOR INSERT TO authenticated
  WITH CHECK (
    coordinator_id = (SELECT auth.uid())
    AND org_id = ANY (ARRAY(SELECT private.org_ids_with_role(ARRAY['coordinator'])))
  );

CREATE POLICY proxy_activities_update_own ON public.proxy_activities
  FOR UPDATE TO authenticated
  USING (
    coordinator_id = (SELECT auth.uid())
    AND org_id = ANY (ARRAY(SELECT private.org_ids_with_role(ARRAY['coordinator'])))
  )
  WITH CHECK (
    coordinator_id = (SELECT auth.uid())
    AND org_id = ANY (ARRAY(SELECT private.org_ids_with_role(ARRAY['coordinator'])))
  );

CREATE POLICY proxy_activities_delete_own ON public.proxy_activities
  FOR DELETE TO authenticated
  USING (
    coordinator_id = (SELECT auth.uid())
    AND org_id = ANY (ARRAY(SELECT private.org_ids_with_role(ARRAY['coordinator'])))
  );

GRANT SELECT, INSERT, UPDATE, DELETE ON public.proxy_activities TO authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.proxy_activities TO service_role;

-- ---------------------------------------------------------------------------
-- proxy_audit_log
-- ---------------------------------------------------------------------------

-- Append-only. activity_id and org_id carry no foreign keys so the log
-- outlives the activities (and their deletion) it records. actor is
-- auth.uid() (NULL for service_role and direct database sessions);
-- actor_role is the request's role claim (NULL outside an API request).
CREATE TABLE public.proxy_audit_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  activity_id uuid NOT NULL,
  org_id uuid NOT NULL,
  actor uuid,
  actor_role text,
  action text NOT NULL
    CONSTRAINT proxy_audit_log_action_check CHECK (action IN ('INSERT', 'UPDATE', 'DELETE')),
  old_row jsonb,
  new_row jsonb,
  at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX proxy_audit_log_activity_id_idx ON public.proxy_audit_log (activity_id, id);
CREATE INDEX proxy_audit_log_org_id_at_idx ON public.proxy_audit_log (org_id, at DESC);

-- Written only by this trigger, in the writing transaction. SECURITY DEFINER
-- (owner: the migration role) so that no API role needs INSERT on the log:
-- granting INSERT to authenticated would let any signed-in user forge audit
-- rows through PostgREST, and the log's RLS would have to trust them.
CREATE FUNCTION private.proxy_activities_write_audit()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = ''
AS $$
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
$$;

-- AFTER, so the snapshot is the row as stored (timestamps included).
CREATE TRIGGER proxy_activities_write_audit
  AFTER INSERT OR UPDATE OR DELETE ON public.proxy_activities
  FOR EACH ROW EXECUTE FUNCTION private.proxy_activities_write_audit();

-- PA-AUD-2: rows are never updated, deleted or truncated, by any role.
-- service_role and the owner bypass RLS and privileges, so this is a trigger;
-- ENABLE ALWAYS makes it fire under session_replication_role = replica too.
-- (Only a superuser or the owner could drop or disable it, which is DDL and
-- visible in the migration history.)
CREATE FUNCTION private.proxy_audit_log_reject_change()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
  RAISE EXCEPTION 'proxy_audit_log is append-only: % is not allowed', TG_OP
    USING ERRCODE = '42501',
          CONSTRAINT = 'proxy_audit_log_immutable',
          TABLE = 'proxy_audit_log',
          SCHEMA = 'public';
END
$$;

CREATE TRIGGER proxy_audit_log_immutable
  BEFORE UPDATE OR DELETE ON public.proxy_audit_log
  FOR EACH ROW EXECUTE FUNCTION private.proxy_audit_log_reject_change();

CREATE TRIGGER proxy_audit_log_immutable_truncate
  BEFORE TRUNCATE ON public.proxy_audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION private.proxy_audit_log_reject_change();

ALTER TABLE public.proxy_audit_log ENABLE ALWAYS TRIGGER proxy_audit_log_immutable;
ALTER TABLE public.proxy_audit_log ENABLE ALWAYS TRIGGER proxy_audit_log_immutable_truncate;

ALTER TABLE public.proxy_audit_log ENABLE ROW LEVEL SECURITY;

CREATE POLICY proxy_audit_log_select_coordinator ON public.proxy_audit_log
  FOR SELECT TO authenticated
  USING (org_id = ANY (ARRAY(SELECT private.org_ids_with_role(ARRAY['coordinator']))));

-- Read-only for the API roles; the trigger above is the only writer.
GRANT SELECT ON public.proxy_audit_log TO authenticated, service_role;

-- Trigger functions are never called directly; nobody needs EXECUTE.
REVOKE ALL ON FUNCTION private.proxy_activities_set_timestamps() FROM PUBLIC;
REVOKE ALL ON FUNCTION private.proxy_activities_check_mentor_in_org() FROM PUBLIC;
REVOKE ALL ON FUNCTION private.proxy_activities_guard_immutable() FROM PUBLIC;
REVOKE ALL ON FUNCTION private.proxy_activities_write_audit() FROM PUBLIC;
REVOKE ALL ON FUNCTION private.proxy_audit_log_reject_change() FROM PUBLIC;
