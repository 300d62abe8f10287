package db

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The pgx.Tx methods of requestTx: a statement pgx can batch travels in the
// request's pipeline (send); anything else opens the request first and goes
// to its transaction.

// batchable reports whether pgx sends sql with args the same way in a batch
// as alone: not when there are no arguments (Exec then uses the simple
// protocol, which allows several statements in one string) and not with an
// option other than a QueryRewriter (pgx.NamedArgs), which batches ignore.
func batchable(exec bool, args []any) bool {
	if exec && len(args) == 0 {
		return false
	}
	if len(args) > 0 {
		switch args[0].(type) {
		case pgx.QueryExecMode, pgx.QueryResultFormats, pgx.QueryResultFormatsByOID:
			return false
		}
	}
	return true
}

func (t *requestTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if !t.usable() {
		return pgconn.CommandTag{}, errOneStatement
	}
	if t.state == wireOpen && len(t.queued) == 0 || !batchable(true, args) {
		if err := t.open(ctx); err != nil {
			return pgconn.CommandTag{}, err
		}
		return t.tx.Exec(ctx, sql, args...)
	}
	p, err := t.send(ctx, &queuedStmt{sql: sql, args: args})
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := p.br.Exec()
	if err != nil {
		return tag, p.fail(err)
	}
	return tag, p.Close()
}

func (t *requestTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if !t.usable() {
		return nil, errOneStatement
	}
	if t.state == wireOpen && len(t.queued) == 0 || !batchable(false, args) {
		if err := t.open(ctx); err != nil {
			return nil, err
		}
		return t.tx.Query(ctx, sql, args...)
	}
	p, err := t.send(ctx, &queuedStmt{sql: sql, args: args})
	if err != nil {
		return nil, err
	}
	rows, err := p.br.Query()
	if err != nil {
		if rows != nil {
			rows.Close()
		}
		return nil, p.fail(err)
	}
	return &batchRows{Rows: rows, batch: p}, nil
}

func (t *requestTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := t.Query(ctx, sql, args...)
	if err != nil {
		return errRow{err}
	}
	return rowOf(rows)
}

func (t *requestTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if err := t.open(ctx); err != nil {
		return pgx.FailedBatchResults(b, err)
	}
	return t.tx.SendBatch(ctx, b)
}

func (t *requestTx) CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	if err := t.open(ctx); err != nil {
		return 0, err
	}
	return t.tx.CopyFrom(ctx, table, cols, src)
}

func (t *requestTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	if err := t.open(ctx); err != nil {
		return nil, err
	}
	return t.tx.Prepare(ctx, name, sql)
}

// Begin starts a savepoint inside the request (pgx's pseudo nested
// transaction).
func (t *requestTx) Begin(ctx context.Context) (pgx.Tx, error) {
	if err := t.open(ctx); err != nil {
		return nil, err
	}
	return t.tx.Begin(ctx)
}

// LargeObjects opens the request (with its context) and returns the large
// objects of its transaction.
func (t *requestTx) LargeObjects() pgx.LargeObjects {
	if err := t.open(t.ctx); err != nil {
		t.poison()
	}
	return t.tx.LargeObjects()
}

// Conn opens the request (with its context) and returns its connection, so
// whatever runs on it runs inside the request, as its caller. If the
// request cannot be opened, the connection is closed rather than returned
// usable outside it.
func (t *requestTx) Conn() *pgx.Conn {
	if err := t.open(t.ctx); err != nil {
		t.poison()
	}
	if t.tx != nil {
		return t.tx.Conn()
	}
	return t.conn
}

// Commit and Rollback belong to Do and DoTx (errRequestOwned).
func (t *requestTx) Commit(context.Context) error   { return errRequestOwned }
func (t *requestTx) Rollback(context.Context) error { return errRequestOwned }
