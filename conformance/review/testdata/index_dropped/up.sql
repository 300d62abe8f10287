-- Fixture: the date index goes.
DROP INDEX public.proxy_activities_date_idx;
