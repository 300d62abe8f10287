-- One constraint trigger and one org_members query per written activity for
-- both membership checks (PA-ORG-1, PA-ORG-3), instead of two of each.
--
-- Until now proxy_activities had two constraint triggers,
-- proxy_activities_coordinator_in_org_check (20261201000000_input_bounds)
-- and proxy_activities_mentor_in_org_check (20261121000000_proxy_activities),
-- each calling its own function, each function running its own query on
-- org_members. Every INSERT paid two trigger calls and two queries (each a
-- plan lookup, a snapshot and an executor start and stop in the SPI) for two
-- probes of the same primary key. Measured with EXPLAIN ANALYZE on a
-- 20,000-row insert, the two triggers took 24-27 us per row and the one
-- trigger 21-23 us: a small share of a request, smaller than the audit
-- trigger's or the foreign keys' (docs/benchmarks.md, Insert).
--
-- private.proxy_activities_check_members_in_org() does both checks in one
-- query and raises exactly what the two functions raised, in the order they
-- fired (triggers on one event fire in name order, and "coordinator" sorts
-- before "mentor"):
--   1. coordinator_id not a coordinator of org_id: SQLSTATE 23514,
--      CONSTRAINT proxy_activities_coordinator_in_org_check;
--   2. attributed_mentor_id not a peer_mentor of org_id: SQLSTATE 23514,
--      CONSTRAINT proxy_activities_mentor_in_org_check;
-- with the same messages, TABLE and SCHEMA. On UPDATE each membership is
-- checked only when its own column or org_id changed, as before, so a
-- mentor or coordinator who later leaves the org keeps their history and it
-- stays editable; when neither changed no query runs.
--
-- The trigger keeps the name proxy_activities_mentor_in_org_check: a
-- constraint trigger is a constraint, its name is in db's generated
-- constants, and every name there is one an error carries (DB-ERR-1); both
-- names still are. It fires AFTER INSERT OR UPDATE OF the union of the two
-- column lists, FOR EACH ROW, NOT DEFERRABLE, enabled in origin mode, as
-- both did: like them it does not fire under session_replication_role =
-- replica (20261201000300_owner_guarantees says why). Its place among the
-- other AFTER triggers is theirs: after the foreign keys'
-- (RI_ConstraintTrigger_*), before proxy_activities_write_audit.
--
-- SECURITY DEFINER with an empty search_path, as both functions were, for
-- their reason: the check must not depend on what the writer may read.

CREATE FUNCTION private.proxy_activities_check_members_in_org()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = ''
AS $$
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
$$;

REVOKE ALL ON FUNCTION private.proxy_activities_check_members_in_org() FROM PUBLIC;

DROP TRIGGER proxy_activities_coordinator_in_org_check ON public.proxy_activities;
DROP TRIGGER proxy_activities_mentor_in_org_check ON public.proxy_activities;

CREATE CONSTRAINT TRIGGER proxy_activities_mentor_in_org_check
  AFTER INSERT OR UPDATE OF attributed_mentor_id, coordinator_id, org_id ON public.proxy_activities
  FOR EACH ROW EXECUTE FUNCTION private.proxy_activities_check_members_in_org();

COMMENT ON TRIGGER proxy_activities_mentor_in_org_check ON public.proxy_activities IS
  'PA-ORG-3 then PA-ORG-1: coordinator_id holds coordinator and attributed_mentor_id holds peer_mentor in org_id (one query). Raises proxy_activities_coordinator_in_org_check or proxy_activities_mentor_in_org_check (23514). Not ENABLE ALWAYS: skipped under session_replication_role = replica.';

DROP FUNCTION private.proxy_activities_check_coordinator_in_org();
DROP FUNCTION private.proxy_activities_check_mentor_in_org();
