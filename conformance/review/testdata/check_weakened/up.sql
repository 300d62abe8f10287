-- Fixture: duration_minutes' upper bound raised from a day to a week.
ALTER TABLE public.proxy_activities DROP CONSTRAINT proxy_activities_duration_minutes_max_check;
ALTER TABLE public.proxy_activities ADD CONSTRAINT proxy_activities_duration_minutes_max_check CHECK (duration_minutes <= 10080);
