-- Validates the CHECKs that 20261201000000_input_bounds.sql added NOT VALID.
--
-- A separate file because the runner (and the Supabase CLI) runs each file in
-- one transaction: adding and validating in one file would hold the ADD
-- CONSTRAINT's ACCESS EXCLUSIVE lock for the whole scan of each table, while
-- VALIDATE CONSTRAINT alone takes SHARE UPDATE EXCLUSIVE, under which reads
-- and writes of the table go on. Rows written since the previous file are
-- already checked.
--
-- If a row written before the bounds existed violates one, this file fails
-- with that constraint's name and changes nothing; find the rows with the
-- constraint's expression negated (for example
--   SELECT id FROM public.proxy_activities WHERE char_length(notes) > 4000),
-- correct them, and run the migrations again.
ALTER TABLE public.proxy_activities VALIDATE CONSTRAINT proxy_activities_activity_type_check;
ALTER TABLE public.proxy_activities VALIDATE CONSTRAINT proxy_activities_activity_type_length_check;
ALTER TABLE public.proxy_activities VALIDATE CONSTRAINT proxy_activities_notes_length_check;
ALTER TABLE public.proxy_activities VALIDATE CONSTRAINT proxy_activities_date_window_check;
ALTER TABLE public.proxy_activities VALIDATE CONSTRAINT proxy_activities_duration_minutes_max_check;
ALTER TABLE public.recurring_activity_templates VALIDATE CONSTRAINT recurring_activity_templates_activity_type_length_check;
ALTER TABLE public.recurring_activity_templates VALIDATE CONSTRAINT recurring_activity_templates_title_length_check;
ALTER TABLE public.recurring_activity_templates VALIDATE CONSTRAINT recurring_activity_templates_recurrence_rule_length_check;
ALTER TABLE public.recurring_activity_templates VALIDATE CONSTRAINT recurring_activity_templates_default_duration_minutes_max_check;
ALTER TABLE public.peer_mentor_status VALIDATE CONSTRAINT peer_mentor_status_reason_length_check;
ALTER TABLE public.peer_mentor_status VALIDATE CONSTRAINT peer_mentor_status_expected_return_window_check;
