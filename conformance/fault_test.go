package conformance

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/faultproxy"
	"github.com/mentordb/mentordb/conformance/pgtest"
)

// testFaults breaks one-call requests (a Create, a Pause or Resume: BEGIN,
// the preamble, the statement and COMMIT in one pipelined write) in every
// way a network, a server or a caller can, and checks that what the call
// reports is exact (DB-FAULT-1): a success committed, a definite error
// committed nothing, and only ErrOutcomeUnknown may hide a commit. Every
// scenario logs its counts; the assertions are on the violations only, which
// are zero whatever the random timing. Requests run one at a time, so each
// outcome is read back for that request alone (its notes, its mentor's log
// row) once every session of the scenario has ended.
func testFaults(t *testing.T) {
	t.Parallel()
	testFaultRestarts(t)
	testFaultCallerTx(t)
	testFaultDeadlines(t)
	testFaultRetries(t)
	testFaultPauseRetries(t)

	t.Run("DB-FAULT-1 one-call Create, Pause and Resume under random context deadlines report exactly what committed", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		f := newFaultFixture(t, d)
		p := startProxy(t, d.URL)
		app := newFaultApp(t, viaProxy(t, d.URL, p))
		// Half the deadlines run from the call (randomDelay): they end
		// requests before they are sent, or not at all. The other half run
		// from the moment the pipeline goes on the wire (the proxy only
		// watches), up to 3 ms later: they end requests while the server
		// runs them, after COMMIT was sent, whatever the machine's load.
		creates, pauses := f.run(t, faultScenario{
			name: "random deadlines", app: app, creates: 40, pauses: 20,
			each: func(i int, req func(context.Context) error) error {
				if i%2 == 0 {
					ctx, cancel := context.WithTimeout(context.Background(), randomDelay())
					defer cancel()
					return req(ctx)
				}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				p.ArmThen(faultproxy.Pass, func() {
					time.AfterFunc(time.Duration(rand.Int64N(int64(3*time.Millisecond))), cancel)
				})
				defer p.Arm(faultproxy.None)
				return req(ctx)
			},
			end: func() { p.Close() },
		})
		creates.check(t)
		pauses.check(t)
	})

	t.Run("DB-FAULT-1 one-call Create, Pause and Resume while their backends are terminated at random moments report exactly what committed", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		f := newFaultFixture(t, d)
		app := newFaultApp(t, d.URL)
		// Each request's backend is terminated after a random delay
		// (randomDelay) unless the request ended before; the app's requests
		// run one at a time, so its sessions are the request's.
		kills := 0
		creates, pauses := f.run(t, faultScenario{
			name: "pg_terminate_backend", app: app, creates: 40, pauses: 20,
			each: func(i int, req func(context.Context) error) error {
				done, killed := make(chan struct{}), make(chan struct{})
				go func() {
					defer close(killed)
					select {
					case <-done:
						return
					case <-time.After(randomDelay()):
					}
					var n int
					if err := d.Pool.QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
						WHERE application_name = $1`, app.name).Scan(&n); err == nil {
						kills += n
					}
				}()
				err := noFault(i, req)
				close(done)
				<-killed
				return err
			},
		})
		t.Logf("%d backends terminated", kills)
		require.Positive(t, kills)
		creates.check(t)
		pauses.check(t)
	})

	cuts := []struct {
		fault faultproxy.Fault
		why   string
	}{
		{faultproxy.CutBeforeWrite, "nothing reached the server"},
		{faultproxy.CutAfterWrite, "the server got the whole request, COMMIT included, and no answer came back"},
		{faultproxy.CutBeforeCommitAnswer, "the server committed and the client got the statement's answer but not COMMIT's"},
	}
	for _, c := range cuts {
		t.Run("DB-FAULT-1 one-call Create, Pause and Resume whose connection is cut by a proxy at one point of the pipeline ("+c.fault.String()+": "+c.why+") report exactly what committed", func(t *testing.T) {
			t.Parallel()
			d := pgtest.New(t)
			f := newFaultFixture(t, d)
			p := startProxy(t, d.URL)
			app := newFaultApp(t, viaProxy(t, d.URL, p))
			creates, pauses := f.run(t, faultScenario{
				name: c.fault.String(), app: app, creates: 12, pauses: 6,
				each: func(i int, req func(context.Context) error) error {
					p.Arm(c.fault)
					defer p.Arm(faultproxy.None)
					return noFault(i, req)
				},
				end: func() { p.Close() },
			})
			require.EqualValues(t, creates.issued+pauses.issued, p.Fired(), "the fault met every request")
			switch c.fault {
			case faultproxy.CutBeforeWrite:
				require.Zero(t, creates.committed+pauses.committed, "nothing of a dropped request commits")
			case faultproxy.CutBeforeCommitAnswer:
				require.Equal(t, creates.issued, creates.committed, "every Create reached COMMIT (the cut drops COMMIT's answer)")
			}
			creates.check(t)
			pauses.check(t)
		})
	}

	stalls := []faultproxy.Fault{faultproxy.StallBeforeWrite, faultproxy.StallAfterWrite}
	for _, s := range stalls {
		t.Run("DB-FAULT-1 one-call Create, Pause and Resume whose connection stalls ("+s.String()+") end at their context's deadline (within one second) and report exactly what committed", func(t *testing.T) {
			t.Parallel()
			d := pgtest.New(t)
			f := newFaultFixture(t, d)
			p := startProxy(t, d.URL)
			app := newFaultApp(t, viaProxy(t, d.URL, p))
			// The deadline runs from the moment the proxy holds the request
			// (ArmThen), so it is the stall, never the machine's load, that
			// the deadline has to end.
			const deadline = 100 * time.Millisecond
			creates, pauses := f.run(t, faultScenario{
				name: s.String(), app: app, creates: 6, pauses: 4,
				each: func(_ int, req func(context.Context) error) error {
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					ended := make(chan time.Time, 1)
					p.ArmThen(s, func() {
						time.AfterFunc(deadline, func() { ended <- time.Now(); cancel() })
					})
					defer p.Arm(faultproxy.None)
					err := req(ctx)
					select {
					case at := <-ended:
						require.Less(t, time.Since(at), time.Second, "a stalled request ends within a second of its context's end")
					default:
						t.Errorf("the request ended before the stall met it: %v", err)
					}
					return err
				},
				end: func() { p.Close() },
			})
			require.EqualValues(t, creates.issued+pauses.issued, p.Fired(), "the stall met every request")
			require.Zero(t, creates.ok+pauses.ok, "no stalled request succeeds")
			creates.check(t)
			pauses.check(t)
		})
	}
}

// randomDelay is drawn log-uniformly from [50µs, 100ms): as likely
// below a warm request's duration (a millisecond or two) as above it,
// whatever the machine's load, so random deadlines and kills hit every part
// of a request: before it is sent, while the server runs it, after COMMIT
// was sent, and not at all.
func randomDelay() time.Duration {
	const lo, hi = float64(50 * time.Microsecond), float64(100 * time.Millisecond)
	return time.Duration(lo * math.Exp(rand.Float64()*math.Log(hi/lo)))
}
