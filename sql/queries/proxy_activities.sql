-- Proxy activities (issue 3). Every query runs inside db.As, so RLS applies:
-- the explicit org filters below are for the planner (an index condition
-- alongside the policy's), never the authorization.

-- CreateProxyActivity inserts one activity with id @id (the caller's, or
-- one db generated), in one statement, so a
-- one-call Create stays one round trip. A retry with the same id finds the
-- row the first try made instead of inserting a second (ON CONFLICT (id) DO
-- NOTHING: no second row, no second audit row), and returns it with
-- same_payload telling whether it holds what this call asked for. The
-- existing row is read through RLS: an id the caller cannot see returns no
-- row, and the repository reports a conflict without saying more. A row
-- committed by a concurrent insert of the same id after this statement's
-- snapshot is not seen either (READ COMMITTED), and also returns no row.
-- name: CreateProxyActivity :one
WITH ins AS (
  INSERT INTO proxy_activities (
    id, coordinator_id, attributed_mentor_id, org_id, activity_type, date,
    duration_minutes, notes, is_recurring, template_id
  ) VALUES (
    @id, @coordinator_id, @attributed_mentor_id, @org_id, @activity_type, @date,
    @duration_minutes, sqlc.narg(notes), @is_recurring, sqlc.narg(template_id)
  )
  ON CONFLICT (id) DO NOTHING
  RETURNING *
)
SELECT ins.id, ins.coordinator_id, ins.attributed_mentor_id, ins.org_id, ins.activity_type, ins.date,
       ins.duration_minutes, ins.notes, ins.is_recurring, ins.template_id, ins.created_at, ins.updated_at,
       true AS same_payload
FROM ins
UNION ALL
SELECT p.id, p.coordinator_id, p.attributed_mentor_id, p.org_id, p.activity_type, p.date,
       p.duration_minutes, p.notes, p.is_recurring, p.template_id, p.created_at, p.updated_at,
       (p.coordinator_id = @coordinator_id AND p.attributed_mentor_id = @attributed_mentor_id
        AND p.org_id = @org_id AND p.activity_type = @activity_type AND p.date = @date
        AND p.duration_minutes = @duration_minutes AND p.notes IS NOT DISTINCT FROM sqlc.narg(notes)
        AND p.is_recurring = @is_recurring AND p.template_id IS NOT DISTINCT FROM sqlc.narg(template_id)) AS same_payload
FROM proxy_activities AS p
WHERE p.id = @id AND NOT EXISTS (SELECT FROM ins);

-- CreateProxyActivities is the bulk import: one set-based INSERT, so every
-- row goes through the RLS INSERT policy, the CHECKs, the mentor trigger and
-- the audit trigger exactly like a single insert (COPY FROM is refused on a
-- table with RLS for every role that does not bypass it). @rows is a JSON
-- array of objects with the keys named in the column definition list.
-- name: CreateProxyActivities :many
INSERT INTO proxy_activities (
  coordinator_id, attributed_mentor_id, org_id, activity_type, date,
  duration_minutes, notes, is_recurring, template_id
)
SELECT @coordinator_id::uuid, r.attributed_mentor_id, @org_id::uuid, r.activity_type, r.date,
       r.duration_minutes, r.notes, coalesce(r.is_recurring, false), r.template_id
FROM ROWS FROM (
  jsonb_to_recordset(@rows::jsonb) AS (
    attributed_mentor_id uuid, activity_type text, date date, duration_minutes integer,
    notes text, is_recurring boolean, template_id uuid
  )
) WITH ORDINALITY AS r(
  attributed_mentor_id, activity_type, date, duration_minutes,
  notes, is_recurring, template_id, ord
)
ORDER BY r.ord
RETURNING *;

-- CopyProxyActivities is COPY FROM, for service_role only (it bypasses RLS;
-- for any other role PostgreSQL refuses COPY FROM on a table with RLS).
-- Triggers still fire: integrity checks and the audit log apply. Its
-- columns are CreateProxyActivity's, in the same order, so one Go row
-- serves both.
-- name: CopyProxyActivities :copyfrom
INSERT INTO proxy_activities (
  id, coordinator_id, attributed_mentor_id, org_id, activity_type, date,
  duration_minutes, notes, is_recurring, template_id
) VALUES (
  @id, @coordinator_id, @attributed_mentor_id, @org_id, @activity_type, @date,
  @duration_minutes, @notes, @is_recurring, @template_id
);

-- UpdateProxyActivity replaces the editable fields. org_id and
-- coordinator_id are not editable (policy and triggers refuse it anyway).
-- name: UpdateProxyActivity :one
UPDATE proxy_activities
SET attributed_mentor_id = @attributed_mentor_id,
    activity_type = @activity_type,
    date = @date,
    duration_minutes = @duration_minutes,
    notes = sqlc.narg(notes),
    is_recurring = @is_recurring,
    template_id = sqlc.narg(template_id)
WHERE id = @id
RETURNING *;

-- name: DeleteProxyActivity :execrows
DELETE FROM proxy_activities WHERE id = @id;

-- name: GetProxyActivity :one
SELECT * FROM proxy_activities WHERE id = @id;

-- ListProxyActivitiesForOrg pages one org's activities in [from_date,
-- to_date), newest first, by keyset: pass the last row's (date, id) as
-- (before_date, before_id); the first page passes (to_date, the max uuid).
-- One index range scan on proxy_activities_org_id_date_id_idx, no sort.
-- name: ListProxyActivitiesForOrg :many
SELECT * FROM proxy_activities
WHERE org_id = @org_id
  AND date >= @from_date::date
  AND date < @to_date::date
  AND (date, id) < (@before_date::date, @before_id::uuid)
