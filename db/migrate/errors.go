package migrate

import (
	"errors"
	"fmt"
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
	// ErrUnknownApplied: the history holds a version this binary has no
	// file for (a newer binary, or another tool, migrated this database).
	// Running older code on a newer schema is not something Up can make
	// safe, so it refuses.
	ErrUnknownApplied = errors.New("applied migration unknown to this binary")
	// ErrOutOfOrder: a pending migration is older than the newest applied
	// one. The Supabase CLI refuses this too (without --include-all):
	// the file was written against a schema that did not yet contain the
	// newer migrations, so applying it late may not mean what it meant.
	ErrOutOfOrder = errors.New("pending migration is older than the newest applied one")
	// ErrMissingRollback: Down needs a rollback file for a version and there
	// is none. Reported before anything is rolled back.
	ErrMissingRollback = errors.New("rollback file missing")
	// ErrDuplicateVersion: two files in one source carry the same version.
	ErrDuplicateVersion = errors.New("duplicate migration version")
)

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
