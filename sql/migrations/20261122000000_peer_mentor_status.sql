-- Peer-mentor pause status (issue 4): the tables and the triggers that make
-- their invariants hold for every role. RLS, grants and the RPCs come in
-- 20261122000100_pause_rls_and_rpcs.sql; until then RLS is enabled with no
-- policy and nothing is granted, so the API roles can neither read nor write
-- (there is no window between the two files).
--
-- Model
--   peer_mentor_status      one row per (peer_mentor_id, org_id). A mentor
--                           without a row is active: the first pause creates
--                           the row (activate_pause upserts).
--   peer_mentor_status_log  one immutable row per status change.
--
-- PS-LOG-1: "every status change has exactly one log row and every log row a
-- status change", by ANY path (RPCs, a direct table write through the Data
-- API, a forged log insert, service_role, the table owner). The pairing is
-- therefore enforced here by triggers, not by the callers:
--   * the log row is written by an AFTER trigger on peer_mentor_status, in the
--     same statement as the status change, so the two commit or fail together
--     (a failing log insert aborts the statement that changed the status);
--   * an UPDATE that does not change the status is rejected (MD002), so no
--     write can touch a status row without producing a log row;
--   * inserting into the log directly is rejected: the API roles have no
--     INSERT grant (42501), and a guard trigger rejects any insert that does
--     not come from the status trigger and match the status row it describes
--     (this stops the owner and service_role as well);
--   * log rows cannot be updated, deleted or truncated by any role.
-- All these triggers are ENABLE ALWAYS, so session_replication_role = replica
-- does not switch them off either.
--
-- Errors raised here and in the RPCs (custom SQLSTATEs use class MD; every
-- RAISE sets CONSTRAINT so db.interpretError maps it by name):
--   SQLSTATE  constraint                               meaning
--   MD001     peer_mentor_status_org_mismatch          the mentor is not a peer_mentor of the
--                                                      organization_id claim's org
--   MD002     peer_mentor_status_transition            pausing a paused / resuming an active mentor
--                                                      (and any update that does not change status)
--   MD003     peer_mentor_status_unknown_mentor        no status row for that mentor in that org
--   MD004     peer_mentor_status_org_claim             organization_id claim missing or not a uuid
--   MD005     peer_mentor_status_log_immutable         UPDATE/DELETE/TRUNCATE of the log
--   42501     peer_mentor_status_not_permitted         caller is neither the mentor nor a
--                                                      coordinator of the claim's org
--   42501     peer_mentor_status_log_direct_insert     a log row not written by the status trigger
--
-- Foreign keys are ON DELETE RESTRICT: the log is an audit trail, so users,
-- orgs and status rows it refers to cannot disappear under it.

CREATE TABLE public.peer_mentor_status (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  peer_mentor_id uuid NOT NULL
    CONSTRAINT peer_mentor_status_peer_mentor_id_fkey REFERENCES auth.users (id) ON DELETE RESTRICT,
  org_id uuid NOT NULL
    CONSTRAINT peer_mentor_status_org_id_fkey REFERENCES public.organizations (id) ON DELETE RESTRICT,
  status text NOT NULL DEFAULT 'active'
    CONSTRAINT peer_mentor_status_status_check CHECK (status IN ('active', 'paused')),
  reason text,
  paused_at timestamptz,
  expected_return_date date,
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- NULL only for a change made outside a user request (owner, service_role).
  updated_by uuid
    CONSTRAINT peer_mentor_status_updated_by_fkey REFERENCES auth.users (id) ON DELETE RESTRICT,
  CONSTRAINT peer_mentor_status_mentor_org_key UNIQUE (peer_mentor_id, org_id),
  -- A paused row says since when; an active row has no pause data.
  CONSTRAINT peer_mentor_status_paused_at_check
    CHECK ((status = 'paused') = (paused_at IS NOT NULL)),
  CONSTRAINT peer_mentor_status_expected_return_check
    CHECK (status = 'paused' OR expected_return_date IS NULL)
);
-- peer_mentor_id is covered by peer_mentor_status_mentor_org_key.
CREATE INDEX peer_mentor_status_org_id_idx ON public.peer_mentor_status (org_id, status);
CREATE INDEX peer_mentor_status_updated_by_idx ON public.peer_mentor_status (updated_by);

