-- Fixture: a SECURITY DEFINER RPC with no search_path of its own.
CREATE FUNCTION public.count_activities() RETURNS bigint
  LANGUAGE sql STABLE SECURITY DEFINER
  AS $$ SELECT count(*) FROM public.proxy_activities $$;
REVOKE EXECUTE ON FUNCTION public.count_activities() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.count_activities() TO authenticated;
