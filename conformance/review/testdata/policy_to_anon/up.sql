-- Fixture: anon may read every proxy activity.
GRANT SELECT ON public.proxy_activities TO anon;
CREATE POLICY proxy_activities_select_anon ON public.proxy_activities FOR SELECT TO anon USING (true);
