-- Rollback of 20261203000000_proxy_activities_membership_check: the two
-- constraint triggers and their functions as 20261121000000_proxy_activities
-- and 20261201000000_input_bounds created them.
DROP TRIGGER proxy_activities_mentor_in_org_check ON public.proxy_activities;
DROP FUNCTION private.proxy_activities_check_members_in_org();

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

REVOKE ALL ON FUNCTION private.proxy_activities_check_mentor_in_org() FROM PUBLIC;

CREATE CONSTRAINT TRIGGER proxy_activities_mentor_in_org_check
  AFTER INSERT OR UPDATE OF attributed_mentor_id, org_id ON public.proxy_activities
  FOR EACH ROW EXECUTE FUNCTION private.proxy_activities_check_mentor_in_org();

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
