package conformance

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
)

// pauseConcurrency is the PS-RPC-3 part of testPause.
func pauseConcurrency(t *testing.T, setup func(*testing.T) *pauseFixture) {
	for _, c := range []struct {
		name    string
		second  string // what session B calls
		wantErr error
		final   string
		log     []string // new_status of each log row
	}{
		{"PS-RPC-3 seed case 7: concurrent activate_pause calls for one mentor serialize on the advisory lock",
			`SELECT activate_pause($1)`, db.ErrInvalidTransition, "paused", []string{"paused"}},
		{"PS-RPC-3 activate_pause then deactivate_pause for one mentor serialize on the advisory lock",
			`SELECT deactivate_pause($1)`, nil, "active", []string{"paused", "active"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			ctx := pgtest.Ctx(t)
			pidA, commitA := pauseOpenRequest(t, ctx, f.d, db.User(f.mentor, f.orgA), `SELECT activate_pause($1)`, f.mentor)
			pidB, doneB := pauseStartRequest(t, ctx, f.d, db.User(f.coordA, f.orgA), c.second, f.mentor)
			pauseWaitForAdvisoryWait(t, ctx, f.d, pidB, pidA, f.mentor)
			select {
			case err := <-doneB:
				t.Fatalf("session B finished while A held the lock: %v", err)
			default:
			}
			require.Equal(t, "", statusOf(t, f.d, f.mentor, f.orgA), "A has not committed yet")

			require.NoError(t, commitA())
			select {
			case err := <-doneB:
				if c.wantErr == nil {
					require.NoError(t, err)
				} else {
					require.ErrorIs(t, err, c.wantErr)
				}
			case <-ctx.Done():
				t.Fatal("session B did not finish after A committed")
			}
			require.Equal(t, c.final, statusOf(t, f.d, f.mentor, f.orgA))
			var got []string
			for _, l := range logRows(t, f.d, f.mentor, f.orgA) {
				got = append(got, l.next)
			}
			require.Equal(t, c.log, got)
			requireLogMatchesStatus(t, f.d)
		})
	}

	t.Run("PS-RPC-3 calls for different mentors do not wait on each other", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		ctx := pgtest.Ctx(t)
		f.mustPause(t, ctx, f.coordA, f.orgA, f.mentor2) // B takes the resume path
		pidA, commitA := pauseOpenRequest(t, ctx, f.d, db.User(f.coordA, f.orgA), `SELECT activate_pause($1)`, f.mentor)
		// pauseOpenRequest returns only once B's call has run: had it waited on A,
		// which is still open, it could not have.
		pidB, commitB := pauseOpenRequest(t, ctx, f.d, db.User(f.coordA, f.orgA), `SELECT deactivate_pause($1)`, f.mentor2)
		var blocked []int32
		var lockKeys int
		require.NoError(t, f.d.Pool.QueryRow(ctx, `
			SELECT ARRAY(SELECT unnest(pg_blocking_pids($1)) UNION SELECT unnest(pg_blocking_pids($2))),
			       (SELECT count(DISTINCT objid) FROM pg_locks
			        WHERE locktype = 'advisory' AND granted AND classid = $3::bigint::oid AND pid IN ($1, $2))`,
			pidA, pidB, int64(db.PauseLockNamespace)).Scan(&blocked, &lockKeys))
		require.Empty(t, blocked, "neither session waits")
		require.Equal(t, 2, lockKeys, "both hold their own mentor's advisory lock at once")
		require.NoError(t, commitB())
		require.NoError(t, commitA())
		require.Equal(t, "paused", statusOf(t, f.d, f.mentor, f.orgA))
		require.Equal(t, "active", statusOf(t, f.d, f.mentor2, f.orgA))
		requireLogMatchesStatus(t, f.d)
	})

	t.Run("PS-RPC-3 a burst of 50 mixed calls for one mentor: one log row per successful call, no deadlock, no lost update", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		f.mustPause(t, pgtest.Ctx(t), f.mentor, f.orgA, f.mentor)
		f.mustResume(t, pgtest.Ctx(t), f.mentor, f.orgA, f.mentor) // a row exists, so no resume is "unknown mentor"
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()

		const calls = 50
		errs := make([]error, calls)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range calls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				actor := f.mentor
				if i%3 == 0 {
					actor = f.coordA
				}
				<-start
				if i%2 == 0 {
					_, errs[i] = f.repo.Pause(ctx, db.User(actor, f.orgA), f.mentor, db.PauseOptions{})
				} else {
					_, errs[i] = f.repo.Resume(ctx, db.User(actor, f.orgA), f.mentor, "")
				}
			}()
		}
		close(start)
		wg.Wait()
		require.NoError(t, ctx.Err(), "the burst did not finish in time")

		pauses, resumes := 0, 0
		for i, err := range errs {
			switch {
			case err == nil && i%2 == 0:
				pauses++
			case err == nil:
				resumes++
			default:
				require.ErrorIs(t, err, db.ErrInvalidTransition, "call %d", i)
			}
		}
		log := logRows(t, f.d, f.mentor, f.orgA)
		require.Len(t, log, 2+pauses+resumes, "one log row per successful call")
		require.Positive(t, pauses)
		final := statusOf(t, f.d, f.mentor, f.orgA)
		requirePauseChain(t, log, final)
		wantFinal := map[int]string{0: "active", 1: "paused"}[pauses-resumes]
		require.Equal(t, wantFinal, final, "%d pauses and %d resumes succeeded from active", pauses, resumes)
	})
}