ORDER BY date DESC, id DESC
LIMIT @limit_rows;

-- name: ListProxyActivitiesByMentor :many
SELECT * FROM proxy_activities
WHERE org_id = @org_id
  AND attributed_mentor_id = @attributed_mentor_id
  AND date >= @from_date::date
  AND date < @to_date::date
  AND (date, id) < (@before_date::date, @before_id::uuid)
ORDER BY date DESC, id DESC
LIMIT @limit_rows;

-- BufdirReport: per attributed mentor (never per coordinator), for one org
-- and the period [from_date, to_date). An index-only scan of
-- proxy_activities_org_id_date_id_idx.
-- name: BufdirReport :many
SELECT attributed_mentor_id,
       count(*) AS activity_count,
       sum(duration_minutes)::bigint AS total_minutes
FROM proxy_activities
WHERE org_id = @org_id
  AND date >= @from_date::date
  AND date < @to_date::date
GROUP BY attributed_mentor_id
ORDER BY attributed_mentor_id;

-- name: BufdirReportByType :many
SELECT attributed_mentor_id,
       activity_type,
       count(*) AS activity_count,
       sum(duration_minutes)::bigint AS total_minutes
FROM proxy_activities
WHERE org_id = @org_id
  AND date >= @from_date::date
  AND date < @to_date::date
GROUP BY attributed_mentor_id, activity_type
ORDER BY attributed_mentor_id, activity_type;

-- AssertMentorsInOrg is the repository's pre-check (PA-ORG-1) in the form
-- that travels in one pipeline with the write it guards (DB-WIRE-1): it
-- returns true, or raises a typed error (private.assert_mentors_in_org says
-- which), which stops the transaction before the write reaches the table.
-- name: AssertMentorsInOrg :one
SELECT private.assert_mentors_in_org(@org_id, @user_ids::uuid[]) AS ok;

-- name: ListProxyAuditLog :many
SELECT * FROM proxy_audit_log
WHERE activity_id = @activity_id
ORDER BY id;

-- name: CreateRecurringActivityTemplate :one
INSERT INTO recurring_activity_templates (
  org_id, created_by, activity_type, title, default_duration_minutes, recurrence_rule
) VALUES (
  @org_id, @created_by, @activity_type, @title,
  sqlc.narg(default_duration_minutes), sqlc.narg(recurrence_rule)
)
RETURNING *;

-- name: GetRecurringActivityTemplate :one
SELECT * FROM recurring_activity_templates WHERE id = @id;

-- name: ListRecurringActivityTemplates :many
SELECT * FROM recurring_activity_templates
WHERE org_id = @org_id
ORDER BY title, id;

-- name: DeleteRecurringActivityTemplate :execrows
DELETE FROM recurring_activity_templates WHERE id = @id;
