-- The repository's membership pre-check (PA-ORG-1) as a function that raises
-- a typed error, instead of a query that reports its finding by casting a
-- text to boolean for the client to read back from the error message.
--
-- db checks, before an INSERT or an UPDATE of proxy_activities, that every
-- attributed mentor holds peer_mentor in the activity's org, in the same
-- pipeline as the write (DB-WIRE-1: one round trip), so that a failure stops
-- the transaction before the write reaches the table and the caller gets
-- the specific error. private.assert_mentors_in_org returns true when all
-- of them do, and otherwise raises
--   SQLSTATE  constraint                              when
--   23514     proxy_activities_mentor_in_org_check    the caller may read the
--             (the name the constraint trigger        org's roster (service_role,
--             raises for the same rule)               or a coordinator of the
--                                                     org): the mentors missing
--                                                     from it are named
--   42501     proxy_activities_not_permitted          anyone else: the write
--                                                     would be refused by RLS,
--                                                     and the roster is not
--                                                     theirs to probe
-- with TABLE and SCHEMA of proxy_activities, so db maps both by constraint
-- name (ErrMentorNotInOrg, ErrNotPermitted) like any database error.
--
-- SECURITY INVOKER: it reads org_members with the caller's rights, so RLS
-- decides what it can see, as the query it replaces did; a caller who may
-- not read the roster learns nothing from it (every mentor looks missing,
-- and the answer is 42501 whoever the mentors are). Empty search_path, every
-- name qualified. EXECUTE only to authenticated and service_role, the roles
-- that write activities (anon has no USAGE on schema private either).

CREATE FUNCTION private.assert_mentors_in_org(p_org_id uuid, p_mentor_ids uuid[])
RETURNS boolean
LANGUAGE plpgsql
STABLE
SECURITY INVOKER
SET search_path = ''
AS $$
DECLARE
  v_missing uuid[];
BEGIN
  SELECT ARRAY(
    SELECT DISTINCT u.user_id
    FROM unnest(p_mentor_ids) AS u(user_id)
    WHERE NOT EXISTS (
      SELECT 1 FROM public.org_members AS pm
      WHERE pm.org_id = p_org_id
        AND pm.user_id = u.user_id
        AND pm.role = 'peer_mentor')
    ORDER BY u.user_id)
  INTO v_missing;
  IF cardinality(v_missing) = 0 THEN
    RETURN true;
  END IF;
  IF auth.role() = 'service_role' OR EXISTS (
    SELECT 1 FROM public.org_members AS c
    WHERE c.org_id = p_org_id
      AND c.user_id = auth.uid()
      AND c.role = 'coordinator'
  ) THEN
    RAISE EXCEPTION 'attributed mentor % is not a peer_mentor of organization %',
      array_to_string(v_missing, ', '), p_org_id
      USING ERRCODE = '23514',
            CONSTRAINT = 'proxy_activities_mentor_in_org_check',
            TABLE = 'proxy_activities',
            SCHEMA = 'public';
  END IF;
  RAISE EXCEPTION 'caller is not a coordinator of organization %', p_org_id
    USING ERRCODE = '42501',
          CONSTRAINT = 'proxy_activities_not_permitted',
          TABLE = 'proxy_activities',
          SCHEMA = 'public';
END
$$;

COMMENT ON FUNCTION private.assert_mentors_in_org(uuid, uuid[]) IS
  'PA-ORG-1 pre-check of a proxy_activities write: true when every mentor holds peer_mentor in the org; else raises 23514 proxy_activities_mentor_in_org_check (caller may read the roster) or 42501 proxy_activities_not_permitted (caller is not a coordinator of the org). SECURITY INVOKER: RLS on org_members applies.';

REVOKE ALL ON FUNCTION private.assert_mentors_in_org(uuid, uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION private.assert_mentors_in_org(uuid, uuid[]) TO authenticated, service_role;
