-- Peer-mentor pause status (issue 4). Every query runs inside db.As, as the
-- caller, under RLS; the transitions go through the RPCs, which read the org
-- context from the organization_id claim (db.OrgClaim).

-- name: ActivatePause :one
SELECT * FROM activate_pause(
  sqlc.arg(peer_mentor_id)::uuid,
  sqlc.narg(reason)::text,
  sqlc.narg(expected_return_date)::date
);

-- name: DeactivatePause :one
SELECT * FROM deactivate_pause(
  sqlc.arg(peer_mentor_id)::uuid,
  sqlc.narg(reason)::text
);

-- The caller's own status in one org (no row: active).
-- name: GetOwnStatus :one
SELECT * FROM peer_mentor_status
WHERE peer_mentor_id = auth.uid() AND org_id = sqlc.arg(org_id);

-- One mentor's status in one org, as far as RLS lets the caller see it.
-- name: GetStatus :one
SELECT * FROM peer_mentor_status
WHERE peer_mentor_id = sqlc.arg(peer_mentor_id) AND org_id = sqlc.arg(org_id);

-- Every status row of an org (coordinators; a mentor sees only their own).
-- The explicit org filter lets the planner use the index as well as the policy.
-- name: ListOrgStatuses :many
SELECT * FROM peer_mentor_status
WHERE org_id = sqlc.arg(org_id)
ORDER BY peer_mentor_id;

-- name: ActivePausesForChapter :many
SELECT * FROM get_active_pauses_for_chapter(sqlc.arg(chapter_id)::uuid);

-- The transitions of one mentor in one org, oldest first.
-- name: ListStatusLog :many
SELECT * FROM peer_mentor_status_log
WHERE peer_mentor_id = sqlc.arg(peer_mentor_id) AND org_id = sqlc.arg(org_id)
ORDER BY id;
