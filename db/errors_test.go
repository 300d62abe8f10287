package db

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/stretchr/testify/require"
)

// withMetadata is a user's claims with metadata as user_metadata.
func withMetadata(metadata map[string]any) Claims {
	c := User(uuid.New(), uuid.Nil)
	c.UserMetadata = metadata
	return c
}

// requireTyped checks that err is an *Error with exactly kind and class.
func requireTyped(t *testing.T, err error, kind, class error) *Error {
	t.Helper()
	var e *Error
	require.True(t, errors.As(err, &e), "%v is a *db.Error", err)
	require.Equal(t, kind, e.Kind)
	require.Equal(t, class, e.Class)
	require.ErrorIs(t, err, kind)
	require.ErrorIs(t, err, class)
	return e
}

func TestPauseErrorsHaveKindAndClass(t *testing.T) {
	t.Parallel()
	// What the pause functions and triggers raise (see the migrations'
	// table of codes), and what the pause tables' declarative constraints
	// report.
	cases := []struct {
		code, constraint string
		kind, class      error
	}{
		{SQLStateOrgMismatch, ConstraintPauseOrgMismatch, ErrOrgMismatch, ErrCheck},
		{SQLStateInvalidTransition, ConstraintPauseTransition, ErrInvalidTransition, ErrCheck},
		{"23514", ConstraintPauseLogChangeCheck, ErrInvalidTransition, ErrCheck},
		{SQLStateUnknownMentor, ConstraintPauseUnknownMentor, ErrUnknownMentor, ErrNotFound},
		{SQLStateMissingOrgClaim, ConstraintPauseOrgClaim, ErrInvalidClaims, ErrInvalidInput},
		{SQLStateLogImmutable, ConstraintPauseLogImmutable, ErrImmutable, ErrNotPermitted},
		{SQLStateNotPermitted, ConstraintPauseNotPermitted, ErrNotPermitted, ErrNotPermitted},
		{SQLStateNotPermitted, ConstraintPauseLogDirectInsert, ErrNotPermitted, ErrNotPermitted},
		{"23514", ConstraintPauseStatusCheck, ErrCheck, ErrCheck},
		{"23505", ConstraintPauseMentorOrgKey, ErrUnique, ErrUnique},
		{"23503", ConstraintPauseMentorFkey, ErrForeignKey, ErrForeignKey},
	}
	for _, c := range cases {
		t.Run(c.constraint, func(t *testing.T) {
			t.Parallel()
			e := requireTyped(t, interpretError(&pgconn.PgError{Code: c.code, ConstraintName: c.constraint, Message: "m"}), c.kind, c.class)
			require.Equal(t, c.code, e.Code)
			require.Equal(t, c.constraint, e.Constraint)
		})
	}
}

func TestNotFoundHasClass(t *testing.T) {
	t.Parallel()
	e := requireTyped(t, interpretError(pgx.ErrNoRows), ErrNotFound, ErrNotFound)
	require.ErrorIs(t, e, pgx.ErrNoRows, "the cause stays reachable")
}

