package db

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
)

// ErrStatementTimeout: the server cancelled the statement (SQLSTATE 57014)
// because it ran past the statement_timeout of the request's role
// (Supabase: 8s for authenticated, 3s for anon), which the request applies
// as PostgREST does. Nothing of the request is committed.
var ErrStatementTimeout = errors.New("db: statement cancelled (statement_timeout of the request's role)")

func init() { codeKinds["57014"] = ErrStatementTimeout } // query_canceled

// outcome interprets the error a request ended with. A database error the
// server sent on a live connection means the request rolled back, and keeps
// its interpretation. When the connection failed (it is closed, a FATAL
// error ended the session, or the caller's context ended while the request
// was on the wire) the error says what became of the request, from what was
// written before it failed:
//   - nothing: ErrNotSent (or ErrCanceled when the context ended first);
//   - statements but not COMMIT: ErrRolledBack, as the server rolls back a
//     transaction whose session ends;
//   - COMMIT, with no answer: ErrOutcomeUnknown.
func (t *requestTx) outcome(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var typed *Error
	if errors.As(err, &typed) && (typed.Class == ErrConnection || typed.Kind == ErrCanceled) {
		return err
	}
	ended := ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err))
	if !t.connClosed() && !fatal(err) && !ended {
		return interpretError(err)
	}
	switch {
	case t.commitSent && !t.committed && !pgconn.SafeToRetry(err):
		return connError(ErrOutcomeUnknown, err)
	case !t.sent && ended:
		return &Error{Kind: ErrCanceled, Class: ErrCanceled, Message: err.Error(), Err: err}
	case !t.sent:
		return connError(ErrNotSent, err)
	default:
		return connError(ErrRolledBack, err)
	}
}

func (t *requestTx) connClosed() bool {
	if t.caller != nil {
		c := t.caller.Conn()
		return c == nil || c.IsClosed()
	}
	return t.conn == nil || t.conn.IsClosed()
}

// fatal reports a server error that ended the session (57P01 terminated by
// an administrator, a crash): the server may have done anything up to it.
func fatal(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	s := pgErr.SeverityUnlocalized
	if s == "" {
		s = pgErr.Severity
	}
	return s == "FATAL" || s == "PANIC"
}

func connError(kind, err error) *Error {
	e := &Error{Kind: kind, Class: ErrConnection, Message: err.Error(), Err: err}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		e.Code = pgErr.Code
	}
	return e
}

// notSent is the error of a request that could not get a connection.
func notSent(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Kind: ErrCanceled, Class: ErrCanceled, Message: err.Error(), Err: err}
	}
	return connError(ErrNotSent, err)
}
