package db

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Sentinel errors. Every database error a caller can cause comes back as an
// *Error (or, when it came wrapped, with one in its chain: see Error) whose
// Kind is one of these, so callers branch with errors.Is and never parse
// messages or SQLSTATEs themselves.
var (
	// ErrInvalidClaims: claims a request cannot act as (a role outside the
	// API roles, authenticated without sub, a NUL or invalid UTF-8 anywhere
	// in their JSON, a missing or malformed organization_id where one is
	// needed). Its class is ErrInvalidInput.
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
	// "\u0000" in JSON cast to jsonb). Its class is ErrInvalidInput. The
	// repositories refuse such a text before the database, with Code 22021.
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

// Constraint is the name of what fired: a constraint of the schema, a name
// mentordb's functions and triggers raise, or a policy a repository's
// pre-check names. The Constraint* constants (constraints_gen.go, written
// from the catalog) are every name the schema can report.
type Constraint string

// Error is a database error interpreted: Kind is the most specific sentinel
// (ErrSelfAttribution), Class the generic one of its SQLSTATE (ErrCheck),
// Constraint the constraint (or rule) that fired, Code the SQLSTATE (empty
// when no server error carried one: ErrNotFound, a network or context
// error), Err the error it was made from. errors.Is matches both Kind and Class.
// Every Error db returns has both; where no more specific sentinel applies,
// Kind is the Class. ErrInvalidClaims has no Code; a repository's pre-check
// has the Code the database would report.
//
// An error that holds a database error under layers of its own (what fn
// returns from Do, DoReadOnly or DoTx, with the caller's message around it)
// keeps its own Error() text and chain, and the *Error is added to that
// chain: errors.As(err, &dbErr) with dbErr a *Error finds it, and errors.Is
// matches its Kind and Class as well as the caller's own errors.
type Error struct {
	Kind       error
	Class      error
	Constraint Constraint
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

// Interpret returns the typed form of err, as db's own calls return it, for
// the errors of the caller's own SQL on Request.Tx (which keeps pgx's
// contract and returns pgx's errors as they are). A database error as pgx
// returns it becomes an *Error; an error with layers of its own around one
// keeps its text and chain with the *Error added (see Error); an error that
// already holds an *Error, or holds no database error, comes back as it is.
func Interpret(err error) error { return interpretError(err) }

// interpretError is the one place that turns database errors into typed
// errors. It finds the first database error in err's tree (in the order
// errors.As searches it): a *pgconn.PgError, pgx.ErrNoRows,
// pgx.ErrTxCommitRollback, or a failed connection (see connectionError).
// An err that already holds an *Error, or holds no database error, is
// returned unchanged.
func interpretError(err error) error {
	if err == nil {
		return nil
	}
	var done *Error
	if errors.As(err, &done) {
		return err
	}
	var found *Error
	var cause error
	walk(err, nil, func(node error, path []error) bool {
		found, cause = interpretNode(node, path), node
		return found != nil
	})
	switch {
	case found == nil:
		return err
	case cause == err:
		return found
	}
	return &callerError{err: err, typed: found}
}

// callerError is an error that holds a database error under layers of its
// own (a caller's fmt.Errorf around what pgx returned, pgx's own wrapping,
// a rollback error joined to it): it keeps err's message and chain, so
// errors.Is and errors.As on the caller's own errors and types still work,
// and adds the typed form, which errors.As(err, &dbErr) finds.
type callerError struct {
	err   error
	typed *Error
}

func (e *callerError) Error() string   { return e.err.Error() }
func (e *callerError) Unwrap() []error { return []error{e.err, e.typed} }

// walk visits err's tree depth first, as errors.As does, with the path
// from the root to each node; it stops when visit returns true.
func walk(err error, path []error, visit func(node error, path []error) bool) bool {
	if err == nil {
		return false
	}
	path = append(path, err)
	if visit(err, path) {
		return true
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return walk(u.Unwrap(), path, visit)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if walk(e, path, visit) {
				return true
			}
		}
	}
	return false
}

// interpretNode is the typed form of node, one error of a tree (path leads
// to it), or nil when node is not a database error itself. Err is node.
func interpretNode(node error, path []error) *Error {
	switch n := node.(type) {
	case *pgconn.PgError:
		return fromPgError(n, path)
	case *pgconn.ConnectError:
		if errors.Is(n, context.Canceled) {
			return canceledError(n)
		}
		// A connection that was never made sent nothing of the request;
		// that includes one that did not finish within connect_timeout or
		// the caller's deadline (context.DeadlineExceeded stays in Err).
		e := connectionError(n, true)
		var pgErr *pgconn.PgError
		if errors.As(n, &pgErr) {
			e.Code = pgErr.Code // the server refused it: 57P03, 53300, 28P01...
		}
		return e
	case *net.OpError:
		return connectionError(n, n.Op == "dial" || notSent(path))
	}
	// pgconn's timeout wraps an ended context, or a network timeout when
	// the context had not ended; asked only of a plain chain, so a timeout
	// on a later branch of a joined error does not speak for an earlier one.
	if pgconn.Timeout(node) && plainChain(node) {
		return canceledError(node)
	}
	switch node {
	case context.Canceled, context.DeadlineExceeded:
		return canceledError(node)
	case pgx.ErrNoRows:
		return &Error{Kind: ErrNotFound, Class: ErrNotFound, Message: "no rows", Err: node}
	case pgx.ErrTxCommitRollback:
		return &Error{Kind: ErrTxAborted, Class: ErrTxAborted, Message: "the transaction had failed; COMMIT rolled it back", Err: node}
	case pgconn.ErrConnClosed, io.EOF, io.ErrUnexpectedEOF:
		return connectionError(node, notSent(path))
	}
	if _, ok := node.(net.Error); ok {
		return connectionError(node, notSent(path))
	}
	return nil
}

// fromPgError types an error the server sent.
func fromPgError(pgErr *pgconn.PgError, path []error) *Error {
	class := kindOfCode(pgErr.Code)
	// query_canceled is the server's statement_timeout or a cancel request
	// (pg_cancel_backend, a client's cancel): PostgreSQL tells them apart
	// only in the message, in English unless lc_messages says otherwise.
	if pgErr.Code == "57014" && !strings.Contains(pgErr.Message, "statement timeout") {
		class = ErrCanceled
	}
	if class == ErrConnection {
		e := connectionError(pgErr, notSent(path))
		e.Code, e.Message = pgErr.Code, pgErr.Message
		return e
	}
	e := &Error{Kind: class, Class: class, Constraint: Constraint(pgErr.ConstraintName), Code: pgErr.Code, Message: pgErr.Message, Err: pgErr}
	if k, ok := codeSpecificKinds[pgErr.Code]; ok {
		e.Kind = k
	}
	if k, ok := constraintKinds[Constraint(pgErr.ConstraintName)]; ok {
		e.Kind = k
		if e.Class == nil {
			e.Class = k
		}
	}
	if e.Kind == nil {
		return nil
	}
	return e
}

// connectionError is a failed connection: Class ErrConnection, Kind
// ErrNotSent when nothing of the request was sent, else ErrRolledBack (the
// server rolls back a transaction whose connection ends; the request layer
// decides the kind from what it wrote, see withOutcome).
func connectionError(err error, unsent bool) *Error {
	kind := ErrRolledBack
	if unsent {
		kind = ErrNotSent
	}
	return &Error{Kind: kind, Class: ErrConnection, Message: err.Error(), Err: err}
}

// withOutcome is err typed as a request whose connection failed, with kind
// the outcome the request layer knows from what it wrote (ErrNotSent,
// ErrRolledBack, ErrOutcomeUnknown; ErrCanceled for a context that ended
// before anything was sent). An err that is the server's answer (a
// constraint, a permission: the request rolled back) comes back as
// interpretError returns it: only a failed connection or an ended context
// takes the kind. A caller's wrapping is kept (callerError), with the typed
// form replaced.
func withOutcome(kind, err error) error {
	typed := interpretError(err)
	var e *Error
	if !errors.As(typed, &e) || !(e.Class == ErrConnection || e.Kind == ErrCanceled && e.Code == "") {
		return typed
	}
	class := ErrConnection
	if kind == ErrCanceled {
		class = ErrCanceled
	}
	u := &Error{Kind: kind, Class: class, Code: e.Code, Message: e.Message, Err: e.Err}
	switch t := typed.(type) {
	case *Error:
		return u
	case *callerError:
		return &callerError{err: t.err, typed: u}
	}
	u.Message = typed.Error()
	return u
}

// canceledError is the caller's cancel: ErrCanceled, its own class.
func canceledError(err error) *Error {
	return &Error{Kind: ErrCanceled, Class: ErrCanceled, Message: err.Error(), Err: err}
}

// plainChain tells whether err's tree is one chain (no joined errors).
func plainChain(err error) bool {
	for err != nil {
		if _, ok := err.(interface{ Unwrap() []error }); ok {
			return false
		}
		err = errors.Unwrap(err)
	}
	return true
}

// notSent is pgconn.SafeToRetry for the branch of the tree that path
// follows: pgconn marks errors that happened before anything was written
// (a closed connection, a context that ended before the send). Asked of the
// whole tree, a joined error of a later step (a rollback on the closed
// connection) would speak for the request's own error.
func notSent(path []error) bool {
	for _, e := range path {
		if r, ok := e.(interface{ SafeToRetry() bool }); ok {
			return r.SafeToRetry()
		}
	}
	return pgconn.SafeToRetry(path[len(path)-1])
}

func kindOfCode(code string) error {
	if k, ok := codeKinds[code]; ok {
		return k
	}
	if strings.HasPrefix(code, "08") {
		return ErrConnection
	}
	return nil
}

// Outcomes of a request whose connection failed. Every such error has Class
// ErrConnection and one of the three kinds below, so a caller knows whether
// the request's work committed without guessing from a network error.
var (
	// ErrConnection: the connection to the server failed or was closed: the
	// server ended or refused the session (SQLSTATE class 08, 57P01
	// terminated, 57P02, 57P03 cannot connect now, 57P05, 25P03 and 25P04
	// timeouts), a connection could not be made (pgconn's ConnectError), a
	// network error, an EOF, pgconn's closed connection. The kind says what
	// became of the request. A cancel is ErrCanceled instead.
	ErrConnection = errors.New("db: connection failed")
	// ErrNotSent: nothing of the request reached the server, as pgconn
	// reports it (pgconn.SafeToRetry), or the connection was never made; it
	// is safe to retry as it is.
	ErrNotSent = errors.New("db: request not sent (safe to retry)")
	// ErrRolledBack: the request was sent but its COMMIT was not; the
	// server rolls back a transaction whose connection ends, so nothing of
	// it committed.
	ErrRolledBack = errors.New("db: request rolled back (its connection failed before COMMIT)")
	// ErrOutcomeUnknown: COMMIT was sent and no answer came: the request may
	// have committed or not. Retry only in a way that is safe either way
	// (a Create with the same ID returns the row the first try made).
	ErrOutcomeUnknown = errors.New("db: request sent, outcome unknown (it may have committed)")
	// ErrCanceled: the caller's context ended (context.Canceled or
	// context.DeadlineExceeded, which stay in the chain), or the statement
	// was cancelled (SQLSTATE 57014 "due to user request": pg_cancel_backend
	// or a client's cancel request), before the request finished; nothing
	// of it committed. It is its own class. A server-side timeout (57014
	// "due to statement timeout") is ErrStatementTimeout instead.
	ErrCanceled = errors.New("db: request cancelled")
	// ErrCallerTxLost (DoTx only): the request failed and its savepoint
	// could not be rolled back, nor the caller's role and claims restored,
	// so DoTx closed the caller's connection rather than leave the caller's
	// transaction acting as the request's user: the caller's transaction is
	// gone and nothing of it commits.
	ErrCallerTxLost = errors.New("db: the caller's transaction was closed (the request could not be undone in it)")
)
