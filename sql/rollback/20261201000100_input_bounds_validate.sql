-- Rollback of 20261201000100_input_bounds_validate: the constraints go back
-- to NOT VALID, as the previous migration left them. PostgreSQL has no
-- "invalidate", so each is dropped and added again NOT VALID with the same
-- name and expression (a brief ACCESS EXCLUSIVE lock per table, no scan).
ALTER TABLE public.proxy_activities
  DROP CONSTRAINT proxy_activities_activity_type_check,
  ADD CONSTRAINT proxy_activities_activity_type_check
    CHECK (length(btrim(activity_type)) > 0) NOT VALID,
  DROP CONSTRAINT proxy_activities_activity_type_length_check,
  ADD CONSTRAINT proxy_activities_activity_type_length_check
    CHECK (char_length(activity_type) <= 100) NOT VALID,
  DROP CONSTRAINT proxy_activities_notes_length_check,
  ADD CONSTRAINT proxy_activities_notes_length_check
    CHECK (char_length(notes) <= 4000) NOT VALID,
  DROP CONSTRAINT proxy_activities_date_window_check,
  ADD CONSTRAINT proxy_activities_date_window_check
    CHECK (date >= DATE '2000-01-01'
           AND date <= ((now() AT TIME ZONE 'UTC') + interval '1 year')::date) NOT VALID,
  DROP CONSTRAINT proxy_activities_duration_minutes_max_check,
  ADD CONSTRAINT proxy_activities_duration_minutes_max_check
    CHECK (duration_minutes <= 1440) NOT VALID;
ALTER TABLE public.recurring_activity_templates
  DROP CONSTRAINT recurring_activity_templates_activity_type_length_check,
  ADD CONSTRAINT recurring_activity_templates_activity_type_length_check
    CHECK (char_length(activity_type) <= 100) NOT VALID,
  DROP CONSTRAINT recurring_activity_templates_title_length_check,
  ADD CONSTRAINT recurring_activity_templates_title_length_check
    CHECK (char_length(title) <= 200) NOT VALID,
  DROP CONSTRAINT recurring_activity_templates_recurrence_rule_length_check,
  ADD CONSTRAINT recurring_activity_templates_recurrence_rule_length_check
    CHECK (char_length(recurrence_rule) <= 500) NOT VALID,
  DROP CONSTRAINT recurring_activity_templates_default_duration_minutes_max_check,
  ADD CONSTRAINT recurring_activity_templates_default_duration_minutes_max_check
    CHECK (default_duration_minutes <= 1440) NOT VALID;
ALTER TABLE public.peer_mentor_status
  DROP CONSTRAINT peer_mentor_status_reason_length_check,
  ADD CONSTRAINT peer_mentor_status_reason_length_check
    CHECK (char_length(reason) <= 1000) NOT VALID,
  DROP CONSTRAINT peer_mentor_status_expected_return_window_check,
  ADD CONSTRAINT peer_mentor_status_expected_return_window_check
    CHECK (expected_return_date >= (paused_at AT TIME ZONE 'UTC')::date
           AND expected_return_date <= (paused_at AT TIME ZONE 'UTC')::date + 730) NOT VALID;
