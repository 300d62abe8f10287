package db

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
)

// ErrStatementTimeout: the server cancelled the statement (SQLSTATE 57014,
// "due to statement timeout"; any other 57014 is ErrCanceled) because it ran past the statement_timeout of the request's role
// (Supabase: 8s for authenticated, 3s for anon), which the request applies
// as PostgREST does. Nothing of the request is committed.
var ErrStatementTimeout = errors.New("db: statement cancelled (statement_timeout of the request's role)")

// outcome interprets the error a request ended with. A database error the
// server sent on a live connection means the request rolled back, and keeps
// its interpretation. When the connection failed (it is closed, a FATAL
// error ended the session, or the caller's context ended while the request
// was on the wire) the error says what became of the request, from what was
// written before it failed:
//   - COMMIT, with no answer: ErrOutcomeUnknown, unless resolve finds the
//     transaction aborted (ErrRolledBack);
//   - not COMMIT, and the caller's context ended: ErrCanceled;
//   - nothing: ErrNotSent;
//   - statements but not COMMIT: ErrRolledBack, as the server rolls back a
//     transaction whose session ends.
func (t *requestTx) outcome(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	// The kind of a failed connection comes from what the request wrote,
	// even when a repository method (inside fn) interpreted the error
	// already; withOutcome keeps a server's answer as it is.
	ended := ctx.Err() != nil
	if !t.connClosed() && !fatal(err) && !ended {
		return interpretError(err)
	}
	switch {
	case t.commitSent && !t.committed && !pgconn.SafeToRetry(err):
		if t.resolve(ctx) == "aborted" {
			return withOutcome(ErrRolledBack, err)
		}
		return withOutcome(ErrOutcomeUnknown, err)
	case ended:
		// COMMIT was not sent: nothing committed, because the caller's
		// context ended.
		return withOutcome(ErrCanceled, err)
	case !t.sent:
		return withOutcome(ErrNotSent, err)
	default:
		return withOutcome(ErrRolledBack, err)
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

// acquireError is the error of a request that could not get a connection:
// nothing was sent.
func acquireError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return withOutcome(ErrCanceled, err)
	}
	return withOutcome(ErrNotSent, err)
}

// currentXact assigns the request's transaction its id and reads it with
// the backend's pid; currentXactIfAssigned reads it only if the request
// wrote something (NULL otherwise: nothing to commit).
const (
	currentXact           = `SELECT pg_current_xact_id()::text, pg_backend_pid()`
	currentXactIfAssigned = `SELECT pg_current_xact_id_if_assigned()::text, pg_backend_pid()`
)

// resolve finds out, on another connection of the pool, what became of a
// request whose COMMIT went unanswered: "committed", "aborted", or "" when
// it cannot tell (no transaction id read, the server unreachable, the id
// too old). A request that wrote nothing (no id assigned) changed nothing:
// "aborted". It runs on a cleanup context (the caller's deadline plus
// cleanupTimeout). While its backend still runs (the answer was lost on the
// way, or the COMMIT is stuck behind a stalled network), the backend is
// terminated, which leaves the transaction aborted unless it had
// committed, and asked again.
func (t *requestTx) resolve(ctx context.Context) string {
	if !t.resolvedOnce {
		t.resolvedOnce, t.resolved = true, t.resolveNow(ctx)
	}
	return t.resolved
}

func (t *requestTx) resolveNow(ctx context.Context) string {
	if t.pool == nil || t.pid == 0 {
		return ""
	}
	if t.xid == nil {
		return "aborted"
	}
	ctx, cancel := t.cleanupContext(ctx)
	defer cancel()
	status := func() string {
		var s *string
		if err := t.pool.QueryRow(ctx, `SELECT pg_xact_status($1::text::xid8)`, *t.xid).Scan(&s); err != nil || s == nil {
			return ""
		}
		return *s
	}
	s := status()
	if s != "in progress" {
		return s
	}
	// The backend holding the transaction is ours: match the pid and the
	// transaction (the pid of a dead backend may be reused).
	if _, err := t.pool.Exec(ctx, `SELECT pg_terminate_backend(pid, 1000) FROM pg_stat_activity
		WHERE pid = $1 AND backend_xid::text = ($2::text::numeric % 4294967296)::text`, int32(t.pid), *t.xid); err != nil {
		return ""
	}
	if s = status(); s == "in progress" {
		return ""
	}
	return s
}
