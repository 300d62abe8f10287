-- Foundation: organisations, chapters and the membership model every later
-- policy is checked against.
--
-- Authorization never trusts the JWT's user_metadata (a user can edit it from
-- the client). Policies read only auth.uid() and the membership rows below,
-- through the security-definer helpers in schema `private`, which PostgREST
-- does not expose.

CREATE TABLE public.organizations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL CHECK (length(btrim(name)) > 0),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.chapters (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id uuid NOT NULL REFERENCES public.organizations (id) ON DELETE RESTRICT,
  name text NOT NULL CHECK (length(btrim(name)) > 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  -- Lets chapter_members carry org_id and be checked against it.
  CONSTRAINT chapters_id_org_id_key UNIQUE (id, org_id)
);
CREATE INDEX chapters_org_id_idx ON public.chapters (org_id);

-- A user may hold several roles in one org (a coordinator who also mentors)
-- and belong to several orgs.
CREATE TABLE public.org_members (
  org_id uuid NOT NULL REFERENCES public.organizations (id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  role text NOT NULL CONSTRAINT org_members_role_check
    CHECK (role IN ('coordinator', 'peer_mentor', 'org_admin')),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, user_id, role)
);
-- Policies look memberships up by user first.
CREATE INDEX org_members_user_id_idx ON public.org_members (user_id, org_id, role);

-- Chapter membership: coordinators may cover several chapters, mentors may
-- belong to several.
CREATE TABLE public.chapter_members (
  chapter_id uuid NOT NULL,
  org_id uuid NOT NULL REFERENCES public.organizations (id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (chapter_id, user_id),
  CONSTRAINT chapter_members_chapter_org_fkey FOREIGN KEY (chapter_id, org_id)
    REFERENCES public.chapters (id, org_id) ON DELETE CASCADE
);
CREATE INDEX chapter_members_user_id_idx ON public.chapter_members (user_id);
CREATE INDEX chapter_members_org_id_idx ON public.chapter_members (org_id);
CREATE INDEX chapter_members_chapter_org_idx ON public.chapter_members (chapter_id, org_id);

-- Helpers that policies call. SECURITY DEFINER so a policy on one table can
-- read membership rows the caller cannot see; STABLE and called as
-- (select ...) so each runs once per statement (an initPlan); search_path
-- pinned empty so nothing the caller controls can shadow what they call.
--
-- LANGUAGE plpgsql, not sql, for speed: SECURITY DEFINER and SET make a SQL
-- function non-inlinable, and a non-inlined SQL function parses and plans its
-- query again in every statement (every transaction) that calls it, about
-- 0.1 ms each time; PL/pgSQL plans its query once per session and reuses the
-- plan. A proxy-activity insert calls org_ids_with_role twice (WITH CHECK and
-- the RETURNING row's SELECT policy) and activate_pause calls the helpers
-- nine times, so this is the difference between about 0.45x and 0.6x the
-- rate of an insert into a bare table, and between 0.4x and 0.7x the rate of
-- a plain UPDATE (docs/benchmarks.md). There are no branches.
CREATE SCHEMA private;
REVOKE ALL ON SCHEMA private FROM PUBLIC;
GRANT USAGE ON SCHEMA private TO authenticated, service_role;

-- The orgs in which the current user holds one of the given roles.
-- Policies call it as org_id = ANY (ARRAY(SELECT ...)): the array is an
-- initPlan computed once, and the comparison can become an index condition.
CREATE FUNCTION private.org_ids_with_role(p_roles text[])
RETURNS SETOF uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = ''
AS $$
BEGIN
  RETURN QUERY
    SELECT DISTINCT m.org_id
    FROM public.org_members AS m
    WHERE m.user_id = auth.uid()
      AND m.role = ANY (p_roles);
END
$$;

-- Whether a user holds a role in an org; used by triggers and RPCs to check a
-- row's people, not only the caller.
CREATE FUNCTION private.has_org_role(p_user_id uuid, p_org_id uuid, p_role text)
RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = ''
AS $$
BEGIN
  RETURN EXISTS (
    SELECT 1 FROM public.org_members AS m
    WHERE m.user_id = p_user_id AND m.org_id = p_org_id AND m.role = p_role
  );
END
$$;

REVOKE ALL ON FUNCTION private.org_ids_with_role(text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION private.has_org_role(uuid, uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION private.org_ids_with_role(text[]) TO authenticated, service_role;
GRANT EXECUTE ON FUNCTION private.has_org_role(uuid, uuid, text) TO authenticated, service_role;

ALTER TABLE public.organizations ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.chapters ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.org_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.chapter_members ENABLE ROW LEVEL SECURITY;

-- Members see their orgs and those orgs' chapters.
CREATE POLICY organizations_select_member ON public.organizations
  FOR SELECT TO authenticated
  USING (id = ANY (ARRAY(SELECT private.org_ids_with_role(ARRAY['coordinator', 'peer_mentor', 'org_admin']))));

CREATE POLICY chapters_select_member ON public.chapters
  FOR SELECT TO authenticated
  USING (org_id = ANY (ARRAY(SELECT private.org_ids_with_role(ARRAY['coordinator', 'peer_mentor', 'org_admin']))));

-- Everyone sees their own memberships; coordinators and org admins see their
-- orgs' rosters.
CREATE POLICY org_members_select ON public.org_members
  FOR SELECT TO authenticated
  USING (
    user_id = (SELECT auth.uid())
    OR org_id = ANY (ARRAY(SELECT private.org_ids_with_role(ARRAY['coordinator', 'org_admin'])))
  );

CREATE POLICY chapter_members_select ON public.chapter_members
  FOR SELECT TO authenticated
  USING (
    user_id = (SELECT auth.uid())
    OR org_id = ANY (ARRAY(SELECT private.org_ids_with_role(ARRAY['coordinator', 'org_admin'])))
  );

-- Membership is administered by the service (service_role); signed-in users
-- only read. anon gets nothing.
GRANT SELECT ON public.organizations, public.chapters, public.org_members, public.chapter_members
  TO authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.organizations, public.chapters, public.org_members, public.chapter_members
  TO service_role;