COMMENT ON TABLE public.peer_mentor_status IS
  'One row per (peer_mentor_id, org_id); a mentor without a row is active. Written only with a paired peer_mentor_status_log row (triggers).';

CREATE TABLE public.peer_mentor_status_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  status_id uuid NOT NULL
    CONSTRAINT peer_mentor_status_log_status_id_fkey REFERENCES public.peer_mentor_status (id) ON DELETE RESTRICT,
  peer_mentor_id uuid NOT NULL
    CONSTRAINT peer_mentor_status_log_peer_mentor_id_fkey REFERENCES auth.users (id) ON DELETE RESTRICT,
  org_id uuid NOT NULL
    CONSTRAINT peer_mentor_status_log_org_id_fkey REFERENCES public.organizations (id) ON DELETE RESTRICT,
  previous_status text NOT NULL
    CONSTRAINT peer_mentor_status_log_previous_status_check CHECK (previous_status IN ('active', 'paused')),
  new_status text NOT NULL
    CONSTRAINT peer_mentor_status_log_new_status_check CHECK (new_status IN ('active', 'paused')),
  reason text,
  -- NULL only for a change made outside a user request (owner, service_role).
  changed_by uuid
    CONSTRAINT peer_mentor_status_log_changed_by_fkey REFERENCES auth.users (id) ON DELETE RESTRICT,
  changed_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT peer_mentor_status_log_change_check CHECK (previous_status <> new_status)
);
CREATE INDEX peer_mentor_status_log_status_id_idx ON public.peer_mentor_status_log (status_id, id);
CREATE INDEX peer_mentor_status_log_peer_mentor_id_idx ON public.peer_mentor_status_log (peer_mentor_id);
CREATE INDEX peer_mentor_status_log_org_id_idx ON public.peer_mentor_status_log (org_id);
CREATE INDEX peer_mentor_status_log_changed_by_idx ON public.peer_mentor_status_log (changed_by);

COMMENT ON TABLE public.peer_mentor_status_log IS
  'One immutable row per peer_mentor_status change, written only by the trigger peer_mentor_status_log_change.';

-- Trigger functions live in schema private (not exposed by PostgREST). None
-- has a PL/pgSQL branch except the log guard; the conditions are trigger WHEN
-- clauses, so the branch coverage of PS-COV-1 stays small and meaningful.

-- BEFORE INSERT OR UPDATE: the server owns the bookkeeping columns, so no
-- caller can forge who changed a row or when, and active rows carry no pause
-- data.
CREATE FUNCTION private.peer_mentor_status_set_bookkeeping()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
  NEW.updated_at := now();
  NEW.updated_by := auth.uid();
  NEW.paused_at := CASE WHEN NEW.status = 'paused' THEN now() END;
  NEW.expected_return_date := CASE WHEN NEW.status = 'paused' THEN NEW.expected_return_date END;
  RETURN NEW;
END
$$;

-- BEFORE UPDATE WHEN (OLD.status = NEW.status): every update of a status row
-- is a status change. This is also how the RPCs report pausing a paused
-- mentor.
CREATE FUNCTION private.peer_mentor_status_reject_no_change()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
  RAISE EXCEPTION 'peer mentor % is already %', OLD.peer_mentor_id, OLD.status
    USING ERRCODE = 'MD002', CONSTRAINT = 'peer_mentor_status_transition',
          HINT = 'pause an active mentor, resume a paused one';
END
$$;

-- AFTER INSERT (WHEN the row is created paused) and AFTER UPDATE (WHEN status changed):
-- writes the log row. SECURITY DEFINER because the API roles have no INSERT
-- grant on the log, which is what makes a forged log insert through the Data
-- API impossible; it writes only the row derived from NEW/OLD, search_path is
-- pinned and it lives in the unexposed schema private. A row created paused
-- was implicitly active before.
CREATE FUNCTION private.peer_mentor_status_log_change()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = ''
AS $$
BEGIN
  INSERT INTO public.peer_mentor_status_log
    (status_id, peer_mentor_id, org_id, previous_status, new_status, reason, changed_by, changed_at)
  VALUES
    (NEW.id, NEW.peer_mentor_id, NEW.org_id,
     CASE WHEN TG_OP = 'UPDATE' THEN OLD.status ELSE 'active' END,
     NEW.status, NEW.reason, NEW.updated_by, NEW.updated_at);
  RETURN NULL;
