package db

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Sentinel errors. Every database error a caller can cause comes back as an
// *Error whose Kind is one of these, so callers branch with errors.Is and
// never parse messages or SQLSTATEs themselves.
var (
	// ErrInvalidClaims: claims a request cannot act as (a role outside the
	// API roles, authenticated without sub, a missing or malformed
	// organization_id where one is needed). Its class is ErrInvalidInput.
	ErrInvalidClaims = errors.New("db: invalid claims")
	ErrNotFound      = errors.New("db: not found")
	// ErrNotPermitted: a policy, grant or in-function permission check refused.
	ErrNotPermitted = errors.New("db: not permitted")
	// ErrCheck: a CHECK constraint (or a trigger standing in for one) fired;
	// the more specific sentinels below are returned where one is known.
	ErrCheck      = errors.New("db: check violation")
	ErrForeignKey = errors.New("db: foreign key violation")
	ErrUnique     = errors.New("db: unique violation")
	ErrNotNull    = errors.New("db: not null violation")
	// ErrImmutable: an attempt to change an append-only row (audit and log).
	ErrImmutable = errors.New("db: row is immutable")
	// ErrInvalidInput: a value PostgreSQL could not accept (bad uuid, overflow).
	ErrInvalidInput = errors.New("db: invalid input")
	// ErrConflict: a serialization failure or deadlock; safe to retry.
	ErrConflict = errors.New("db: conflict, retry")
	// ErrInvalidText: a text holds a NUL byte or is not valid UTF-8, which
	// PostgreSQL text cannot store (SQLSTATE 22021, and 22P05 for a
	// "\u0000" in JSON cast to jsonb). Its class is ErrInvalidInput.
	ErrInvalidText = errors.New("db: text holds a NUL byte or invalid UTF-8")
	// ErrLockTimeout: a lock was not granted within lock_timeout (SQLSTATE
	// 55P03). Its class is ErrConflict: the request rolled back and may be
	// retried.
	ErrLockTimeout = errors.New("db: lock not granted within lock_timeout")
	// ErrTxAborted: a statement was sent after an earlier one of the same
	// request failed (SQLSTATE 25P02); PostgreSQL refuses everything up to
	// the rollback. It is its own class: return the first error instead.
	ErrTxAborted = errors.New("db: statement after an error in the same request")
)

// Error is a database error interpreted: Kind is the most specific sentinel
// (ErrSelfAttribution), Class the generic one of its SQLSTATE (ErrCheck),
// Constraint the constraint (or rule) that fired, Code the SQLSTATE. errors.Is
// matches both Kind and Class. Every Error db returns has both; where no
// more specific sentinel applies, Kind is the Class. Errors db finds before
// asking the database (ErrInvalidClaims) have no Code.
type Error struct {
	Kind       error
	Class      error
	Constraint string
	Code       string
	Message    string
	Err        error
}

func (e *Error) Error() string {
	if e.Constraint != "" {
		return fmt.Sprintf("%v (%s): %s", e.Kind, e.Constraint, e.Message)
	}
	return fmt.Sprintf("%v: %s", e.Kind, e.Message)
}

func (e *Error) Is(target error) bool {
	return target == e.Kind || (e.Class != nil && target == e.Class)
}
func (e *Error) Unwrap() error { return e.Err }

// constraintKinds maps constraint and rule names to the specific sentinel a
// caller should see. Names are the Constraint* constants, which a conformance
// test checks against the catalog so neither side can drift.
var constraintKinds = map[string]error{}

// registerConstraint is how each feature file declares the sentinel of the
// constraints it owns.
func registerConstraint(kind error, names ...string) {
	for _, n := range names {
		constraintKinds[n] = kind
	}
}

// Interpret returns the typed form of err (see Error): what db's own calls
// return, for errors of the caller's own SQL on Request.Tx, which keeps
// pgx's contract and returns pgx's errors as they are.
func Interpret(err error) error { return interpretError(err) }

// interpretError is the one place that turns database errors into typed
// errors. Errors that are not from PostgreSQL pass through unchanged.
func interpretError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return &Error{Kind: ErrNotFound, Class: ErrNotFound, Message: "no rows", Err: err}
	}
	var done *Error
	if errors.As(err, &done) {
		return err
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	class := kindOfCode(pgErr.Code)
	e := &Error{Kind: class, Class: class, Constraint: pgErr.ConstraintName, Code: pgErr.Code, Message: pgErr.Message, Err: err}
	if k, ok := constraintKinds[pgErr.ConstraintName]; ok {
		e.Kind = k
		if e.Class == nil {
			e.Class = k
		}
	}
	if e.Kind == nil {
		return err
	}
	return e
}

// codeKinds maps SQLSTATEs to sentinels. Custom codes raised by mentordb's own
// functions use class MD (see the migrations) and are registered by the
// feature files (registerCode).
var codeKinds = map[string]error{
	"23514": ErrCheck,
	"23503": ErrForeignKey,
	"23505": ErrUnique,
	"23502": ErrNotNull,
	"42501": ErrNotPermitted, // insufficient_privilege, and RLS WITH CHECK failures
	"22P02": ErrInvalidInput,
	"22003": ErrInvalidInput,
	"22007": ErrInvalidInput,
	"22008": ErrInvalidInput,
	"40001": ErrConflict,
	"40P01": ErrConflict,
}

func kindOfCode(code string) error { return codeKinds[code] }

// registerCode is how each feature file declares the class of the custom
// SQLSTATEs its functions raise.
func registerCode(class error, codes ...string) {
	for _, c := range codes {
		codeKinds[c] = class
	}
}

// Outcomes of a request whose connection failed. Every such error has Class
// ErrConnection and one of the three kinds below, so a caller knows whether
// the request's work committed without guessing from a network error.
var (
	// ErrConnection: the connection to the server failed or was closed
	// (a killed backend, a restart, a network error, a cancelled context).
	// The kind says what became of the request.
	ErrConnection = errors.New("db: connection failed")
	// ErrNotSent: nothing of the request reached the server; it is safe to
	// retry as it is.
	ErrNotSent = errors.New("db: request not sent (safe to retry)")
	// ErrRolledBack: the request was sent but its COMMIT was not; the
	// server rolls back a transaction whose connection ends, so nothing of
	// it committed.
	ErrRolledBack = errors.New("db: request rolled back (its connection failed before COMMIT)")
	// ErrOutcomeUnknown: COMMIT was sent and no answer came: the request may
	// have committed or not. Retry only in a way that is safe either way
	// (a Create with the same ID returns the row the first try made).
	ErrOutcomeUnknown = errors.New("db: request sent, outcome unknown (it may have committed)")
	// ErrCanceled: the caller's context ended, or the caller cancelled the
	// statement (SQLSTATE 57014 "due to user request"), before the request
	// finished; nothing of it committed. A server-side timeout is
	// ErrStatementTimeout instead.
	ErrCanceled = errors.New("db: request cancelled")
	// ErrCallerTxLost (DoTx only): the request failed and its savepoint
	// could not be rolled back, nor the caller's role and claims restored,
	// so DoTx closed the caller's connection rather than leave the caller's
	// transaction acting as the request's user: the caller's transaction is
	// gone and nothing of it commits.
	ErrCallerTxLost = errors.New("db: the caller's transaction was closed (the request could not be undone in it)")
)
