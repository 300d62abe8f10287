-- Peer-mentor pause status (issue 4): RLS policies, grants and the RPCs
-- activate_pause, deactivate_pause and get_active_pauses_for_chapter.
-- One file, in this order: policies, table grants, functions, then EXECUTE
-- (revoked from PUBLIC and anon, granted to authenticated only), so there is
-- no moment at which a function is callable on a table without its policies.
-- SQLSTATEs and constraint names: see 20261122000000_peer_mentor_status.sql.
--
-- The organisation claim
--   The RPCs take their org context from
--       (auth.jwt() -> 'user_metadata' ->> 'organization_id')::uuid
--   (db.OrgClaim in the Go package). A user can edit their own user_metadata,
--   so the claim only SELECTS the org; it never proves anything. Every call is
--   re-checked against org_members: the caller must be the mentor themself or
--   a coordinator of that org (else 42501), and the mentor must hold the
--   peer_mentor role in that org (else MD001). A missing or malformed claim
--   raises MD004. No policy reads user_metadata (Supabase lint 0015).
--
-- Security model: SECURITY INVOKER, as the seed asks. The RPCs run as the
--   caller, under the policies below, which permit exactly what the RPCs
--   write: a mentor's own row, or any mentor row of an org the caller
--   coordinates, and only for a mentor who holds the peer_mentor role in that
--   org. The same writes are possible directly through the Data API, and that
--   is safe: the log row is written by a trigger on the status table (see the
--   previous migration), so a direct write is logged exactly as an RPC call,
--   a no-change update is rejected, and the log itself is not writable by any
--   API role. The only SECURITY DEFINER code is that trigger function, the
--   foundation's membership helpers and pause_org_context (which reads the
--   same membership rows as those helpers, in one query), all in the
--   unexposed schema private.
--
-- Transitions
--   activate_pause:   active (or no row yet) -> paused. Updates the row,
--                     and creates it on first use (when the UPDATE finds
--                     none).
--   deactivate_pause: paused -> active.
--   Pausing a paused mentor or resuming an active one is an ERROR (MD002,
--   raised by the status table's no-change trigger), not a no-op, so callers
--   learn that their view was stale; no log row is written. Resuming a mentor
--   who has no status row in the org raises MD003 (unknown mentor).
--
-- Concurrency
--   Both RPCs take pg_advisory_xact_lock(1296302081, hashtext(mentor id)).
--   1296302081 = 0x4D440001 ('MD' << 16 | 1) is the namespace of this lock
--   class; the two-int4 form lives in a different key space from one-bigint
--   advisory locks, and other mentordb lock classes use other namespaces.
--   The key is the mentor only, so calls for different mentors never wait on
--   each other (row locks are per row, too); calls for one mentor serialize,
--   and each statement after the lock sees the winner's committed row
--   (READ COMMITTED takes a new snapshot per statement).

-- Policies. One permissive policy per table, role and action (advisor 0006).

CREATE POLICY peer_mentor_status_select ON public.peer_mentor_status
  FOR SELECT TO authenticated
  USING (
    peer_mentor_id = (SELECT auth.uid())
    OR org_id = ANY (ARRAY(SELECT private.org_ids_with_role(ARRAY['coordinator'])))
  );

CREATE POLICY peer_mentor_status_insert ON public.peer_mentor_status
  FOR INSERT TO authenticated
  WITH CHECK (
    (peer_mentor_id = (SELECT auth.uid())
     OR org_id = ANY (ARRAY(SELECT private.org_ids_with_role(ARRAY['coordinator']))))
    AND private.has_org_role(peer_mentor_id, org_id, 'peer_mentor')
  );

-- UPDATE: USING decides whose rows the caller may change (the same test as
-- SELECT, so PostgreSQL applies it once). WITH CHECK tests only what USING
-- cannot: that the mentor still holds the peer_mentor role. It does not
-- repeat the caller test, because the new row has the old row's
-- (peer_mentor_id, org_id): authenticated may UPDATE only status, reason and
-- expected_return_date (column grants below, pinned by the Access suite) and
-- no trigger changes either column. Whenever the statement reads the table
-- (a WHERE or RETURNING, as in every RPC and Data API update), PostgreSQL
-- also checks the new row against the SELECT policy, i.e. the caller test.
-- Repeating it here cost about 40 us per update (two more initPlans).
CREATE POLICY peer_mentor_status_update ON public.peer_mentor_status
  FOR UPDATE TO authenticated
  USING (
    peer_mentor_id = (SELECT auth.uid())
    OR org_id = ANY (ARRAY(SELECT private.org_ids_with_role(ARRAY['coordinator'])))
  )
  WITH CHECK (private.has_org_role(peer_mentor_id, org_id, 'peer_mentor'));

CREATE POLICY peer_mentor_status_log_select ON public.peer_mentor_status_log
  FOR SELECT TO authenticated
  USING (
    peer_mentor_id = (SELECT auth.uid())
    OR org_id = ANY (ARRAY(SELECT private.org_ids_with_role(ARRAY['coordinator'])))
  );

-- Table grants. authenticated writes only the columns a transition sets (the
-- bookkeeping columns are the trigger's); nobody but the trigger function
-- writes the log; no API role may delete.
GRANT SELECT ON public.peer_mentor_status, public.peer_mentor_status_log TO authenticated, service_role;
GRANT INSERT (peer_mentor_id, org_id, status, reason, expected_return_date)
  ON public.peer_mentor_status TO authenticated;
GRANT UPDATE (status, reason, expected_return_date)
  ON public.peer_mentor_status TO authenticated;

-- The common prologue of both transitions: resolve the org context from the
-- claim and check the caller and the mentor against membership rows. Returns
-- the org.
-- SECURITY DEFINER, like the foundation's has_org_role, so that both
-- memberships (is the caller a coordinator of the org, is the mentor a
-- peer_mentor of it) are read in ONE query on org_members, past its RLS,
-- instead of two helper calls; the claim and auth.uid() are read once. It
-- returns only the org the caller already claimed, or raises, and checks
-- the caller before it says anything about the mentor. The RPCs that call it
-- stay SECURITY INVOKER.
CREATE FUNCTION private.pause_org_context(p_peer_mentor_id uuid)
RETURNS uuid
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
  v_claim text := auth.jwt() -> 'user_metadata' ->> 'organization_id';
  -- A malformed claim is treated as a missing one (MD004), not as 22P02.
  v_org uuid := CASE
    WHEN v_claim ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
    THEN v_claim::uuid
  END;
  v_uid uuid := auth.uid();
  v_is_coordinator boolean;
  v_is_mentor boolean;
BEGIN
  IF v_org IS NULL THEN
    RAISE EXCEPTION 'the user_metadata.organization_id claim is missing or not a uuid'
      USING ERRCODE = 'MD004', CONSTRAINT = 'peer_mentor_status_org_claim';
  END IF;
  -- Two probes of org_members' primary key (org_id, user_id, role).
  SELECT EXISTS (SELECT 1 FROM public.org_members AS m
                 WHERE m.org_id = v_org AND m.user_id = v_uid AND m.role = 'coordinator'),
         EXISTS (SELECT 1 FROM public.org_members AS m
                 WHERE m.org_id = v_org AND m.user_id = p_peer_mentor_id AND m.role = 'peer_mentor')
  INTO v_is_coordinator, v_is_mentor;
  IF NOT (coalesce(p_peer_mentor_id = v_uid, false) OR v_is_coordinator) THEN
    RAISE EXCEPTION 'only the mentor or a coordinator of the organisation may change a pause status'
      USING ERRCODE = '42501', CONSTRAINT = 'peer_mentor_status_not_permitted';
  END IF;
  IF NOT v_is_mentor THEN
    RAISE EXCEPTION 'peer mentor % is not a peer mentor of organisation %', p_peer_mentor_id, v_org
      USING ERRCODE = 'MD001', CONSTRAINT = 'peer_mentor_status_org_mismatch';
  END IF;
  RETURN v_org;
END
$$;

-- Pause: active (or no row yet) -> paused, and its log row (written by the
-- status trigger in the same statement, so both or neither). Pausing a paused
-- mentor raises MD002 from the status table's no-change trigger.
-- UPDATE first, INSERT only for a mentor without a row: the common path then
-- pays only the UPDATE policies, not those of INSERT ... ON CONFLICT. The
-- advisory lock serialises RPC calls per mentor; the INSERT keeps ON CONFLICT
-- for a concurrent direct insert through the Data API, which takes no lock.
CREATE FUNCTION public.activate_pause(
  p_peer_mentor_id uuid,
  p_reason text DEFAULT NULL,
  p_expected_return_date date DEFAULT NULL
)
RETURNS public.peer_mentor_status
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = ''
AS $$
DECLARE
  v_org uuid := private.pause_org_context(p_peer_mentor_id);
  v_row public.peer_mentor_status;
BEGIN
  PERFORM pg_advisory_xact_lock(1296302081, hashtext(p_peer_mentor_id::text));
  UPDATE public.peer_mentor_status AS s
  SET status = 'paused', reason = p_reason, expected_return_date = p_expected_return_date
  WHERE s.peer_mentor_id = p_peer_mentor_id AND s.org_id = v_org
  RETURNING s.* INTO v_row;
  IF NOT FOUND THEN
    INSERT INTO public.peer_mentor_status AS s
      (peer_mentor_id, org_id, status, reason, expected_return_date)
    VALUES
      (p_peer_mentor_id, v_org, 'paused', p_reason, p_expected_return_date)
    ON CONFLICT (peer_mentor_id, org_id) DO UPDATE
      SET status = excluded.status,
          reason = excluded.reason,
          expected_return_date = excluded.expected_return_date
    RETURNING s.* INTO v_row;
  END IF;
  RETURN v_row;
END
$$;

-- Resume: paused -> active, and its log row. Resuming an active mentor raises
-- MD002 (no-change trigger); a mentor without a status row in the org, MD003.
CREATE FUNCTION public.deactivate_pause(
  p_peer_mentor_id uuid,
  p_reason text DEFAULT NULL
)
RETURNS public.peer_mentor_status
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = ''
AS $$
DECLARE
  v_org uuid := private.pause_org_context(p_peer_mentor_id);
  v_row public.peer_mentor_status;
BEGIN
  PERFORM pg_advisory_xact_lock(1296302081, hashtext(p_peer_mentor_id::text));
  UPDATE public.peer_mentor_status AS s
  SET status = 'active', reason = p_reason, expected_return_date = NULL
  WHERE s.peer_mentor_id = p_peer_mentor_id AND s.org_id = v_org
  RETURNING s.* INTO v_row;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'peer mentor % has no pause status in organisation %', p_peer_mentor_id, v_org
      USING ERRCODE = 'MD003', CONSTRAINT = 'peer_mentor_status_unknown_mentor';
  END IF;
  RETURN v_row;
END
$$;

-- The paused mentors of a chapter, for a coordinator of the chapter's org.
-- For a chapter of another org (or a caller who coordinates no org) it
-- returns no rows rather than an error, so it reveals nothing about other
-- orgs' chapters. Membership decides; the organization_id claim is not read.
-- A plain SQL function: no branches.
CREATE FUNCTION public.get_active_pauses_for_chapter(p_chapter_id uuid)
RETURNS SETOF public.peer_mentor_status
LANGUAGE sql
STABLE
SECURITY INVOKER
SET search_path = ''
AS $$
  SELECT s.*
  FROM public.chapter_members AS cm
  JOIN public.peer_mentor_status AS s
    ON s.peer_mentor_id = cm.user_id AND s.org_id = cm.org_id
  WHERE cm.chapter_id = p_chapter_id
    AND s.status = 'paused'
    AND s.org_id = ANY (ARRAY(SELECT private.org_ids_with_role(ARRAY['coordinator'])))
  ORDER BY s.paused_at, s.id
$$;

REVOKE ALL ON FUNCTION private.pause_org_context(uuid) FROM PUBLIC, anon;
REVOKE ALL ON FUNCTION public.activate_pause(uuid, text, date) FROM PUBLIC, anon;
REVOKE ALL ON FUNCTION public.deactivate_pause(uuid, text) FROM PUBLIC, anon;
REVOKE ALL ON FUNCTION public.get_active_pauses_for_chapter(uuid) FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION private.pause_org_context(uuid) TO authenticated;
GRANT EXECUTE ON FUNCTION public.activate_pause(uuid, text, date) TO authenticated;
GRANT EXECUTE ON FUNCTION public.deactivate_pause(uuid, text) TO authenticated;
GRANT EXECUTE ON FUNCTION public.get_active_pauses_for_chapter(uuid) TO authenticated;
