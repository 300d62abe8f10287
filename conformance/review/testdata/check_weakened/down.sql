ALTER TABLE public.proxy_activities DROP CONSTRAINT proxy_activities_duration_minutes_max_check;
ALTER TABLE public.proxy_activities ADD CONSTRAINT proxy_activities_duration_minutes_max_check CHECK (duration_minutes <= 1440);
