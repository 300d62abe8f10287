package db

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// requestTx is the pgx.Tx a request hands out (Request.Tx) and the one its
// repositories use. PostgREST's shape of a request (BEGIN; set role and
// claims; the statement; COMMIT) costs four round trips when each is sent
// and awaited in turn, and at a few milliseconds of latency those dominate a
// call whose server work is a fraction of a millisecond. requestTx sends
// nothing until the request's first statement, and then sends BEGIN, the
// request's setup (the preamble), the statements queued before it (queue),
// the statement and, in a one-statement request (one), COMMIT, as one pgx
// batch: one pipeline, one round trip. From then on it is a plain pgx
// transaction: every call goes to the pgx.Tx the batch began (pgx's
// Batch.BeginTx), or, in DoTx, to the caller's own transaction.
//
// Because every statement goes through pgx (a batch or the transaction's
// own methods), the connection's query exec mode, statement cache (bounded,
// deallocates what it evicts, drops an entry that failed) and tracer apply
// to all of them exactly as to a plain pgx transaction. A statement pgx
// cannot send in a batch (no arguments, which pgx sends with the simple
// protocol so it may hold several statements; an exec-mode or result-format
// option) is sent after the request is opened on its own, one round trip
// more, as are operations outside Exec and Query (CopyFrom, Prepare,
// SendBatch, savepoints, large objects, Conn).
//
// This file holds its state and how it opens; wire_pipeline.go the batch
// it sends, wire_tx.go its pgx.Tx methods, wire_rows.go the rows of a
// batched statement, wire_end.go how a request ends, wire_closed.go a
// request that could not be opened, outcome.go what became of a request
// whose connection failed.
type requestTx struct {
	// ctx is the request's context: Conn and LargeObjects, which take
	// none, open the request with it.
	ctx context.Context
	// conn is the connection of a request of its own (Do); caller is the
	// caller's transaction of DoTx. Exactly one is set.
	conn   *pgx.Conn
	caller pgx.Tx
	opts   pgx.TxOptions
	// setup is sent before everything of the caller's: the preamble (and
	// in DoTx what saves and undoes the caller's settings).
	setup []queuedStmt
	// one: the request is one statement; COMMIT travels with it. A further
	// statement of a read-write request is a programming error
	// (errOneStatement): its first statement is committed. In a READ ONLY
	// request it is a transaction of its own with the same role and claims,
	// which is what READ COMMITTED gives it anyway (each statement its own
	// snapshot): the path that needs it (a lookup after an empty list) pays
	// one more round trip, not every call.
	one    bool
	queued []queuedStmt
	tx     pgx.Tx // the open request's transaction
	state  wireState
	// sent: something of the request was written to the server; commitSent:
	// its COMMIT was; committed: COMMIT's answer said it committed. They
	// decide the outcome of a request whose connection failed (outcome).
	sent, commitSent, committed bool
	// xid and pid identify the request's transaction and backend once a
	// statement read them (xactID), for outcome's resolve; pool is where
	// resolve asks (nil in DoTx, whose COMMIT is the caller's).
	xid  *string
	pid  uint32
	pool *pgxpool.Pool
	// commitErr is the error of the COMMIT that travelled with a
	// one-statement request's statement.
	commitErr error
	// cleanup is the deadline of the request's cleanup (cleanupContext),
	// set when it is first needed so that rolling back and resolving
	// share one budget.
	cleanup time.Time
	// resolved is resolve's answer, asked once.
	resolved     string
	resolvedOnce bool
}

type wireState int

const (
	wirePending wireState = iota // nothing sent yet
	wireOpen                     // BEGIN and setup sent; transaction open
	wireDone                     // committed or rolled back (or failed in one)
)

// queuedStmt is a statement that travels with the next one; scan reads its
// one row (nil: its result is only checked for an error).
type queuedStmt struct {
	sql  string
	args []any
	scan func(pgx.Row) error
}

var (
	errOneStatement = errors.New("db: a one-statement request sent a second statement after its commit")
	// errRequestOwned: Commit and Rollback of a request's transaction belong
	// to Do and DoTx, which end it when fn returns.
	errRequestOwned = errors.New("db: a request's transaction is committed or rolled back by Do or DoTx when fn returns, not by its Tx")
)

// queue makes sql travel with the next statement; scan reads its one row.
// The queued statement runs first. An error scanning it is returned by the
// next statement.
func (t *requestTx) queue(sql string, args []any, scan func(pgx.Row) error) {
	t.queued = append(t.queued, queuedStmt{sql: sql, args: args, scan: scan})
}

// usable makes the request ready for a further statement: false when a
// one-statement request already ended (see one).
func (t *requestTx) usable() bool {
	if t.state != wireDone {
		return true
	}
	if !t.one || t.opts.AccessMode != pgx.ReadOnly || t.caller != nil || t.conn.PgConn().TxStatus() != 'I' {
		return false
	}
	t.state, t.tx, t.committed, t.commitSent = wirePending, nil, false, false
	return true
}

// open sends BEGIN, the setup and the queued statements on their own, for
// what cannot travel with a statement.
func (t *requestTx) open(ctx context.Context) error {
	if !t.usable() {
		return errOneStatement
	}
	if t.state == wireOpen {
		if len(t.queued) == 0 {
			return nil
		}
		br, err := t.send(ctx, nil)
		if err != nil {
			return err
		}
		return br.Close()
	}
	one := t.one
	t.one = false // an operation outside the batch: commit separately
	br, err := t.send(ctx, nil)
	t.one = one
	if err != nil {
		return err
	}
	return br.Close()
}
