package conformance

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
)

// faultScenario is a run of one-call requests (Creates, and Pause or
// Resume calls) on app, each broken by each in its own way.
type faultScenario struct {
	name            string
	app             *faultApp
	creates, pauses int
	// each makes request i (numbered over both kinds) with the context and
	// fault it chooses, and returns the request's error.
	each func(i int, req func(context.Context) error) error
	// end runs after the last request, before the scenario's sessions are
	// waited for (stop a killer, close a proxy).
	end func()
	// limit, when set, is how long a request may take past its context's
	// deadline (DB-FAULT-1: deadlines hold).
	limit time.Duration
}

// run runs sc and returns the tallies of its Creates and of its pause calls.
func (f *faultFixture) run(t *testing.T, sc faultScenario) (creates, pauses *tally) {
	t.Helper()
	calls := f.pauseCalls(t, f.d.Pool, f.d.App, sc.pauses)
	createErrs := make([]error, sc.creates)
	pauseErrs := make([]error, sc.pauses)
	i, slow := 0, 0
	timed := func(req func(context.Context) error) func(context.Context) error {
		return func(ctx context.Context) error {
			err := req(ctx)
			if dl, ok := ctx.Deadline(); ok && sc.limit > 0 && time.Since(dl) > sc.limit {
				slow++
				t.Errorf("%s: a request returned %s after its deadline (allowed %s): %v", sc.name, time.Since(dl).Round(time.Millisecond), sc.limit, err)
			}
			return err
		}
	}
	for k := 0; k < max(sc.creates, sc.pauses); k++ {
		if k < sc.creates {
			in := f.newActivity(f.createMarker(sc.name, k))
			in.ID = uuid.NewSHA1(uuid.NameSpaceOID, []byte(in.Notes))
			createErrs[k] = sc.each(i, timed(func(ctx context.Context) error {
				_, err := sc.app.ProxyActivities().Create(ctx, f.coordClaims, in)
				return err
			}))
			i++
		}
		if k < sc.pauses {
			c := calls[k]
			pauseErrs[k] = sc.each(i, timed(func(ctx context.Context) error { return c.run(ctx, sc.app.DB, f.coordClaims) }))
			i++
		}
	}
	if sc.end != nil {
		sc.end()
	}
	sc.app.quiesce(t, f.d.Pool)
	notes := f.committedNotes(t, f.d.Pool)
	creates = newTally(sc.name + ": Create")
	for k, err := range createErrs {
		creates.record(err, notes[f.createMarker(sc.name, k)])
	}
	f.retryCreates(t, sc.name, createErrs)
	paused := f.committedPauses(t, f.d.Pool)
	pauses = newTally(sc.name + ": Pause/Resume")
	for k, err := range pauseErrs {
		pauses.record(err, paused[calls[k].mentor])
	}
	return creates, pauses
}

// noFault makes request i with a context of its own, bounded.
func noFault(_ int, req func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return req(ctx)
}

// retryCreates retries, unbroken, every Create of the scenario that failed,
// with the same ID and fields, as a caller does after an error: each retry
// succeeds with that ID, whether or not the first try committed, and
// afterwards every Create has exactly one row and one INSERT audit row.
func (f *faultFixture) retryCreates(t *testing.T, scenario string, errs []error) {
	t.Helper()
	ctx := pgtest.Ctx(t)
	ids := make([]uuid.UUID, len(errs))
	for k, err := range errs {
		in := f.newActivity(f.createMarker(scenario, k))
		in.ID = uuid.NewSHA1(uuid.NameSpaceOID, []byte(in.Notes))
		ids[k] = in.ID
		if err == nil {
			continue
		}
		got, err := f.d.App.ProxyActivities().Create(ctx, f.coordClaims, in)
		require.NoError(t, err, "the retry of a failed Create with its ID succeeds")
		require.Equal(t, in.ID, got.ID)
	}
	var rows, audits, ok int
	f.d.QueryRow(t, `SELECT (SELECT count(*) FROM proxy_activities WHERE id = ANY ($1)),
		(SELECT count(*) FROM proxy_audit_log WHERE activity_id = ANY ($1) AND action = 'INSERT'),
		(SELECT count(DISTINCT activity_id) FROM proxy_audit_log WHERE activity_id = ANY ($1) AND action = 'INSERT')`, ids).Scan(t, &rows, &audits, &ok)
	require.Equal(t, len(ids), rows, "one row per Create after the retries")
	require.Equal(t, len(ids), audits, "one INSERT audit row per Create after the retries")
	require.Equal(t, len(ids), ok)
}