// pauseOpenRequest runs sql as claims in a request that stays open, uncommitted,
// until commit is called. It returns once sql has run (failing the test if
// that takes longer than 10 s), with the session's backend pid.
func pauseOpenRequest(t *testing.T, ctx context.Context, d *pgtest.DB, claims db.Claims, sql string, args ...any) (pid int32, commit func() error) {
	t.Helper()
	ready := make(chan int32, 1)
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- d.As(ctx, claims, func(tx pgx.Tx) error {
			var pid int32
			if err := tx.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, sql, args...); err != nil {
				return err
			}
			ready <- pid
			<-release
			return nil
		})
	}()
	var once sync.Once
	let := func() { once.Do(func() { close(release) }) }
	t.Cleanup(let)
	select {
	case pid = <-ready:
	case err := <-done:
		t.Fatalf("request failed: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not complete: it waits on something", sql)
	}
	return pid, func() error { let(); return <-done }
}

// pauseStartRequest runs sql as claims in a request in the background. It returns
// the session's backend pid as soon as the request has begun, and the
// request's result.
func pauseStartRequest(t *testing.T, ctx context.Context, d *pgtest.DB, claims db.Claims, sql string, args ...any) (int32, <-chan error) {
	t.Helper()
	began := make(chan int32, 1)
	done := make(chan error, 1)
	go func() {
		done <- d.As(ctx, claims, func(tx pgx.Tx) error {
			var pid int32
			if err := tx.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
				return err
			}
			began <- pid
			_, err := tx.Exec(ctx, sql, args...)
			return err
		})
	}()
	select {
	case pid := <-began:
		return pid, done
	case err := <-done:
		t.Fatalf("request failed: %v", err)
	case <-ctx.Done():
		t.Fatal("request did not begin")
	}
	return 0, nil
}

// pauseWaitForAdvisoryWait polls until session waiter is blocked by session holder
// (pg_blocking_pids), waiting on the pause advisory lock of mentor
// (pg_stat_activity and pg_locks) that holder holds.
func pauseWaitForAdvisoryWait(t *testing.T, ctx context.Context, d *pgtest.DB, waiter, holder int32, mentor uuid.UUID) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var blockedBy, advisoryWait, sameKey bool
		require.NoError(t, d.Pool.QueryRow(ctx, `
			SELECT $2::int = ANY (pg_blocking_pids($1)),
			       coalesce((SELECT wait_event_type = 'Lock' AND wait_event = 'advisory' FROM pg_stat_activity WHERE pid = $1), false),
			       EXISTS (SELECT 1 FROM pg_locks w JOIN pg_locks h
			                 ON h.locktype = 'advisory' AND h.granted AND h.pid = $2 AND h.database = w.database
			                AND h.classid = w.classid AND h.objid = w.objid AND h.objsubid = w.objsubid
			               WHERE w.pid = $1 AND w.locktype = 'advisory' AND NOT w.granted
			                 AND w.classid = $3::bigint::oid AND w.objsubid = 2
			                 AND w.objid = (hashtext($4::text)::bigint & 4294967295)::oid)`,
			waiter, holder, int64(db.PauseLockNamespace), mentor.String()).Scan(&blockedBy, &advisoryWait, &sameKey))
		if blockedBy && advisoryWait && sameKey {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %d never waited on %d's advisory lock (blocked=%v advisory wait=%v same key=%v)", waiter, holder, blockedBy, advisoryWait, sameKey)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
