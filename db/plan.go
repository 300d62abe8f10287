package db

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// perCallPlan makes PostgreSQL plan a query for its actual arguments every
// time it runs, as it plans PostgREST's queries: it sets plan_cache_mode to
// force_custom_plan, locally to the request, in the same batch as the query
// (no round trip of its own), so the query keeps pgx's named prepared
// statement (parsed once per connection) but never a generic plan.
//
// pgx caches a named prepared statement per connection, and after five runs
// PostgreSQL may keep a generic plan. For the report and list queries that
// plan ignores the org and the dates (a date range gets the default 0.5%
// selectivity): the Bufdir report then sorts all of an org's rows on disk,
// 2.4x slower (docs/benchmarks.md). Only requests that run those queries
// get the setting: the short statements inside PL/pgSQL functions and
// triggers of other requests keep their cached plans, which forcing custom
// plans for every request would throw away. DoTx restores the caller's
// plan_cache_mode with its other settings.
type perCallPlan struct{ t *requestTx }

const forceCustomPlan = `SELECT set_config('plan_cache_mode', 'force_custom_plan', true)`

func (c perCallPlan) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	c.t.queue(forceCustomPlan, nil, nil)
	return c.t.Query(ctx, sql, args...)
}

func (c perCallPlan) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	c.t.queue(forceCustomPlan, nil, nil)
	return c.t.QueryRow(ctx, sql, args...)
}

func (c perCallPlan) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return c.t.Exec(ctx, sql, args...)
}

func (c perCallPlan) CopyFrom(ctx context.Context, t pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	return c.t.CopyFrom(ctx, t, cols, src)
}