func TestInvalidClaimsAreTypedBeforeTheDatabase(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]Claims{
		"role outside the API roles":  {Role: "postgres"},
		"no role":                     {},
		"authenticated without sub":   {Role: RoleAuthenticated},
		"metadata that is not JSON":   {Role: RoleServiceRole, UserMetadata: map[string]any{"f": func() {}}},
		"service_role in other case":  {Role: "Service_Role"},
		"authenticated with nil user": User(uuid.Nil, uuid.New()),
		// PostgreSQL text holds neither; a user can edit user_metadata.
		"NUL in user_metadata":                 withMetadata(map[string]any{"nickname": "a\x00b"}),
		"NUL in a nested user_metadata value":  withMetadata(map[string]any{"a": []any{map[string]any{"b": "\x00"}}}),
		"NUL in a user_metadata key":           withMetadata(map[string]any{"a\x00": "b"}),
		"invalid UTF-8 in user_metadata":       withMetadata(map[string]any{"nickname": "a\xffb"}),
		"invalid UTF-8 in a user_metadata key": withMetadata(map[string]any{"\xff": "b"}),
		"NUL in email":                         {Role: RoleServiceRole, Email: "a\x00@example.test"},
		"NUL in app_metadata":                  {Role: RoleServiceRole, AppMetadata: map[string]any{"p": "\x00"}},
		"NUL escaped in a raw JSON value":      withMetadata(map[string]any{"raw": json.RawMessage(`"\u0000"`)}),
		"invalid UTF-8 in a raw JSON value":    withMetadata(map[string]any{"raw": json.RawMessage("\"\xff\"")}),
		"a cut rune in a user_metadata value":  withMetadata(map[string]any{"n": "å"[:1]}),
		"NUL after a backslash":                withMetadata(map[string]any{"n": "\\\x00"}),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			raw, err := c.encode()
			require.Empty(t, raw)
			e := requireTyped(t, err, ErrInvalidClaims, ErrInvalidInput)
			require.Empty(t, e.Code, "refused before the database: no SQLSTATE")
			require.Equal(t, err, interpretError(err), "passes interpretError unchanged")
		})
	}
	for _, c := range []Claims{Anon(), ServiceRole(), User(uuid.New(), uuid.Nil), User(uuid.New(), uuid.New()),
		// Text that only looks like an escape, and U+FFFD itself, are text.
		withMetadata(map[string]any{"n": `\u0000 \\u0000 \ufffd`, "r": "\uFFFD"})} {
		raw, err := c.encode()
		require.NoError(t, err, c.Role)
		require.Contains(t, raw, `"role":"`+c.Role+`"`)
	}
}

// The SQLSTATEs a caller can cause with its input, its own SQL or its
// locks, each with the Kind and Class it must come back as.
func TestCallerCausedCodesAreTyped(t *testing.T) {
	t.Parallel()
	cases := []struct {
		code, msg   string
		kind, class error
	}{
		{"22021", `invalid byte sequence for encoding "UTF8": 0x00`, ErrInvalidText, ErrInvalidInput},
		{"22P05", "unsupported Unicode escape sequence", ErrInvalidText, ErrInvalidInput},
		{"55P03", "canceling statement due to lock timeout", ErrLockTimeout, ErrConflict},
		{"25P02", "current transaction is aborted, commands ignored until end of transaction block", ErrTxAborted, ErrTxAborted},
	}
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			t.Parallel()
			pgErr := &pgconn.PgError{Code: c.code, Message: c.msg}
			e := requireTyped(t, interpretError(pgErr), c.kind, c.class)
			require.Equal(t, c.code, e.Code)
			require.ErrorIs(t, e, pgErr, "the server's error stays reachable")
		})
	}
}

// A server error that ends the connection (or says there is none) is
// ErrConnection. A bare server error was an answer to something sent, so
// the request's transaction is gone: ErrRolledBack.
func TestConnectionCodesAreTyped(t *testing.T) {
	t.Parallel()
	for _, code := range []string{"57P01", "57P02", "57P03", "57P05", "25P03", "08000", "08003", "08006", "08P01"} {
		t.Run(code, func(t *testing.T) {
			t.Parallel()
			e := requireTyped(t, interpretError(&pgconn.PgError{Severity: "FATAL", Code: code, Message: "m"}), ErrRolledBack, ErrConnection)
			require.Equal(t, code, e.Code)
		})
	}
}

// startupServer accepts pgconn connections on a local port and completes
// their startup without authentication (or refuses it with refuse), then
// hands each connection to serve. It is a peer on a real socket, so the
// errors pgconn returns are the ones it returns for a real server.
func startupServer(t *testing.T, refuse *pgconn.PgError, serve func(b *pgproto3.Backend)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b := pgproto3.NewBackend(c, c)
				for {
					msg, err := b.ReceiveStartupMessage()
					if err != nil {
						return
					}
					if _, ok := msg.(*pgproto3.StartupMessage); ok {
						break
					}
					if _, err := c.Write([]byte("N")); err != nil { // no SSL, no GSS encryption
						return
					}
				}
				if refuse != nil {
					b.Send(&pgproto3.ErrorResponse{Severity: refuse.Severity, Code: refuse.Code, Message: refuse.Message})
					_ = b.Flush()
					return
				}
				b.Send(&pgproto3.AuthenticationOk{})
				b.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
				if b.Flush() != nil {
					return
				}
				serve(b)
			}()
		}
	}()
	return "postgres://u@" + ln.Addr().String() + "/d?sslmode=disable&connect_timeout=5"
}

// closedPort returns the address of a local port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func TestConnectionErrorsAreTyped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("a net error from dialing a closed port: nothing sent", func(t *testing.T) {
		t.Parallel()
		_, err := net.Dial("tcp", closedPort(t))
		var netErr net.Error
		require.ErrorAs(t, err, &netErr, "precondition: a real net.Error")
		e := requireTyped(t, interpretError(err), ErrNotSent, ErrConnection)
		require.ErrorIs(t, e, err)
	})

	t.Run("pgconn's ConnectError: nothing sent", func(t *testing.T) {
		t.Parallel()
		_, err := pgconn.Connect(ctx, "postgres://u@"+closedPort(t)+"/d?sslmode=disable")
		var ce *pgconn.ConnectError
		require.ErrorAs(t, err, &ce, "precondition")
		e := requireTyped(t, interpretError(err), ErrNotSent, ErrConnection)
		require.ErrorAs(t, e, &ce, "the cause stays reachable")
	})

	t.Run("57P03 at startup (cannot connect now): nothing sent, with its code", func(t *testing.T) {
		t.Parallel()
		url := startupServer(t, &pgconn.PgError{Severity: "FATAL", Code: "57P03", Message: "the database system is starting up"}, nil)
		_, err := pgconn.Connect(ctx, url)
		var ce *pgconn.ConnectError
		require.ErrorAs(t, err, &ce, "precondition")
		e := requireTyped(t, interpretError(err), ErrNotSent, ErrConnection)
		require.Equal(t, "57P03", e.Code)
	})

	t.Run("the server closes the connection under a pipeline, then the closed connection", func(t *testing.T) {
		t.Parallel()
		url := startupServer(t, nil, func(b *pgproto3.Backend) { // read the statement, hang up
			for range 3 { // Parse, Bind, Describe
				_, _ = b.Receive()
			}
		})
		conn, err := pgconn.Connect(ctx, url)
		require.NoError(t, err)
		defer conn.Close(ctx)
		// A request's statements travel in a pipeline (see wireTx).
		p := conn.StartPipeline(ctx)
		p.SendQueryParams("SELECT 1", nil, nil, nil, nil)
		require.NoError(t, p.Sync())
		_, err = p.GetResults()
		require.Error(t, err)
		require.False(t, pgconn.SafeToRetry(err), "precondition: the statement was sent: %#v", err)
		requireTyped(t, interpretError(err), ErrRolledBack, ErrConnection)
		_ = p.Close()

		_, err = conn.ExecParams(ctx, "SELECT 1", nil, nil, nil, nil).Close()
		require.ErrorIs(t, err, pgconn.ErrConnClosed, "precondition")
		require.True(t, pgconn.SafeToRetry(err), "precondition: nothing was sent")
		requireTyped(t, interpretError(err), ErrNotSent, ErrConnection)
	})

	t.Run("io.EOF and io.ErrUnexpectedEOF", func(t *testing.T) {
		t.Parallel()
		requireTyped(t, interpretError(io.EOF), ErrRolledBack, ErrConnection)
		requireTyped(t, interpretError(fmt.Errorf("read: %w", io.ErrUnexpectedEOF)), ErrRolledBack, ErrConnection)
	})

	t.Run("a joined rollback error that was not sent does not make the request's error 'not sent'", func(t *testing.T) {
		t.Parallel()
		closed := &pgconn.PgError{Severity: "FATAL", Code: "57P01", Message: "terminating connection due to administrator command"}
		url := startupServer(t, nil, func(b *pgproto3.Backend) {})
		conn, err := pgconn.Connect(ctx, url)
		require.NoError(t, err)
		require.NoError(t, conn.Close(ctx))
		_, rbErr := conn.Exec(ctx, "ROLLBACK").ReadAll()
		require.True(t, pgconn.SafeToRetry(rbErr), "precondition")
		e := requireTyped(t, interpretError(errors.Join(closed, fmt.Errorf("db: roll back: %w", rbErr))), ErrRolledBack, ErrConnection)
		require.Equal(t, "57P01", e.Code)
	})
}

