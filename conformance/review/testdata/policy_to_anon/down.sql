DROP POLICY proxy_activities_select_anon ON public.proxy_activities;
REVOKE SELECT ON public.proxy_activities FROM anon;
