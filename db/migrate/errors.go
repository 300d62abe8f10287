package migrate

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinels, for errors.Is. Each comes wrapped in a *Error that names the
// migration; several problems found at once are joined with errors.Join, so
// errors.Is matches any of them and errors.As finds the first *Error.
var (
	// ErrChanged: an applied migration's file differs from the statements
	// recorded when it was applied. Editing an applied migration changes
	// nothing in databases that already ran it, so the schema would silently
	// depend on which database you look at; Up refuses instead.
	ErrChanged = errors.New("migration file changed since it was applied")
	// ErrRetired: the history holds a version this source shipped once (it
	// is in Source.Shipped) but has no file for any more: a newer binary
	// migrated this database, or a file was removed. Running code on a
	// schema it was not built for is not something Up can make safe, so it
	// refuses. Versions the source never shipped are other teams' and are
	// not an error.
	ErrRetired = errors.New("applied migration of this source that this binary no longer ships")
	// ErrOutOfOrder: a pending migration is older than the newest applied
	// migration of the same source. Its file was written against a schema
	// that did not yet contain the newer ones, so applying it late may not
	// mean what it meant. (Being older than another team's applied version
	// is not an error: see Up.)
	ErrOutOfOrder = errors.New("pending migration is older than the newest applied one of this source")
	// ErrMissingRollback: Down needs a rollback file for a version and there
	// is none. Reported before anything is rolled back.
	ErrMissingRollback = errors.New("rollback file missing")
	// ErrNeedsSession: the runner's statements do not all run on the server
	// session that holds its advisory lock, as behind a pooler in
	// transaction mode (Supabase's pooler on port 6543, PgBouncer with
	// pool_mode = transaction). Such a lock serialises nothing, so the
	// runner refuses. Migrate over a session: the direct connection
	// (db.<project>.supabase.co:5432) or the pooler in session mode (port
	// 5432).
	ErrNeedsSession = errors.New("migrations need one database session: connect directly or through a session-mode pooler (port 5432), not a transaction-mode pooler (port 6543)")
	// ErrDuplicateVersion: two files in one source carry the same version.
	ErrDuplicateVersion = errors.New("duplicate migration version")
	// ErrPlatformMissing: the database lacks what every Supabase project
	// has (schema auth, the API roles), so it is a plain PostgreSQL that
	// was not prepared. The error is a *PlatformError naming what is
	// missing; package db/platform applies the SQL that provides it.
	ErrPlatformMissing = errors.New("the Supabase platform objects are missing")
	// ErrExportConflict: Export found a file in the target folder with one
	// of the source's versions but other content or another name. Nothing
	// is written.
	ErrExportConflict = errors.New("migration folder holds a different file for this version")
)

// PlatformError is returned by Up, before anything is changed, when the
// database lacks objects every Supabase project has and every migration
// relies on.
type PlatformError struct {
	Missing []string // e.g. "schema auth", "role authenticated"
}

func (e *PlatformError) Error() string {
	return fmt.Sprintf("migrate: %v: %s missing; this is not a Supabase database: on plain PostgreSQL apply the platform SQL first "+
		"(platform.Apply from github.com/mentordb/mentordb/db/platform, or `mentordb dev` for a disposable one)",
		ErrPlatformMissing, strings.Join(e.Missing, ", "))
}

func (e *PlatformError) Is(target error) bool { return target == ErrPlatformMissing }

// Error ties a failure to one migration. Err is a sentinel above or the
// driver's error (errors.As to the driver's type, e.g. *pgconn.PgError,
// still works through Unwrap).
type Error struct {
	Version string
	File    string // file name, or "" when the binary has no file for Version
	Op      string // "check", "apply" or "rollback"
	Err     error
}

func (e *Error) Error() string {
	name := e.File
	if name == "" {
		name = "version " + e.Version
	}
	return fmt.Sprintf("migrate: %s %s: %v", e.Op, name, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }
