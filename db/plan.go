package db

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/mentordb/mentordb/gen"
)

// perCallPlan sends a query as an unnamed statement, which PostgreSQL plans
// for its actual arguments every time, as it plans PostgREST's queries. In a
// request of db every statement already goes that way (wireTx); this matters
// on a caller's own transaction (DoTx), where pgx would otherwise prepare a
// named statement. QueryExecModeExec does it in one round trip (pgx's
// describe-then-execute mode costs two).
//
// pgx caches a named prepared statement per connection, and after five runs
// PostgreSQL may keep a generic plan. For the report and list queries that
// plan ignores the org and the dates (a date range gets the default 0.5%
// selectivity): the Bufdir report then sorts all of an org's rows on disk,
// 2.4x slower (docs/benchmarks.md). Only those queries go through here: the
// short statements inside PL/pgSQL functions and triggers keep their cached
// plans, which forcing custom plans for the whole request would throw away.
type perCallPlan struct{ gen.DBTX }

func (c perCallPlan) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return c.DBTX.Query(ctx, sql, append([]any{pgx.QueryExecModeExec}, args...)...)
}
