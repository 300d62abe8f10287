-- Input bounds (PA-IN-1, PS-IN-1) and the coordinator's membership on every
-- write path (PA-ORG-3).
--
-- Every text a caller writes ends up in storage nobody may shrink: each
-- UPDATE of an activity copies the whole row into proxy_audit_log, and each
-- pause copies its reason into peer_mentor_status_log, and both logs are
-- append-only. So each text has an upper bound, each date a window, and the
-- duration a maximum, chosen for what a Bufdir-reporting organisation
-- records (the reasons are beside each constraint).
--
-- Lengths are in characters (char_length), which is what a user sees in a
-- form; at most 4 bytes each in UTF-8, so the largest row stays a few kB.
--
-- Live databases: the CHECKs are added NOT VALID, which takes a brief
-- ACCESS EXCLUSIVE lock on each table and checks only new and updated rows;
-- 20261201000100_input_bounds_validate.sql validates existing rows under a
-- SHARE UPDATE EXCLUSIVE lock, which lets reads and writes go on. The two
-- cannot be one file because the runner runs each file in one transaction,
-- which would hold the ACCESS EXCLUSIVE lock for the whole scan.
--
-- Names (each maps to a typed error in package db, db.Constraint*):
--   constraint                                                     SQLSTATE
--   proxy_activities_activity_type_check          blank             23514
--   proxy_activities_activity_type_length_check   > 100 chars       23514
--   proxy_activities_notes_length_check           > 4000 chars      23514
--   proxy_activities_date_window_check            outside window    23514
--   proxy_activities_duration_minutes_max_check   > 1440            23514
--   proxy_activities_coordinator_in_org_check     constraint trigger 23514
--   recurring_activity_templates_activity_type_length_check         23514
--   recurring_activity_templates_title_length_check                 23514
--   recurring_activity_templates_recurrence_rule_length_check       23514
--   recurring_activity_templates_default_duration_minutes_max_check 23514
--   peer_mentor_status_reason_length_check        > 1000 chars      23514
--   peer_mentor_status_expected_return_window_check                 23514

-- ---------------------------------------------------------------------------
-- proxy_activities (PA-IN-1)
-- ---------------------------------------------------------------------------

-- A blank type cannot be reported to Bufdir (which counts activities per
-- type); templates already refuse one (recurring_activity_templates_activity_type_check).
ALTER TABLE public.proxy_activities
  ADD CONSTRAINT proxy_activities_activity_type_check
  CHECK (length(btrim(activity_type)) > 0) NOT VALID;

-- 100 characters: a type is a short label ("home_visit", "group_meeting");
-- the longest Bufdir category name is under 60 characters.
ALTER TABLE public.proxy_activities
  ADD CONSTRAINT proxy_activities_activity_type_length_check
  CHECK (char_length(activity_type) <= 100) NOT VALID;

-- 4000 characters: about a page of text, far more than a visit note needs,
-- and small enough that the audit log's copies stay bounded.
ALTER TABLE public.proxy_activities
  ADD CONSTRAINT proxy_activities_notes_length_check
  CHECK (char_length(notes) <= 4000) NOT VALID;

-- The activity date lies in [2000-01-01, one year after today (UTC)].
--   * 2000-01-01: no Bufdir reporting year an organisation still reports or
--     is audited for is older, and the bound refuses typing slips (0202),
--     BC dates and -infinity.
--   * one year ahead: recurring activities are planned at most a year
--     ahead (one reporting year); it refuses slips like 2062 and infinity.
-- now() in a CHECK is sound here because the bound only ever widens: a row
-- that passed stays valid as time goes on, so VALIDATE, a dump's restore and
-- any later UPDATE never refuse a row that was accepted. UTC, not the
-- session's TimeZone, so every session agrees on "today".
ALTER TABLE public.proxy_activities
  ADD CONSTRAINT proxy_activities_date_window_check
  CHECK (date >= DATE '2000-01-01'
         AND date <= ((now() AT TIME ZONE 'UTC') + interval '1 year')::date) NOT VALID;

-- 1440 minutes (24 hours) per activity: a visit, call or meeting is
-- registered per occasion, and an activity spanning days (a camp) is
-- registered once per day. A larger value is a slip (hours typed as
-- minutes several times over) that would inflate the Bufdir report.
ALTER TABLE public.proxy_activities
  ADD CONSTRAINT proxy_activities_duration_minutes_max_check
  CHECK (duration_minutes <= 1440) NOT VALID;

