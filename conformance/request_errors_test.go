package conformance

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
)

// requestErrorCases prove DB-2 for the errors a caller causes through a
// request rather than through a constraint: text PostgreSQL cannot store,
// claims that hold such text, locks, an aborted transaction, cancels,
// timeouts and a lost connection, and the caller's own errors around them.
func requestErrorCases(t *testing.T) {
	t.Run("DB-2 NUL or invalid UTF-8 in a text a caller writes is ErrInvalidText, refused before the table", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		touches := f.installTouchProbe(t)
		me := proxyAs(f.coordA, f.orgA)
		act := func(typ, notes string) db.NewProxyActivity {
			return db.NewProxyActivity{AttributedMentorID: f.mentorA, OrgID: f.orgA, ActivityType: typ, Date: proxyDay, DurationMinutes: 30, Notes: notes}
		}
		for name, op := range map[string]func() error{
			"NUL in notes":              func() error { _, err := f.repo.Create(ctx, me, act("visit", "a\x00b")); return err },
			"invalid UTF-8 in the type": func() error { _, err := f.repo.Create(ctx, me, act("visit\xff", "")); return err },
			"NUL in a template's title": func() error {
				_, err := f.repo.CreateTemplate(ctx, me, db.NewRecurringActivityTemplate{OrgID: f.orgA, ActivityType: "visit", Title: "t\x00"})
				return err
			},
			"invalid UTF-8 in a rule text": func() error {
				_, err := f.repo.CreateTemplate(ctx, me, db.NewRecurringActivityTemplate{OrgID: f.orgA, ActivityType: "visit", Title: "t", RecurrenceRule: "\xc3"})
				return err
			},
		} {
			before := touches()
			err := op()
			requireProxyErr(t, err, db.ErrInvalidText, db.ErrInvalidInput, "22021", "")
			require.False(t, fromDatabase(err), "%s: a pre-check", name)
			require.Equal(t, before, touches(), "%s: refused before the table", name)
		}
	})

	t.Run("DB-2 NUL or invalid UTF-8 in the caller's own SQL: r.Tx() returns pgx's error and db.Interpret types it (22021, 22P05)", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		for _, c := range []struct {
			sql, arg, code string
		}{
			{`SELECT $1::text`, "a\x00b", "22021"},
			{`SELECT $1::text`, "a\xffb", "22021"},
			// JSON may spell a NUL; jsonb, which auth.jwt() casts the
			// claims to, refuses it.
			{`SELECT $1::text::jsonb`, `{"nickname": "\u0000"}`, "22P05"},
		} {
			var raw, typed error
			err := d.App.Do(ctx, db.ServiceRole(), func(r *db.Request) error {
				var s string
				raw = r.Tx().QueryRow(ctx, c.sql, c.arg).Scan(&s)
				typed = db.Interpret(raw)
				return raw
			})
			var pgErr *pgconn.PgError
			require.ErrorAs(t, raw, &pgErr, "%q: r.Tx() keeps pgx's contract", c.arg)
			require.Equal(t, c.code, pgErr.Code, pgErr.Message)
			requireProxyErr(t, typed, db.ErrInvalidText, db.ErrInvalidInput, c.code, "")
			requireProxyErr(t, err, db.ErrInvalidText, db.ErrInvalidInput, c.code, "")
		}
	})

	t.Run("DB-2 NUL or invalid UTF-8 in user_metadata claims is ErrInvalidClaims before the database", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		org := d.NewOrg(t)
		user := d.NewMember(t, org, "peer_mentor")
		// What the database says to such claims: auth.jwt() (and with it
		// auth.uid() and every policy) casts them to jsonb.
		err := pgx.BeginFunc(ctx, d.Pool, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `SELECT set_config('request.jwt.claims', $1, true), auth.jwt()`, `{"user_metadata": {"nickname": "\u0000"}}`)
			return err
		})
		requireProxyErr(t, db.Interpret(err), db.ErrInvalidText, db.ErrInvalidInput, "22P05", "")

		for name, value := range map[string]string{"NUL": "a\x00b", "invalid UTF-8": "a\xffb"} {
			claims := db.User(user, org)
			claims.UserMetadata["nickname"] = value // a user can edit their own user_metadata
			called := false
			err := d.App.Do(ctx, claims, func(r *db.Request) error {
				called = true
				var n int
				return r.Tx().QueryRow(ctx, `SELECT count(*) FROM organizations`).Scan(&n)
			})
			dbErr := requireProxyErr(t, err, db.ErrInvalidClaims, db.ErrInvalidInput, "", "")
			require.Contains(t, dbErr.Message, "user_metadata", name)
			require.False(t, called, "%s: refused before the request", name)

			// The same on a transaction the caller holds, which stays usable.
			tx, err := d.Pool.Begin(ctx)
			require.NoError(t, err)
			err = db.DoTx(ctx, tx, claims, func(r *db.Request) error { called = true; return nil })
			requireProxyErr(t, err, db.ErrInvalidClaims, db.ErrInvalidInput, "", "")
			require.False(t, called, name)
			_, err = tx.Exec(ctx, `SELECT 1`)
			require.NoError(t, err, name)
			require.NoError(t, tx.Rollback(ctx))
		}
	})

	t.Run("DB-2 a lock not granted within lock_timeout is ErrLockTimeout, class ErrConflict", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		holder, err := d.Pool.Begin(ctx)
		require.NoError(t, err)
		defer func() { _ = holder.Rollback(ctx) }()
		_, err = holder.Exec(ctx, `LOCK TABLE public.organizations IN ACCESS EXCLUSIVE MODE`)
		require.NoError(t, err)
		err = d.App.Do(ctx, db.ServiceRole(), func(r *db.Request) error {
			if _, err := r.Tx().Exec(ctx, `SET LOCAL lock_timeout = '100ms'`); err != nil {
				return err
			}
			var n int
			return r.Tx().QueryRow(ctx, `SELECT count(*) FROM organizations`).Scan(&n)
		})
		requireProxyErr(t, err, db.ErrLockTimeout, db.ErrConflict, "55P03", "")
	})

	t.Run("DB-2 a statement after an error in the same request is ErrTxAborted", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		// The cast runs when the statement executes, not when it is
		// prepared, so it fails inside the request's transaction.
		err := d.App.Do(ctx, db.ServiceRole(), func(r *db.Request) error {
			_, first := r.Tx().Exec(ctx, `SELECT 'not a uuid'::text::uuid`)
			requireProxyErr(t, db.Interpret(first), db.ErrInvalidInput, db.ErrInvalidInput, "22P02", "")
			_, err := r.Tx().Exec(ctx, `SELECT 1`)
			return err
		})
		requireProxyErr(t, err, db.ErrTxAborted, db.ErrTxAborted, "25P02", "")

		// fn swallows the error: COMMIT ends the failed transaction with a
		// rollback, which is the same error, not a success.
		err = d.App.Do(ctx, db.ServiceRole(), func(r *db.Request) error {
			_, _ = r.Tx().Exec(ctx, `SELECT 'not a uuid'::text::uuid`)
			_, _ = r.Tx().Exec(ctx, `SELECT 1`)
			return nil
		})
		requireProxyErr(t, err, db.ErrTxAborted, db.ErrTxAborted, "", "")
		require.ErrorIs(t, err, pgx.ErrTxCommitRollback)
	})

	t.Run("DB-2 a backend terminated under a request is ErrConnection, ErrRolledBack, and nothing of it committed", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		name := "terminated-" + uuid.NewString()
		err := d.App.Do(ctx, db.ServiceRole(), func(r *db.Request) error {
			var pid int
			if err := r.Tx().QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
				return err
			}
			if _, err := r.Admin().CreateOrganization(ctx, name); err != nil {
				return err
			}
			var gone bool
			// Waits (up to 5 s) until the backend has exited.
			if err := d.Pool.QueryRow(ctx, `SELECT pg_terminate_backend($1, 5000)`, pid).Scan(&gone); err != nil || !gone {
				t.Errorf("terminate %d: %v %v", pid, gone, err)
			}
			_, err := r.Tx().Exec(ctx, `SELECT 1`)
			return err
		})
		dbErr := requireProxyErr(t, err, db.ErrRolledBack, db.ErrConnection, codeOf(err), "")
		require.NotErrorIs(t, err, db.ErrNotSent)
		require.NotEmpty(t, dbErr.Message)
		var n int
		require.NoError(t, d.Pool.QueryRow(ctx, `SELECT count(*) FROM organizations WHERE name = $1`, name).Scan(&n))
		require.Zero(t, n, "the request's write did not commit")
	})

	t.Run("DB-2 a cancel by the caller is ErrCanceled, the statement timeout ErrStatementTimeout", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		// sleep runs pg_sleep(5) in a request on ctx; while (the backend's
		// pid) runs once the statement is sleeping on the server.
		sleep := func(ctx context.Context, setup string, while func(pid int)) (error, time.Duration) {
			t0 := time.Now()
			err := d.App.Do(ctx, db.ServiceRole(), func(r *db.Request) error {
				var pid int
				if err := r.Tx().QueryRow(context.WithoutCancel(ctx), `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
					return err
				}
				if setup != "" {
					if _, err := r.Tx().Exec(ctx, setup); err != nil {
						return err
					}
				}
				if while != nil {
					go func() { waitSleeping(t, d, pid); while(pid) }()
				}
				_, err := r.Tx().Exec(ctx, `SELECT pg_sleep(5)`)
				return err
			})
			return err, time.Since(t0)
		}

		cctx, cancel := context.WithCancel(ctx)
		err, took := sleep(cctx, "", func(int) { cancel() })
		requireProxyErr(t, err, db.ErrCanceled, db.ErrCanceled, "", "")
		require.ErrorIs(t, err, context.Canceled)
		require.NotErrorIs(t, err, db.ErrStatementTimeout)
		require.Less(t, took, 4*time.Second, "cut off, not run to the end")

		dctx, stop := context.WithTimeout(ctx, 500*time.Millisecond)
		defer stop()
		err, took = sleep(dctx, "", nil)
		requireProxyErr(t, err, db.ErrCanceled, db.ErrCanceled, "", "")
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Less(t, took, 4*time.Second)

		// Another session cancels the statement: 57014 "due to user request".
		err, took = sleep(ctx, "", func(pid int) {
			var ok bool
			if err := d.Pool.QueryRow(ctx, `SELECT pg_cancel_backend($1)`, pid).Scan(&ok); err != nil || !ok {
				t.Errorf("cancel %d: %v %v", pid, ok, err)
			}
		})
		requireProxyErr(t, err, db.ErrCanceled, db.ErrCanceled, "57014", "")
		require.NotErrorIs(t, err, db.ErrStatementTimeout)
		require.Less(t, took, 4*time.Second)

		err, took = sleep(ctx, `SET LOCAL statement_timeout = '200ms'`, nil)
		requireProxyErr(t, err, db.ErrStatementTimeout, db.ErrStatementTimeout, "57014", "")
		require.NotErrorIs(t, err, db.ErrCanceled)
		require.Less(t, took, 4*time.Second)
	})

	t.Run("DB-2 an error fn returns keeps its message and chain, and errors.As finds the *db.Error in it", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		errOutbox := errors.New("outbox: write refused")
		tx, err := d.Pool.Begin(ctx)
		require.NoError(t, err)
		defer func() { _ = tx.Rollback(ctx) }()
		for name, run := range map[string]func(fn func(r *db.Request) error) error{
			"Do":         func(fn func(r *db.Request) error) error { return d.App.Do(ctx, db.ServiceRole(), fn) },
			"DoReadOnly": func(fn func(r *db.Request) error) error { return d.App.DoReadOnly(ctx, db.ServiceRole(), fn) },
			"DoTx":       func(fn func(r *db.Request) error) error { return db.DoTx(ctx, tx, db.ServiceRole(), fn) },
		} {
			var want string
			err := run(func(r *db.Request) error {
				_, err := r.Tx().Exec(ctx, `SELECT 'not a uuid'::text::uuid`)
				wrapped := fmt.Errorf("%w: %w", errOutbox, err)
				want = wrapped.Error()
				return wrapped
			})
			require.Error(t, err, name)
			require.Equal(t, want, err.Error(), "%s: the caller's message", name)
			require.ErrorIs(t, err, errOutbox, name)
			dbErr := requireProxyErr(t, err, db.ErrInvalidInput, db.ErrInvalidInput, "22P02", "")
			require.Contains(t, dbErr.Message, "not a uuid", name)
			var pgErr *pgconn.PgError
			require.ErrorAs(t, err, &pgErr, name)
		}
		// DoTx left the caller's transaction usable.
		_, err = tx.Exec(ctx, `SELECT 1`)
		require.NoError(t, err)
	})
}

// waitSleeping returns once backend pid is in pg_sleep.
func waitSleeping(t *testing.T, d *pgtest.DB, pid int) {
	for range 400 {
		var n int
		if err := d.Pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE pid = $1 AND wait_event = 'PgSleep'`, pid).Scan(&n); err != nil {
			t.Errorf("pg_stat_activity: %v", err)
			return
		}
		if n == 1 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("backend %d never slept", pid)
}

// codeOf is the SQLSTATE of err's server error, "" for none (a connection
// may end with the server's FATAL message or with an EOF, whichever the
// client reads first).
func codeOf(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}
