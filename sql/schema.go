// Package schema embeds the SQL that mentordb owns, so the migration runner,
// the conformance provider and `mentordb dev` all apply the same bytes that
// reviewers read and the Supabase CLI applies.
package schema

import "embed"

// Migrations holds the forward migrations, named <14-digit version>_<name>.sql
// as the Supabase CLI names them.
//
//go:embed migrations/*.sql
var Migrations embed.FS

// Rollbacks holds one rollback per migration, with the same file name.
//
//go:embed rollback/*.sql
var Rollbacks embed.FS

// Platform recreates what every Supabase project already has, for plain
// PostgreSQL only.
//
//go:embed platform/*.sql
var Platform embed.FS

// Shipped lists, one file name a line, every migration mentordb has ever
// shipped, retired ones included; lines starting with '#' are comments. It
// is append-only: it is what lets the runner tell its own versions from
// other teams' versions in a shared history.
//
//go:embed shipped.txt
var Shipped string
