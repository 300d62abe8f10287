package db

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// checkFirst is the DBTX of a check statement (one row: true, or an error)
// that guards the request's next statement: QueryRow queues it to travel
// with that statement, in the same batch, and returns a row that reports
// nothing; the check's failure comes back as the next statement's error,
// and the server skips the statement (and a one-statement request's
// COMMIT) after it.
type checkFirst struct{ r *Request }

func (c checkFirst) QueryRow(_ context.Context, sql string, args ...any) pgx.Row {
	c.r.tx.queue(sql, args, func(row pgx.Row) error {
		var ok bool
		return row.Scan(&ok)
	})
	return okRow{}
}

func (c checkFirst) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return c.r.tx.Exec(ctx, sql, args...)
}

func (c checkFirst) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return c.r.tx.Query(ctx, sql, args...)
}

func (c checkFirst) CopyFrom(ctx context.Context, t pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	return c.r.tx.CopyFrom(ctx, t, cols, src)
}

// okRow is a queued check's row: nothing to report yet.
type okRow struct{}

func (okRow) Scan(...any) error { return nil }