// A cancel the caller asked for is ErrCanceled; the server's timeout is
// ErrStatementTimeout. Both answer SQLSTATE 57014; only the message tells
// them apart.
func TestCancelIsNotATimeout(t *testing.T) {
	t.Parallel()
	user := &pgconn.PgError{Code: "57014", Message: "canceling statement due to user request"}
	requireTyped(t, interpretError(user), ErrCanceled, ErrCanceled)
	timeout := &pgconn.PgError{Code: "57014", Message: "canceling statement due to statement timeout"}
	requireTyped(t, interpretError(timeout), ErrStatementTimeout, ErrStatementTimeout)
	for _, err := range []error{context.Canceled, context.DeadlineExceeded, fmt.Errorf("wrapped: %w", context.Canceled)} {
		got := interpretError(err)
		e := requireTyped(t, got, ErrCanceled, ErrCanceled)
		require.ErrorIs(t, got, err, "the context's error stays reachable")
		require.Empty(t, e.Code)
	}
}

// What pgconn returns when the caller's context ends: before the send, while
// it waits for an answer, by cancel or by deadline.
func TestEndedContextIsCanceled(t *testing.T) {
	t.Parallel()
	url := startupServer(t, nil, func(b *pgproto3.Backend) { // never answers
		for {
			if _, err := b.Receive(); err != nil {
				return
			}
		}
	})
	connect := func(t *testing.T) *pgconn.PgConn {
		conn, err := pgconn.Connect(context.Background(), url)
		require.NoError(t, err)
		t.Cleanup(func() { _ = conn.Close(context.Background()) })
		return conn
	}
	exec := func(ctx context.Context, conn *pgconn.PgConn) error {
		_, err := conn.ExecParams(ctx, "SELECT pg_sleep(5)", nil, nil, nil, nil).Close()
		return err
	}

	t.Run("cancelled while waiting", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		err := exec(ctx, connect(t))
		require.ErrorIs(t, err, context.Canceled, "precondition")
		requireTyped(t, interpretError(err), ErrCanceled, ErrCanceled)
	})
	t.Run("deadline while waiting", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		err := exec(ctx, connect(t))
		require.True(t, pgconn.Timeout(err), "precondition: %v", err)
		e := requireTyped(t, interpretError(err), ErrCanceled, ErrCanceled)
		require.ErrorIs(t, e, context.DeadlineExceeded)
	})
	t.Run("ended before the send", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := exec(ctx, connect(t))
		require.True(t, pgconn.SafeToRetry(err), "precondition: nothing sent: %v", err)
		requireTyped(t, interpretError(err), ErrCanceled, ErrCanceled)
	})
	t.Run("cancelled while connecting", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := pgconn.Connect(ctx, url)
		var ce *pgconn.ConnectError
		require.ErrorAs(t, err, &ce, "precondition")
		requireTyped(t, interpretError(err), ErrCanceled, ErrCanceled)
	})
}

// refusal is a caller's own error type around a database error.
type refusal struct{ err error }

func (r refusal) Error() string { return "outbox refused: " + r.err.Error() }
func (r refusal) Unwrap() error { return r.err }

