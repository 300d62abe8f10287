-- private.has_org_role answers only what the caller may already read.
--
-- The foundation's version answered "does user U hold role R in org O" for
-- any U and O. authenticated holds EXECUTE on it (the pause policies call it
-- in WITH CHECK, and a policy's functions run as the caller), and
-- PostgreSQL lets a role call a function it may EXECUTE directly, so any
-- signed-in user could ask about the memberships of every org, which the
-- org_members SELECT policy never shows them. Revoking EXECUTE would break
-- those policies.
--
-- From here on it is true only when the membership exists AND the caller may
-- see that membership row through org_members' SELECT policy: it is the
-- caller's own (user = auth.uid()), or the caller is a coordinator or
-- org_admin of that org (who read its roster anyway). Called directly it
-- therefore reveals nothing the Data API does not, and never anything about
-- an org the caller holds no such role in. service_role and sessions without
-- a request (auth.uid() NULL) get false; neither needs it (service_role and
-- the owner bypass the policies that call it).
--
-- The policies keep their meaning: peer_mentor_status_insert and _update
-- call it as has_org_role(peer_mentor_id, org_id, 'peer_mentor') and allow a
-- row only to the mentor themself or a coordinator of the org, exactly the
-- callers for whom the added condition holds.
--
-- Still PL/pgSQL and SECURITY DEFINER for the reasons of the foundation
-- migration (the plan of its one query is cached per session); the added
-- condition is one more probe of org_members' primary key, taken only when
-- the caller asks about someone else.
CREATE OR REPLACE FUNCTION private.has_org_role(p_user_id uuid, p_org_id uuid, p_role text)
RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
  v_uid uuid := auth.uid();
BEGIN
  RETURN EXISTS (
    SELECT 1 FROM public.org_members AS m
    WHERE m.user_id = p_user_id AND m.org_id = p_org_id AND m.role = p_role
      AND (m.user_id = v_uid
           OR EXISTS (SELECT 1 FROM public.org_members AS c
                      WHERE c.org_id = p_org_id AND c.user_id = v_uid
                        AND c.role IN ('coordinator', 'org_admin')))
  );
END
$$;

COMMENT ON FUNCTION private.has_org_role(uuid, uuid, text) IS
  'Whether p_user_id holds p_role in p_org_id, answered only when the caller may read that membership row (their own, or any of an org they coordinate or administer); otherwise false.';
