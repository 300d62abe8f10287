-- name: GetOrganization :one
SELECT * FROM organizations WHERE id = $1;

-- name: ListMyOrgMemberships :many
SELECT org_id, role FROM org_members
WHERE user_id = auth.uid()
ORDER BY org_id, role;

-- name: ListChapters :many
SELECT * FROM chapters WHERE org_id = $1 ORDER BY name, id;
