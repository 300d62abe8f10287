package conformance

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/faultproxy"
	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
)

// stallDeadline is the caller's deadline in the stall tests, and
// stallGrace what a call may take past it.
const (
	stallDeadline = 300 * time.Millisecond
	stallGrace    = time.Second
)

// stalledEnds are the ways fn ends once the network stalls under it: the
// end of the request (its rollback or its commit) then cannot reach the
// server.
var stalledEnds = []struct {
	name string
	fn   func(ctx context.Context) error
}{
	{"fn fails at once (the rollback stalls)", func(context.Context) error { return errors.New("fn failed") }},
	{"fn waits for the deadline and returns its error (the rollback stalls)", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }},
	{"fn succeeds (the commit stalls)", func(context.Context) error { return nil }},
}

// testFaultDeadlines: a request's deadline holds while it ends, also when
// the network or the backend stalls under it (DB-FAULT-1: deadlines hold
// during rollback).
func testFaultDeadlines(t *testing.T) {
	for _, end := range stalledEnds {
		t.Run("DB-FAULT-1 d.Do returns within its context's deadline plus one second when the connection stalls after a write and "+end.name+", and nothing of it commits unless it says the outcome is unknown", func(t *testing.T) {
			t.Parallel()
			d := pgtest.New(t)
			f := newFaultFixture(t, d)
			p := startProxy(t, d.URL)
			app := newFaultApp(t, viaProxy(t, d.URL, p))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var clock stallClock
			err := clock.within(t, p, func() error {
				return app.Do(ctx, f.coordClaims, func(r *db.Request) error {
					if _, err := r.Activities().Create(ctx, f.newActivity("stalled do")); err != nil {
						return err
					}
					p.StallAll()
					clock.start(cancel)
					return end.fn(ctx)
				})
			})
			p.Close()
			app.quiesce(t, d.Pool)
			s := newTally("d.Do, then a stall: " + end.name)
			s.record(err, f.committedNotes(t, d.Pool)["stalled do"])
			s.check(t)
			require.Error(t, err)
		})
		t.Run("DB-FAULT-1 DoTx returns within its context's deadline plus one second when the caller's connection stalls and "+end.name+", with ErrCallerTxLost", func(t *testing.T) {
			t.Parallel()
			d := pgtest.New(t)
			f := newFaultFixture(t, d)
			p := startProxy(t, d.URL)
			caller := newFaultApp(t, viaProxy(t, d.URL, p))
			tx, err := caller.pool.Begin(pgtest.Ctx(t))
			require.NoError(t, err)
			defer func() {
				p.Close() // first: a stalled connection would hold the rollback
				rctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				_ = tx.Rollback(rctx)
			}()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var clock stallClock
			err = clock.within(t, p, func() error {
				return db.DoTx(ctx, tx, f.coordClaims, func(r *db.Request) error {
					if _, err := r.Activities().Create(ctx, f.newActivity("stalled dotx")); err != nil {
						return err
					}
					p.StallAll()
					clock.start(cancel)
					return end.fn(ctx)
				})
			})
			// Stalled, neither the savepoint's rollback nor the restore of
			// the caller's settings can reach the server in time: the only
			// safe end is to give up the caller's transaction.
			require.ErrorIs(t, err, db.ErrCallerTxLost)
			require.True(t, tx.Conn().IsClosed(), "the caller's connection is closed")
			p.Close()
			caller.quiesce(t, d.Pool)
			require.False(t, f.committedNotes(t, d.Pool)["stalled dotx"], "nothing of the caller's transaction committed")
		})
	}
}

// stallClock is a request's deadline, started when the network stalls
// (start), so it is the stall, never the machine's load, that the deadline
// has to end.
type stallClock struct {
	mu sync.Mutex
	at time.Time // the deadline; zero until start
}

// start ends the context (cancel) stallDeadline from now.
func (c *stallClock) start(cancel context.CancelFunc) {
	c.mu.Lock()
	c.at = time.Now().Add(stallDeadline)
	c.mu.Unlock()
	time.AfterFunc(stallDeadline, cancel)
}

func (c *stallClock) deadline() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at
}

// within runs call and fails the test unless it returns within stallGrace
// of the deadline; a call that does not is released by closing the proxy,
// so the test ends either way.
func (c *stallClock) within(t *testing.T, p *faultproxy.Proxy, call func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- call() }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	giveUp := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-done:
			if dl := c.deadline(); !dl.IsZero() {
				late := time.Since(dl)
				require.LessOrEqual(t, late, stallGrace, "returned %s after its deadline", late.Round(time.Millisecond))
			}
			return err
		case now := <-tick.C:
			dl := c.deadline()
			if (!dl.IsZero() && now.Sub(dl) > stallGrace+2*time.Second) || now.After(giveUp) {
				t.Errorf("still running %s after its deadline (allowed %s); releasing it by closing the proxy", now.Sub(dl).Round(time.Millisecond), stallGrace)
				p.Close()
				return <-done
			}
		}
	}
}
