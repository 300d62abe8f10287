package db

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// poison closes the request's connection after it failed to open where no
// error can be returned (Conn, LargeObjects): a connection outside the
// request must not be handed out. The request then fails.
func (t *requestTx) poison() {
	c := t.conn
	if t.caller != nil {
		c = t.caller.Conn()
	}
	if t.tx == nil {
		t.tx = closedTx{conn: c}
	}
	if c != nil && !c.IsClosed() {
		ctx, cancel := t.cleanupContext(context.Background())
		defer cancel()
		_ = c.Close(ctx)
	}
}

// closedTx stands for a request that could not be opened where no error
// could be returned: everything fails.
type closedTx struct{ conn *pgx.Conn }

var errClosedRequest = fmt.Errorf("db: the request could not be opened; its connection was closed")

func (c closedTx) Begin(context.Context) (pgx.Tx, error) { return nil, errClosedRequest }
func (c closedTx) Commit(context.Context) error          { return errClosedRequest }
func (c closedTx) Rollback(context.Context) error        { return errClosedRequest }
func (c closedTx) CopyFrom(context.Context, pgx.Identifier, []string, pgx.CopyFromSource) (int64, error) {
	return 0, errClosedRequest
}
func (c closedTx) SendBatch(_ context.Context, b *pgx.Batch) pgx.BatchResults {
	return pgx.FailedBatchResults(b, errClosedRequest)
}
func (c closedTx) LargeObjects() pgx.LargeObjects { return pgx.LargeObjects{} }
func (c closedTx) Prepare(context.Context, string, string) (*pgconn.StatementDescription, error) {
	return nil, errClosedRequest
}
func (c closedTx) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) {
	return pgconn.CommandTag{}, errClosedRequest
}
func (c closedTx) Query(context.Context, string, ...any) (pgx.Rows, error) {
	return nil, errClosedRequest
}
func (c closedTx) QueryRow(context.Context, string, ...any) pgx.Row { return errRow{errClosedRequest} }
func (c closedTx) Conn() *pgx.Conn                                  { return c.conn }
