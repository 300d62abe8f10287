package bench

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// A variant is one side of a comparison: one timed unit of work (a request,
// or a batch of requests when the figure is a rate).
type variant struct {
	name string
	run  func(ctx context.Context) error
}

// Sample is every timing of one variant.
type Sample struct {
	Name  string
	Times []time.Duration
	// Ops is the number of operations one timing covers (1 for a single
	// request; the batch size for rates).
	Ops int
}

// Median of the timings.
func (s Sample) Median() time.Duration { return median(s.Times) }

// Min and Max of the timings.
func (s Sample) Min() time.Duration {
	m := time.Duration(0)
	for i, t := range s.Times {
		if i == 0 || t < m {
			m = t
		}
	}
	return m
}

func (s Sample) Max() time.Duration {
	m := time.Duration(0)
	for _, t := range s.Times {
		if t > m {
			m = t
		}
	}
	return m
}

// Rate is operations per second at the median timing.
func (s Sample) Rate() float64 {
	m := s.Median()
	if m <= 0 {
		return 0
	}
	return float64(s.Ops) / m.Seconds()
}

func median(ts []time.Duration) time.Duration {
	if len(ts) == 0 {
		return 0
	}
	c := append([]time.Duration(nil), ts...)
	sort.Slice(c, func(i, j int) bool { return c[i] < c[j] })
	n := len(c)
	if n%2 == 1 {
		return c[n/2]
	}
	return (c[n/2-1] + c[n/2]) / 2
}

// interleave runs every variant warm times untimed, then rounds rounds in
// which each variant runs once, timed. The order rotates from round to round
// (A B C, B C A, C A B, ...), so drift (caches, autovacuum, a neighbour's
// load) falls on every variant alike. between, when set, runs untimed before
// every timed run (resetting state the run consumes).
func interleave(ctx context.Context, warm, rounds int, between func(ctx context.Context) error, vs ...variant) ([]Sample, error) {
	out := make([]Sample, len(vs))
	for i, v := range vs {
		out[i] = Sample{Name: v.name, Ops: 1}
	}
	for w := 0; w < warm; w++ {
		for _, v := range vs {
			if between != nil {
				if err := between(ctx); err != nil {
					return nil, err
				}
			}
			if err := v.run(ctx); err != nil {
				return nil, fmt.Errorf("%s (warm-up): %w", v.name, err)
			}
		}
	}
	for r := 0; r < rounds; r++ {
		for k := range vs {
			i := (r + k) % len(vs)
			if between != nil {
				if err := between(ctx); err != nil {
					return nil, err
				}
			}
			t0 := time.Now()
			if err := vs[i].run(ctx); err != nil {
				return nil, fmt.Errorf("%s: %w", vs[i].name, err)
			}
			out[i].Times = append(out[i].Times, time.Since(t0))
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
