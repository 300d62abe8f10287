-- Fixture: two indexes; the rollback drops only the first.
CREATE INDEX proxy_activities_activity_type_idx ON public.proxy_activities (activity_type);
CREATE INDEX proxy_activities_template_date_idx ON public.proxy_activities (template_id, date);
