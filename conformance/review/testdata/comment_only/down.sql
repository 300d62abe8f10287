COMMENT ON COLUMN public.proxy_activities.notes IS NULL;
