package db

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// commit ends a request of its own (Do): nothing is sent when nothing was
// (no statement) or when COMMIT already travelled with the one statement.
func (t *requestTx) commit(ctx context.Context) error {
	switch t.state {
	case wirePending:
		t.state = wireDone
		return nil
	case wireDone:
		switch {
		case t.committed:
			return nil
		case t.commitErr != nil:
			return t.commitErr
		}
		return pgx.ErrTxCommitRollback
	}
	if len(t.queued) > 0 {
		if err := t.open(ctx); err != nil {
			return err
		}
	}
	t.state = wireDone
	t.commitSent = true
	if t.tx.Conn().PgConn().TxStatus() == 'E' {
		// Failed already: COMMIT ends it as a rollback, as pgx reports.
		return t.tx.Commit(ctx)
	}
	// COMMIT travels with the read of the transaction's id, which lets
	// outcome find out what became of it if the answer is lost.
	b := &pgx.Batch{}
	b.Queue(currentXactIfAssigned).QueryRow(func(row pgx.Row) error { return row.Scan(&t.xid, &t.pid) })
	b.Queue("COMMIT").Exec(func(tag pgconn.CommandTag) error {
		if tag.String() == "ROLLBACK" {
			return pgx.ErrTxCommitRollback
		}
		t.committed = true
		return nil
	})
	return t.tx.SendBatch(ctx, b).Close()
}

// rollback ends a request of its own without its changes. ctx is a cleanup
// context (cleanupContext).
func (t *requestTx) rollback(ctx context.Context) error {
	t.queued = nil
	if t.tx == nil || t.committed {
		t.state = wireDone
		return nil
	}
	t.state = wireDone
	if t.conn.PgConn().TxStatus() == 'I' {
		return nil
	}
	err := t.tx.Rollback(ctx)
	if errors.Is(err, pgx.ErrTxClosed) {
		// pgx closed it when its batch ended outside a transaction.
		if t.conn.PgConn().TxStatus() != 'I' && !t.conn.IsClosed() {
			_, err = t.conn.Exec(ctx, "ROLLBACK")
			return err
		}
		return nil
	}
	return err
}