-- PA-ORG-3: coordinator_id holds the coordinator role in the row's org,
-- whoever writes. The INSERT policy checks it for signed-in users only;
-- service_role bypasses RLS, so this is a constraint trigger like
-- proxy_activities_mentor_in_org_check, and for the same reasons: a role is
-- part of org_members' key, not a column here, so no foreign key can say it;
-- SECURITY DEFINER so the check does not depend on what the writer may read.
-- Checked on INSERT and when the coordinator or org changes (both are
-- immutable after insert, see proxy_activities_*_immutable), so a
-- coordinator who later leaves the org keeps their activities and they stay
-- editable by service_role. A constraint trigger checks only the rows
-- written after it exists; rows written before it are not re-checked.
CREATE FUNCTION private.proxy_activities_check_coordinator_in_org()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = ''
AS $$
BEGIN
  IF TG_OP = 'UPDATE'
     AND NEW.coordinator_id = OLD.coordinator_id
     AND NEW.org_id = OLD.org_id THEN
    RETURN NULL;
  END IF;
  IF NOT EXISTS (
    SELECT 1 FROM public.org_members AS m
    WHERE m.org_id = NEW.org_id
      AND m.user_id = NEW.coordinator_id
      AND m.role = 'coordinator'
  ) THEN
    RAISE EXCEPTION 'coordinator % is not a coordinator of organization %',
      NEW.coordinator_id, NEW.org_id
      USING ERRCODE = '23514',
            CONSTRAINT = 'proxy_activities_coordinator_in_org_check',
            TABLE = 'proxy_activities',
            SCHEMA = 'public';
  END IF;
  RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION private.proxy_activities_check_coordinator_in_org() FROM PUBLIC;

CREATE CONSTRAINT TRIGGER proxy_activities_coordinator_in_org_check
  AFTER INSERT OR UPDATE OF coordinator_id, org_id ON public.proxy_activities
  FOR EACH ROW EXECUTE FUNCTION private.proxy_activities_check_coordinator_in_org();

-- ---------------------------------------------------------------------------
-- recurring_activity_templates (PA-IN-1: the template's text fields)
-- ---------------------------------------------------------------------------

-- The same bound as the activities' type, which a template's type becomes.
ALTER TABLE public.recurring_activity_templates
  ADD CONSTRAINT recurring_activity_templates_activity_type_length_check
  CHECK (char_length(activity_type) <= 100) NOT VALID;

-- 200 characters: a title is one line in a list.
ALTER TABLE public.recurring_activity_templates
  ADD CONSTRAINT recurring_activity_templates_title_length_check
  CHECK (char_length(title) <= 200) NOT VALID;

-- 500 characters: the longest useful RRULE (FREQ, INTERVAL, BYDAY with all
-- seven days, BYMONTH, UNTIL, ...) is under 200.
ALTER TABLE public.recurring_activity_templates
  ADD CONSTRAINT recurring_activity_templates_recurrence_rule_length_check
  CHECK (char_length(recurrence_rule) <= 500) NOT VALID;

-- The template's duration becomes an activity's: the same 24-hour bound.
ALTER TABLE public.recurring_activity_templates
  ADD CONSTRAINT recurring_activity_templates_default_duration_minutes_max_check
  CHECK (default_duration_minutes <= 1440) NOT VALID;

-- ---------------------------------------------------------------------------
-- peer_mentor_status (PS-IN-1)
-- ---------------------------------------------------------------------------

-- 1000 characters: a reason is a sentence or two ("parental leave until
-- August"); every pause copies it into the append-only status log, which
-- is therefore bounded by this too (the log has no constraint of its own:
-- its rows are immutable, so a VALIDATE that found an old long reason could
-- never be fixed).
ALTER TABLE public.peer_mentor_status
  ADD CONSTRAINT peer_mentor_status_reason_length_check
  CHECK (char_length(reason) <= 1000) NOT VALID;

-- The expected return date is not before the day of the pause and at most
-- 730 days (two years) after it: the longest planned absences a mentor
-- takes (parental leave of up to 59 weeks, a year of sick leave) fit with
-- room to spare; a longer absence is a resignation, not a pause. The day of
-- the pause is paused_at's UTC date, which the bookkeeping trigger sets
-- before this CHECK runs; UTC keeps the expression immutable (a return date
-- of today in Norway, ahead of UTC, always passes).
ALTER TABLE public.peer_mentor_status
  ADD CONSTRAINT peer_mentor_status_expected_return_window_check
  CHECK (expected_return_date >= (paused_at AT TIME ZONE 'UTC')::date
         AND expected_return_date <= (paused_at AT TIME ZONE 'UTC')::date + 730) NOT VALID;
