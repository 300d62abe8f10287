package bench

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/mentordb/mentordb/db"
)

// activityRow is one insert's parameters, the same sequence for both sides.
func (b *bench) activityArgs(i int) []any {
	o := b.orgs[0]
	mentor := o.Mentors[i%len(o.Mentors)]
	types := []string{"conversation", "phone_call", "home_visit", "group_meeting"}
	date := reportFrom.AddDate(0, 0, i%365)
	var notes *string
	var tmpl *uuid.UUID
	return []any{o.Coordinators[0], mentor, o.ID, types[i%len(types)], date, int32(15 + 15*(i%8)), notes, false, tmpl}
}

// measureInsert: figure 4. One request per insert, sequential, batches of
// InsertBatch; the rate of a batch is one timing.
func (b *bench) measureInsert(ctx context.Context) error {
	d := db.New(b.pool)
	var seq atomic.Int64
	batch := b.opts.InsertBatch
	vs := []variant{
		{VarInsertRLS, func(ctx context.Context) error {
			for k := 0; k < batch; k++ {
				args := b.activityArgs(int(seq.Add(1)))
				if err := d.Do(ctx, b.coord, func(r *db.Request) error {
					tx := r.Tx()
					_, err := drain(ctx, tx, b.insertSQL, args...)
					return err
				}); err != nil {
					return err
				}
			}
			return nil
		}},
		{VarInsertBare, func(ctx context.Context) error {
			for k := 0; k < batch; k++ {
				args := b.activityArgs(int(seq.Add(1)))
				if err := b.ownerRequest(ctx, b.pool, pgx.ReadWrite, func(tx pgx.Tx) error {
					_, err := drain(ctx, tx, b.insertBareSQL, args...)
					return err
				}); err != nil {
					return err
				}
			}
			return nil
		}},
	}
	b.opts.logf("measuring inserts: 2 variants × %d rounds × %d requests", b.opts.InsertRounds, batch)
	samples, err := interleave(ctx, 1, b.opts.InsertRounds, nil, vs...)
	if err != nil {
		return fmt.Errorf("bench: insert: %w", err)
	}
	for i := range samples {
		samples[i].Ops = batch
	}
	b.res.Samples = append(b.res.Samples, samples...)
	return nil
}
