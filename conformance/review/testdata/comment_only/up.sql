-- Fixture: a change that loses nothing.
COMMENT ON COLUMN public.proxy_activities.notes IS 'Free text from the coordinator, at most 4000 characters.';
