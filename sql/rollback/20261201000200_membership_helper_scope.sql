-- Rollback of 20261201000200_membership_helper_scope: the foundation's
-- definition of private.has_org_role, byte for byte, and no comment.
CREATE OR REPLACE FUNCTION private.has_org_role(p_user_id uuid, p_org_id uuid, p_role text)
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

COMMENT ON FUNCTION private.has_org_role(uuid, uuid, text) IS NULL;
