package conformance

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
)

// callerClaims are the request settings the caller's own transaction holds
// before DoTx, which DoTx must leave as they were.
const callerClaims = `{"role":"caller-of-dotx"}`

// callerTxEnd is a point at which the request's context ends (or fn
// fails) inside DoTx: ctx is DoTx's context, cancel ends it, note marks
// the request's write.
type callerTxEnd struct {
	name string
	// ctx returns DoTx's context and its cancel.
	ctx func() (context.Context, context.CancelFunc)
	// fn is the request; create writes one activity as the request's user.
	fn func(ctx context.Context, cancel context.CancelFunc, r *db.Request, create func() error) error
}

var callerTxEnds = []callerTxEnd{
	{
		name: "the context ended before DoTx",
		ctx: func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		},
		fn: func(_ context.Context, _ context.CancelFunc, _ *db.Request, create func() error) error {
			return create()
		},
	},
	{
		name: "the context ends inside fn between two statements",
		ctx:  cancellable,
		fn: func(ctx context.Context, cancel context.CancelFunc, _ *db.Request, create func() error) error {
			if err := create(); err != nil {
				return err
			}
			cancel()
			return ctx.Err()
		},
	},
	{
		name: "the context's deadline passes inside fn during a statement",
		ctx: func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 300*time.Millisecond)
		},
		fn: func(ctx context.Context, _ context.CancelFunc, r *db.Request, create func() error) error {
			if err := create(); err != nil {
				return err
			}
			_, err := r.Tx().Exec(ctx, `SELECT pg_sleep(3)`)
			return err
		},
	},
	{
		name: "the context ends after fn returned, before DoTx ends",
		ctx:  cancellable,
		fn: func(_ context.Context, cancel context.CancelFunc, _ *db.Request, create func() error) error {
			err := create()
			cancel()
			return err
		},
	},
	{
		name: "fn fails with the context alive",
		ctx:  cancellable,
		fn: func(_ context.Context, _ context.CancelFunc, _ *db.Request, create func() error) error {
			if err := create(); err != nil {
				return err
			}
			return errors.New("fn failed")
		},
	},
	{
		name: "fn panics after the context ended",
		ctx:  cancellable,
		fn: func(_ context.Context, cancel context.CancelFunc, _ *db.Request, create func() error) error {
			if err := create(); err != nil {
				return err
			}
			cancel()
			panic("fn panicked")
		},
	},
}

func cancellable() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}

// testFaultCallerTx: DoTx that fails leaves the caller's transaction as the
// caller's (its role and request settings, none of the request's writes) or
// closes it and says so with ErrCallerTxLost; never a transaction that acts
// as the request's user or would commit its writes.
func testFaultCallerTx(t *testing.T) {
	for _, via := range []string{"directly", "through PgBouncer"} {
		for _, end := range callerTxEnds {
			t.Run(fmt.Sprintf("DB-FAULT-1 DB-REQ-1 DoTx %s when %s leaves the caller's transaction as the caller's or closes it with ErrCallerTxLost", via, end.name), func(t *testing.T) {
				t.Parallel()
				d := pgtest.New(t)
				f := newFaultFixture(t, d)
				var pool *pgxpool.Pool
				if via == "directly" {
					pool = d.Pool
				} else {
					_, pool = poolerApp(t, d, db.TransactionPooler())
				}
				checkCallerTx(t, d, f, pool, end)
				if via != "directly" {
					// Whatever became of the caller's connection, the
					// pooler's server sessions hold nothing of the request.
					for range 4 {
						s, err := probeSession(pgtest.Ctx(t), pool)
						require.NoError(t, err)
						require.NoError(t, s.clean())
					}
				}
			})
		}
	}
}

func checkCallerTx(t *testing.T, d *pgtest.DB, f *faultFixture, pool *pgxpool.Pool, end callerTxEnd) {
	t.Helper()
	bg := pgtest.Ctx(t)
	tx, err := pool.Begin(bg)
	require.NoError(t, err)
	defer tx.Rollback(context.Background())
	var before string
	require.NoError(t, tx.QueryRow(bg, `SELECT current_user || ' ' || set_config('request.jwt.claims', $1, true)`, callerClaims).Scan(&before))

	note := "dotx " + end.name
	ctx, cancel := end.ctx()
	defer cancel()
	var panicked any
	err = func() (err error) {
		defer func() { panicked = recover() }()
		return db.DoTx(ctx, tx, f.coordClaims, func(r *db.Request) error {
			return end.fn(ctx, cancel, r, func() error {
				_, err := r.Activities().Create(ctx, f.newActivity(note))
				return err
			})
		})
	}()
	if panicked == nil {
		require.Error(t, err, "DoTx reports the request's failure")
	}
	t.Logf("DoTx returned %v (panic: %v)", err, panicked)

	if errors.Is(err, db.ErrCallerTxLost) || (panicked != nil && tx.Conn().IsClosed()) {
		// The caller's transaction is gone: nothing more runs in it.
		require.True(t, tx.Conn().IsClosed(), "ErrCallerTxLost: the caller's connection is closed")
		_, err := tx.Exec(bg, `SELECT 1`)
		require.Error(t, err, "a statement on the lost transaction fails")
	} else {
		require.NotErrorIs(t, err, db.ErrCallerTxLost)
		var now string
		require.NoError(t, tx.QueryRow(bg, `SELECT current_user || ' ' || coalesce(current_setting('request.jwt.claims', true), '')`).Scan(&now),
			"DoTx did not report ErrCallerTxLost, so the caller's transaction is usable")
		require.Equal(t, before, now, "the caller's role and claims are back")
		var n int
		require.NoError(t, tx.QueryRow(bg, `SELECT count(*) FROM public.proxy_activities WHERE notes = $1`, note).Scan(&n))
		require.Zero(t, n, "the request's write is undone in the caller's transaction")
		require.NoError(t, tx.Commit(bg), "the caller's transaction commits")
	}
	var n int
	d.QueryRow(t, `SELECT count(*) FROM proxy_activities WHERE notes = $1`, note).Scan(t, &n)
	require.Zero(t, n, "nothing of the failed request committed")
}