END
$$;

-- BEFORE INSERT on the log: only peer_mentor_status_log_change may insert
-- (it runs at trigger depth 1, so this guard runs at depth 2), and only a row
-- that describes the status row as it now is.
CREATE FUNCTION private.peer_mentor_status_log_guard()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
AS $$
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
$$;

-- BEFORE UPDATE OR DELETE (row) and BEFORE TRUNCATE (statement) on the log.
CREATE FUNCTION private.peer_mentor_status_log_immutable()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
  RAISE EXCEPTION 'peer_mentor_status_log is append-only (% rejected)', TG_OP
    USING ERRCODE = 'MD005', CONSTRAINT = 'peer_mentor_status_log_immutable';
END
$$;

REVOKE ALL ON FUNCTION private.peer_mentor_status_set_bookkeeping() FROM PUBLIC;
REVOKE ALL ON FUNCTION private.peer_mentor_status_reject_no_change() FROM PUBLIC;
REVOKE ALL ON FUNCTION private.peer_mentor_status_log_change() FROM PUBLIC;
REVOKE ALL ON FUNCTION private.peer_mentor_status_log_guard() FROM PUBLIC;
REVOKE ALL ON FUNCTION private.peer_mentor_status_log_immutable() FROM PUBLIC;

CREATE TRIGGER peer_mentor_status_bookkeeping
  BEFORE INSERT OR UPDATE ON public.peer_mentor_status
  FOR EACH ROW EXECUTE FUNCTION private.peer_mentor_status_set_bookkeeping();
CREATE TRIGGER peer_mentor_status_no_change
  BEFORE UPDATE ON public.peer_mentor_status
  FOR EACH ROW WHEN (OLD.status = NEW.status)
  EXECUTE FUNCTION private.peer_mentor_status_reject_no_change();
CREATE TRIGGER peer_mentor_status_log_insert
  AFTER INSERT ON public.peer_mentor_status
  FOR EACH ROW WHEN (NEW.status = 'paused')
  EXECUTE FUNCTION private.peer_mentor_status_log_change();
CREATE TRIGGER peer_mentor_status_log_update
  AFTER UPDATE ON public.peer_mentor_status
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
  EXECUTE FUNCTION private.peer_mentor_status_log_change();
CREATE TRIGGER peer_mentor_status_log_guard
  BEFORE INSERT ON public.peer_mentor_status_log
  FOR EACH ROW EXECUTE FUNCTION private.peer_mentor_status_log_guard();
CREATE TRIGGER peer_mentor_status_log_no_update_delete
  BEFORE UPDATE OR DELETE ON public.peer_mentor_status_log
  FOR EACH ROW EXECUTE FUNCTION private.peer_mentor_status_log_immutable();
CREATE TRIGGER peer_mentor_status_log_no_truncate
  BEFORE TRUNCATE ON public.peer_mentor_status_log
  FOR EACH STATEMENT EXECUTE FUNCTION private.peer_mentor_status_log_immutable();

ALTER TABLE public.peer_mentor_status ENABLE ALWAYS TRIGGER peer_mentor_status_bookkeeping;
ALTER TABLE public.peer_mentor_status ENABLE ALWAYS TRIGGER peer_mentor_status_no_change;
ALTER TABLE public.peer_mentor_status ENABLE ALWAYS TRIGGER peer_mentor_status_log_insert;
ALTER TABLE public.peer_mentor_status ENABLE ALWAYS TRIGGER peer_mentor_status_log_update;
ALTER TABLE public.peer_mentor_status_log ENABLE ALWAYS TRIGGER peer_mentor_status_log_guard;
ALTER TABLE public.peer_mentor_status_log ENABLE ALWAYS TRIGGER peer_mentor_status_log_no_update_delete;
ALTER TABLE public.peer_mentor_status_log ENABLE ALWAYS TRIGGER peer_mentor_status_log_no_truncate;

-- Deny all until the next migration adds policies and grants.
ALTER TABLE public.peer_mentor_status ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.peer_mentor_status_log ENABLE ROW LEVEL SECURITY;