// An error the caller built around a database error keeps the caller's
// message and chain; the typed form is added to the chain.
func TestCallerErrorsKeepTheirMessageAndChain(t *testing.T) {
	t.Parallel()
	errSaving := errors.New("outbox: saving failed")
	pgErr := &pgconn.PgError{Code: "23505", ConstraintName: "outbox_pkey", Message: "duplicate key value violates unique constraint"}
	for _, err := range []error{
		fmt.Errorf("%w: %w", errSaving, pgErr),
		refusal{fmt.Errorf("%w: %w", errSaving, pgErr)},
		errors.Join(errSaving, pgErr),
	} {
		got := Interpret(err)
		require.Equal(t, err.Error(), got.Error(), "the caller's message")
		require.ErrorIs(t, got, errSaving, "the caller's sentinel")
		require.ErrorIs(t, got, ErrUnique)
		var e *Error
		require.ErrorAs(t, got, &e)
		require.Equal(t, ErrUnique, e.Kind)
		require.Equal(t, "23505", e.Code)
		require.Equal(t, "outbox_pkey", e.Constraint)
		var p *pgconn.PgError
		require.ErrorAs(t, got, &p)
		if _, ok := err.(refusal); ok {
			var r refusal
			require.ErrorAs(t, got, &r, "the caller's own type")
		}
		require.Equal(t, got, Interpret(got), "interpreting twice changes nothing")
	}
	// A caller's context around a failed connection is kept the same way.
	got := Interpret(fmt.Errorf("%w: %w", errSaving, io.ErrUnexpectedEOF))
	require.Equal(t, "outbox: saving failed: unexpected EOF", got.Error())
	require.ErrorIs(t, got, errSaving)
	requireTyped(t, got, ErrRolledBack, ErrConnection)

	// The database's own error, as pgx returns it, becomes the *Error.
	e, ok := Interpret(pgErr).(*Error)
	require.True(t, ok, "an *Error at the top")
	require.Same(t, pgErr, e.Err)
	// Errors that hold no database error, and typed ones, pass unchanged.
	require.Same(t, errSaving, Interpret(errSaving))
	typed := fmt.Errorf("creating: %w", Interpret(pgErr))
	require.Same(t, typed, Interpret(typed))
	require.NoError(t, Interpret(nil))
}

// outcomeUnknown is what the request layer makes of its COMMIT's error.
func TestOutcomeUnknown(t *testing.T) {
	t.Parallel()
	require.NoError(t, withOutcome(ErrOutcomeUnknown, nil))
	for _, err := range []error{
		io.ErrUnexpectedEOF,
		&pgconn.PgError{Severity: "FATAL", Code: "57P01", Message: "terminating connection due to administrator command"},
		context.Canceled,
		context.DeadlineExceeded,
		interpretError(io.EOF), // typed already, as a repository returns it
		pgconn.ErrConnClosed,   // not sent, says pgconn; see outcomeUnknown
	} {
		got := withOutcome(ErrOutcomeUnknown, err)
		requireTyped(t, got, ErrOutcomeUnknown, ErrConnection)
		require.NotErrorIs(t, got, ErrRolledBack, "%v: one outcome", err)
		require.NotErrorIs(t, got, ErrNotSent, "%v: one outcome", err)
		require.NotErrorIs(t, got, ErrCanceled, "%v: one outcome", err)
	}
	require.ErrorIs(t, withOutcome(ErrOutcomeUnknown, context.Canceled), context.Canceled, "the cause stays reachable")
	e := requireTyped(t, withOutcome(ErrOutcomeUnknown, &pgconn.PgError{Code: "57P01", Message: "m"}), ErrOutcomeUnknown, ErrConnection)
	require.Equal(t, "57P01", e.Code)

	// A joined rollback error keeps its message, as interpretError keeps it.
	joined := errors.Join(io.ErrUnexpectedEOF, errors.New("db: roll back: conn closed"))
	got := withOutcome(ErrOutcomeUnknown, joined)
	require.Equal(t, joined.Error(), got.Error())
	requireTyped(t, got, ErrOutcomeUnknown, ErrConnection)
	require.NotErrorIs(t, got, ErrRolledBack)

	// An answer is an outcome: the server refused the COMMIT, or cancelled it.
	requireTyped(t, withOutcome(ErrOutcomeUnknown, &pgconn.PgError{Code: "23505", Message: "m"}), ErrUnique, ErrUnique)
	requireTyped(t, withOutcome(ErrOutcomeUnknown, &pgconn.PgError{Code: "57014", Message: "canceling statement due to user request"}), ErrCanceled, ErrCanceled)
	plain := errors.New("not a database error")
	require.Same(t, plain, withOutcome(ErrOutcomeUnknown, plain))
}
