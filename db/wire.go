package db

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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

// send sends, as one batch: BEGIN and the setup (when pending), the queued
// statements, stmt (when not nil) and COMMIT (when one and pending). It
// reads every result before stmt's and returns the batch with stmt's result
// next; the caller reads it and closes the batch, which reads COMMIT's.
func (t *requestTx) send(ctx context.Context, stmt *queuedStmt) (*sentBatch, error) {
	first := t.state == wirePending
	commit := first && t.one && stmt != nil && t.caller == nil
	b := &pgx.Batch{}
	var pre []queuedStmt // results read before stmt's, in order
	if first && t.caller == nil {
		b.BeginTx(t.opts)
		pre = append(pre, queuedStmt{})
	}
	if first {
		for _, q := range t.setup {
			b.Queue(q.sql, q.args...)
		}
		pre = append(pre, t.setup...)
	}
	for _, q := range t.queued {
		b.Queue(q.sql, q.args...)
	}
	pre = append(pre, t.queued...)
	t.queued = nil
	if stmt != nil {
		b.Queue(stmt.sql, stmt.args...)
	}
	if commit {
		b.Queue("COMMIT")
	}
	var br pgx.BatchResults
	t.sent = true
	switch {
	case t.caller != nil && first:
		registerWireTypes(t.caller.Conn().TypeMap())
		br = t.caller.SendBatch(ctx, b)
		t.tx = t.caller
	case first:
		// In the exec modes that send no describe (a pooler's), the
		// parameter types come from the Go types, which registerWireTypes
		// teaches the connection whoever configured it.
		registerWireTypes(t.conn.TypeMap())
		br = t.conn.SendBatch(ctx, b)
		t.tx = br.Tx()
	default:
		br = t.tx.SendBatch(ctx, b)
	}
	if first {
		t.state = wireOpen
	}
	if commit {
		t.commitSent = true
	}
	sb := &sentBatch{t: t, br: br, commit: commit, first: first}
	for _, q := range pre {
		var err error
		if q.scan == nil {
			_, err = br.Exec()
		} else {
			err = q.scan(br.QueryRow())
		}
		if err != nil {
			return nil, sb.fail(err)
		}
	}
	return sb, nil
}

// sentBatch is a batch on its way: its statement's result is next, then
// COMMIT's when commit.
type sentBatch struct {
	t      *requestTx
	br     pgx.BatchResults
	commit bool
	first  bool
	closed bool
}

// fail closes the batch after err and returns err; a one-statement request
// that failed is done (its COMMIT was skipped).
func (s *sentBatch) fail(err error) error {
	if s.first && pgconn.SafeToRetry(err) {
		// Nothing of the batch was written.
		s.t.sent, s.t.commitSent = false, false
	}
	_ = s.Close()
	if s.commit {
		s.t.state = wireDone
	}
	return err
}

// Close reads what is left (COMMIT) and ends the batch, returning the first
// error of what followed the statement.
func (s *sentBatch) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	if !s.commit {
		return s.br.Close()
	}
	// COMMIT's answer belongs to the request, not to its statement, whose
	// result the caller has read: its error is the request's (commit),
	// which can still find out what became of it (outcome).
	s.t.state = wireDone
	tag, err := s.br.Exec()
	if cerr := s.br.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		s.t.commitErr = err
	case tag.String() == "ROLLBACK":
		s.t.commitErr = pgx.ErrTxCommitRollback
	default:
		s.t.committed = true
	}
	return nil
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
	sb, err := t.send(ctx, &queuedStmt{sql: sql, args: args})
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := sb.br.Exec()
	if err != nil {
		return tag, sb.fail(err)
	}
	return tag, sb.Close()
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
	sb, err := t.send(ctx, &queuedStmt{sql: sql, args: args})
	if err != nil {
		return nil, err
	}
	rows, err := sb.br.Query()
	if err != nil {
		if rows != nil {
			rows.Close()
		}
		return nil, sb.fail(err)
	}
	return &batchRows{Rows: rows, batch: sb}, nil
}

func (t *requestTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := t.Query(ctx, sql, args...)
	if err != nil {
		return errRow{err}
	}
	return rowOf(rows)
}

// batchRows ends the batch when the statement's rows are closed, so an
// error of what followed (COMMIT) surfaces in Err.
type batchRows struct {
	pgx.Rows
	batch *sentBatch
	err   error
}

func (r *batchRows) Close() {
	r.Rows.Close()
	if !r.batch.closed {
		if r.Rows.Err() != nil {
			_ = r.batch.fail(r.Rows.Err())
			return
		}
		r.err = r.batch.Close()
	}
}

func (r *batchRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

// rowOf is pgx's QueryRow behaviour over rows.
func rowOf(rows pgx.Rows) pgx.Row { return wireRow{rows} }

type wireRow struct{ rows pgx.Rows }

func (r wireRow) Scan(dest ...any) error {
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

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

// Commit and Rollback belong to Do and DoTx (errRequestOwned).
func (t *requestTx) Commit(context.Context) error   { return errRequestOwned }
func (t *requestTx) Rollback(context.Context) error { return errRequestOwned }

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
