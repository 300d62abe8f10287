package conformance

import (
	"context"
	"testing"
	"time"
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
			note := f.createMarker(sc.name, k)
			createErrs[k] = sc.each(i, timed(func(ctx context.Context) error {
				_, err := sc.app.ProxyActivities().Create(ctx, f.coordClaims, f.newActivity(note))
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
