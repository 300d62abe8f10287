// Package platform recreates, on a plain PostgreSQL, what every Supabase
// project already has and mentordb's migrations rely on: the roles anon,
// authenticated, service_role and authenticator, the auth schema with
// auth.users, auth.uid(), auth.role() and auth.jwt(), and the extensions
// schema. Apply it before migrate.Up on a database that is not a Supabase
// project (a CI database, a developer's local PostgreSQL); never on a real
// Supabase project, which has its own.
//
// This is the one copy of that SQL in Go: the conformance provider and
// `mentordb dev` apply it through this package.
package platform

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"slices"

	schema "github.com/mentordb/mentordb/sql"
)

// File is one file of the platform SQL.
type File struct {
	Name string // e.g. "00_platform.sql"
	SQL  string
}

// Files returns the platform SQL, in the order it is applied.
func Files() ([]File, error) {
	sub, err := fs.Sub(schema.Platform, "platform")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(sub, "*.sql")
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	out := make([]File, 0, len(names))
	for _, n := range names {
		b, err := fs.ReadFile(sub, n)
		if err != nil {
			return nil, err
		}
		out = append(out, File{Name: n, SQL: string(b)})
	}
	return out, nil
}

// Apply runs the platform SQL on db, file by file on one connection (the
// files use session-local helper functions). It is idempotent, so it may run
// on every start. Roles are cluster-wide: the first database prepared in a
// cluster creates them, which needs CREATEROLE. Each file is sent as one
// multi-statement Exec, which database/sql drivers run with the simple query
// protocol (pgx's stdlib and lib/pq do), so it is one implicit transaction.
func Apply(ctx context.Context, db *sql.DB) error {
	files, err := Files()
	if err != nil {
		return err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("platform: connect: %w", err)
	}
	defer conn.Close()
	for _, f := range files {
		if _, err := conn.ExecContext(ctx, f.SQL); err != nil {
			return fmt.Errorf("platform: apply %s: %w", f.Name, err)
		}
	}
	return nil
}
