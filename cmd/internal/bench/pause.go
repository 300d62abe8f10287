package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mentordb/mentordb/db"
	"github.com/mentordb/mentordb/gen"
)

type pauseTarget struct {
	mentor, org, coord uuid.UUID
}

// measurePause: figure 5. PauseClients clients pause PauseMentors different
// mentors (each client its own share, one request per mentor). Baselines: the
// same clients doing a plain UPDATE of the same status rows, once as the same
// coordinator through RLS (db.As) and once as the owner without RLS. Before
// every timed run the rows are reset to active (untimed) and the status
// tables vacuumed, so every run starts from the same state. A sampler watches
// pg_stat_activity for lock waits throughout, attributing them to the
// variant running, and the server logs every wait over deadlock_timeout.
func (b *bench) measurePause(ctx context.Context) error {
	var targets []pauseTarget
	for _, o := range b.orgs {
		paused := map[uuid.UUID]bool{}
		for _, p := range o.Paused {
			paused[p] = true
		}
		for _, m := range o.Mentors {
			if !paused[m] && len(targets) < b.opts.PauseMentors {
				targets = append(targets, pauseTarget{m, o.ID, o.Coordinators[0]})
			}
		}
	}
	if len(targets) < b.opts.PauseMentors {
		return fmt.Errorf("bench: only %d active mentors for the pause figure, want %d", len(targets), b.opts.PauseMentors)
	}
	ids := make([]uuid.UUID, len(targets))
	for i, t := range targets {
		ids[i] = t.mentor
	}
	d := db.New(b.pool)
	q := gen.New()
	reason := "bench"
	ret := reportTo.AddDate(0, 1, 0)
	clients := b.opts.PauseClients
	smp := startSampler(ctx, b.pool, b.lockWaitLog)
	parallel := func(ctx context.Context, name string, one func(ctx context.Context, t pauseTarget) error) error {
		smp.enter(name)
		defer smp.leave()
		var wg sync.WaitGroup
		errs := make([]error, clients)
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func(c int) {
				defer wg.Done()
				for i := c; i < len(targets); i += clients {
					if err := one(ctx, targets[i]); err != nil {
						errs[c] = err
						return
					}
				}
			}(c)
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	const plainUpdate = `UPDATE public.peer_mentor_status
		SET status = 'paused', reason = $3, expected_return_date = $4
		WHERE peer_mentor_id = $1 AND org_id = $2`
	oneRow := func(t pauseTarget, tag pgconn.CommandTag, err error) error {
		if err == nil && tag.RowsAffected() != 1 {
			err = fmt.Errorf("plain update of %s touched %d rows", t.mentor, tag.RowsAffected())
		}
		return err
	}
	vs := []variant{
		{VarPauseRPC, func(ctx context.Context) error {
			return parallel(ctx, VarPauseRPC, func(ctx context.Context, t pauseTarget) error {
				return d.Do(ctx, db.User(t.coord, t.org), func(r *db.Request) error {
					tx := r.Tx()
					_, err := q.ActivatePause(ctx, tx, gen.ActivatePauseParams{PeerMentorID: t.mentor, Reason: &reason, ExpectedReturnDate: &ret})
					return err
				})
			})
		}},
		{VarPauseUpdateRLS, func(ctx context.Context) error {
			return parallel(ctx, VarPauseUpdateRLS, func(ctx context.Context, t pauseTarget) error {
				return d.Do(ctx, db.User(t.coord, t.org), func(r *db.Request) error {
					tx := r.Tx()
					tag, err := tx.Exec(ctx, plainUpdate, t.mentor, t.org, reason, ret)
					return oneRow(t, tag, err)
				})
			})
		}},
		{VarPauseUpdateOwner, func(ctx context.Context) error {
			return parallel(ctx, VarPauseUpdateOwner, func(ctx context.Context, t pauseTarget) error {
				return b.ownerRequest(ctx, b.pool, pgx.ReadWrite, func(tx pgx.Tx) error {
					tag, err := tx.Exec(ctx, plainUpdate, t.mentor, t.org, reason, ret)
					return oneRow(t, tag, err)
				})
			})
		}},
	}
	reset := func(ctx context.Context) error {
		if _, err := b.pool.Exec(ctx, `UPDATE public.peer_mentor_status
			SET status = 'active', reason = NULL, expected_return_date = NULL
			WHERE status = 'paused' AND peer_mentor_id = ANY ($1)`, ids); err != nil {
			return fmt.Errorf("reset: %w", err)
		}
		return vacuumAnalyze(ctx, b.pool, "public.peer_mentor_status, public.peer_mentor_status_log")
	}

	b.opts.logf("measuring pauses: %d clients × %d mentors, %d variants × %d rounds", clients, len(targets), len(vs), b.opts.PauseRounds)
	samples, err := interleave(ctx, 1, b.opts.PauseRounds, reset, vs...)
	b.res.LockWaits = smp.stop()
	if err != nil {
		return fmt.Errorf("bench: pause: %w", err)
	}
	if err := reset(ctx); err != nil {
		return err
	}
	for i := range samples {
		samples[i].Ops = len(targets)
	}
	b.res.Samples = append(b.res.Samples, samples...)
	return nil
}
