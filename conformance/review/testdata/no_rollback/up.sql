-- Fixture: a migration with no rollback file.
COMMENT ON COLUMN public.proxy_activities.notes IS 'Free text from the coordinator.';
