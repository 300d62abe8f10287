-- Administration of organisations, chapters and memberships (service_role).

-- name: CreateOrganization :one
INSERT INTO organizations (name) VALUES (sqlc.arg(name)) RETURNING *;

-- name: CreateChapter :one
INSERT INTO chapters (org_id, name) VALUES (sqlc.arg(org_id), sqlc.arg(name)) RETURNING *;

-- name: AddOrgMember :one
INSERT INTO org_members (org_id, user_id, role)
VALUES (sqlc.arg(org_id), sqlc.arg(user_id), sqlc.arg(role))
RETURNING *;

-- name: RemoveOrgMember :execrows
DELETE FROM org_members
WHERE org_id = sqlc.arg(org_id) AND user_id = sqlc.arg(user_id) AND role = sqlc.arg(role);

-- The chapter's org comes from the chapter row, so a caller cannot pair a
-- chapter with the wrong org; no row back means no such chapter.
-- name: AddChapterMember :one
INSERT INTO chapter_members (chapter_id, org_id, user_id)
SELECT c.id, c.org_id, sqlc.arg(user_id)::uuid
FROM chapters AS c
WHERE c.id = sqlc.arg(chapter_id)
RETURNING *;

-- name: RemoveChapterMember :execrows
DELETE FROM chapter_members
WHERE chapter_id = sqlc.arg(chapter_id) AND user_id = sqlc.arg(user_id);

-- name: ListOrgMembers :many
SELECT * FROM org_members WHERE org_id = sqlc.arg(org_id) ORDER BY user_id, role;

-- name: ListChapterMembers :many
SELECT * FROM chapter_members WHERE chapter_id = sqlc.arg(chapter_id) ORDER BY user_id;

-- name: GetChapter :one
SELECT * FROM chapters WHERE id = sqlc.arg(id);
