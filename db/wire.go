package db

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// wireTx is a request's transaction as it travels on the wire. PostgREST's
// shape of a request (BEGIN; set role and claims; the statement; COMMIT)
// costs four round trips when each is sent and awaited in turn, and at a
// few milliseconds of latency those dominate a call whose server work is a
// fraction of a millisecond. wireTx sends nothing at Begin: BEGIN and the
// request setup travel in one pipeline with the first statement (and with
// the statements queued before it, see queue), and in a one-statement
// request (one) so does COMMIT. Everything still runs in one explicit
// transaction, in the same order; only the waiting between them is gone.
//
// A statement is prepared under a name once per connection (prepared), so
// its plan is cached as with pgx's statement cache; the per-call-plan
// statements (perCallPlan), and every statement on a connection to a
// transaction-mode pooler (TransactionPooler), go as the unnamed statement
// with parameter types the connection described once (describe): planned
// for their arguments, nothing named left on the server session. After the
// first statement, each statement is a pipeline of its own (one round trip)
// inside the open transaction.
type wireTx struct {
	conn      *pgx.Conn
	begin     string // BEGIN with isolation level and access mode
	setup     string // preamble statement
	setupArgs []any
	// one: the request is one statement; COMMIT travels with it. A further
	// statement of a read-write request is a programming error
	// (errOneStatement): its first statement is committed. In a READ ONLY
	// request it is a transaction of its own with the same role and claims,
	// which is what READ COMMITTED gives it anyway (each statement its own
	// snapshot): the path that needs it (a lookup after an empty list)
	// pays one more round trip, not every call.
	one      bool
	readOnly bool
	state    wireState
	queued   []queuedStmt
	sp       int // savepoints made by Begin
}

type wireState int

const (
	wirePending wireState = iota // nothing sent yet
	wireOpen                     // BEGIN and setup sent; transaction open
	wireDone                     // committed or rolled back (or failed in one)
)

// queuedStmt is a statement that travels with the next one, its result
// scanned by scan before the next statement's result is returned.
type queuedStmt struct {
	sql  string
	args []any
	scan func(pgx.Row) error
}

// ErrStatementTimeout: the server cancelled the statement (SQLSTATE 57014),
// in a request because it ran past the statement_timeout of the request's
// role (Supabase: 8s for authenticated, 3s for anon), which the request
// applies as PostgREST does. Nothing of the request is committed.
var ErrStatementTimeout = errors.New("db: statement cancelled (statement_timeout of the request's role)")

func init() { codeKinds["57014"] = ErrStatementTimeout } // query_canceled

var errOneStatement = errors.New("db: a one-statement request sent a second statement after its commit")

func (t *wireTx) Conn() *pgx.Conn { return t.conn }

// queue makes sql travel with the next statement; scan reads its one row.
// The queued statement runs first. An error scanning it is returned by the
// next statement.
func (t *wireTx) queue(sql string, args []any, scan func(pgx.Row) error) {
	t.queued = append(t.queued, queuedStmt{sql: sql, args: args, scan: scan})
}

// open sends BEGIN and the setup, and any queued statements, on their own
// (one round trip), for the operations that cannot join a pipeline
// (CopyFrom, Prepare, large objects, savepoints).
func (t *wireTx) open(ctx context.Context) error {
	switch t.state {
	case wireOpen:
		return t.flushQueued(ctx)
	case wireDone:
		return errOneStatement
	}
	one := t.one
	t.one = false // an operation outside the pipeline: commit separately
	_, finish, err := t.pipeline(ctx, nil, false)
	t.one = one
	if err != nil {
		return err
	}
	return finish()
}

// flushQueued runs queued statements on an open transaction, one round trip.
func (t *wireTx) flushQueued(ctx context.Context) error {
	if len(t.queued) == 0 {
		return nil
	}
	_, finish, err := t.pipeline(ctx, nil, false)
	if err != nil {
		return err
	}
	return finish()
}

// pipeline sends, in one pipeline with one Sync: BEGIN and setup (when
// pending), the queued statements, stmt (when not nil), and COMMIT (when
// one and pending). It reads results up to stmt's and returns stmt's
// result reader; finish reads the rest (COMMIT) and ends the pipeline,
// returning the first error of anything after stmt.
func (t *wireTx) pipeline(ctx context.Context, stmt *queuedStmt, wantRows bool) (*pgconn.ResultReader, func() error, error) {
	pg := t.conn.PgConn()
	m := t.conn.TypeMap()
	registerWireTypes(m)
	first := t.state == wirePending
	commit := first && t.one && stmt != nil

	// Describe, before the pipeline, each statement this connection has
	// not described yet (once per connection and statement), so every
	// parameter is sent with its type; then one pipeline.
	queued := t.queued
	t.queued = nil
	stmts := make([]queuedStmt, 0, len(queued)+2)
	if first {
		stmts = append(stmts, queuedStmt{sql: t.setup, args: t.setupArgs})
	}
	stmts = append(stmts, queued...)
	if stmt != nil {
		stmts = append(stmts, *stmt)
	}
	// Statements sent for a per-call plan (perCallPlan marks them with an
	// exec mode) and every statement behind a transaction-mode pooler go
	// unnamed; the rest are prepared once per connection under a name, so
	// PostgreSQL keeps their plans as pgx's statement cache would.
	pooler, _ := pg.CustomData()[poolerKey].(bool)
	descs := make([]*pgconn.StatementDescription, len(stmts))
	for i, q := range stmts {
		var sd *pgconn.StatementDescription
		var err error
		if pooler || perCall(q.args) {
			sd, err = describe(ctx, pg, q.sql)
		} else {
			sd, err = prepared(ctx, pg, q.sql)
		}
		if err != nil {
			return nil, nil, err
		}
		descs[i] = sd
	}

	p := pg.StartPipeline(ctx)
	var eqb pgx.ExtendedQueryBuilder
	n := 0
	send := func(sql string, args []any) error {
		sd := descs[n]
		n++
		if err := eqb.Build(m, sd, stripMode(args)); err != nil {
			return err
		}
		// The builder reuses its buffers: the pipeline keeps references
		// until it is flushed, so each statement gets copies.
		vals := make([][]byte, len(eqb.ParamValues))
		for i, v := range eqb.ParamValues {
			if v != nil {
				vals[i] = append([]byte{}, v...)
			}
		}
		if sd.Name != "" {
			p.SendQueryPrepared(sd.Name, vals, append([]int16(nil), eqb.ParamFormats...), append([]int16(nil), eqb.ResultFormats...))
			return nil
		}
		p.SendQueryParams(sql, vals, sd.ParamOIDs, append([]int16(nil), eqb.ParamFormats...), append([]int16(nil), eqb.ResultFormats...))
		return nil
	}
	var sendErr error
	if first {
		p.SendQueryParams(t.begin, nil, nil, nil, nil)
		sendErr = send(t.setup, t.setupArgs)
	}
	for _, q := range queued {
		if sendErr == nil {
			sendErr = send(q.sql, q.args)
		}
	}
	if stmt != nil && sendErr == nil {
		sendErr = send(stmt.sql, stmt.args)
	}
	if commit {
		p.SendQueryParams("COMMIT", nil, nil, nil, nil)
	}
	if sendErr != nil {
		// Nothing was written yet (the pipeline buffers until Sync): the
		// connection is as it was.
		_ = p.Close()
		return nil, nil, sendErr
	}
	if err := p.Sync(); err != nil {
		_ = p.Close()
		t.state = wireDone
		return nil, nil, err
	}
	switch {
	case commit:
		t.state = wireDone
	case first:
		t.state = wireOpen
	}

	// failed: the first error; after it the server skips everything up to
	// the Sync, and the pipeline reports it on Close.
	var failed error
	next := func() (*pgconn.ResultReader, error) {
		if failed != nil {
			return nil, failed
		}
		res, err := p.GetResults()
		if err != nil {
			failed = err
			return nil, err
		}
		rr, ok := res.(*pgconn.ResultReader)
		if !ok {
			failed = fmt.Errorf("db: pipeline: unexpected result %T", res)
			return nil, failed
		}
		return rr, nil
	}
	exec := func() error {
		rr, err := next()
		if err != nil {
			return err
		}
		if _, err := rr.Close(); err != nil {
			failed = err
			return err
		}
		return nil
	}
	finish := func() error {
		err := p.Close()
		if failed != nil {
			return failed
		}
		return err
	}
	fail := func(err error) (*pgconn.ResultReader, func() error, error) {
		if cerr := p.Close(); failed == nil && cerr != nil {
			err = cerr
		}
		return nil, nil, err
	}
	if first {
		if err := exec(); err != nil { // BEGIN
			return fail(err)
		}
		if err := exec(); err != nil { // setup
			return fail(err)
		}
	}
	var scanErr error
	for _, q := range queued {
		rr, err := next()
		if err != nil {
			return fail(err)
		}
		rows := pgx.RowsFromResultReader(m, rr)
		if err := q.scan(rowOf(rows)); err != nil && scanErr == nil {
			scanErr = err
		}
		if rows.Err() != nil {
			failed = rows.Err()
			return fail(failed)
		}
	}
	if scanErr != nil && stmt == nil {
		return fail(scanErr)
	}
	if stmt == nil {
		return nil, finish, nil
	}
	rr, err := next()
	if err != nil {
		return fail(err)
	}
	if scanErr != nil {
		// The statement ran; the queued statement's error comes first.
		_, _ = rr.Close()
		return fail(scanErr)
	}
	return rr, finish, nil
}

// describeKey holds, in a connection's CustomData, the descriptions (types
// of parameters and result columns) of the statements sent on it.
const describeKey = "mentordb.descriptions"

// describe returns sql's description, asking the server once per
// connection. It describes the unnamed statement, so nothing is left on the
// server session (a transaction-mode pooler may hand the next statement to
// another one; descriptions depend on the schema only).
func describe(ctx context.Context, pg *pgconn.PgConn, sql string) (*pgconn.StatementDescription, error) {
	cache, _ := pg.CustomData()[describeKey].(map[string]*pgconn.StatementDescription)
	if cache == nil {
		cache = map[string]*pgconn.StatementDescription{}
		pg.CustomData()[describeKey] = cache
	}
	if sd, ok := cache[sql]; ok {
		return sd, nil
	}
	sd, err := pg.Prepare(ctx, "", sql, nil)
	if err != nil {
		return nil, err
	}
	if len(cache) >= 1024 { // statements are a fixed set; bound it anyway
		clear(cache)
	}
	cache[sql] = sd
	return sd, nil
}

// poolerKey marks, in a connection's CustomData, a connection to a
// transaction-mode pooler (set by PoolConfig with TransactionPooler).
const poolerKey = "mentordb.pooler"

// preparedKey holds a connection's named statements.
const preparedKey = "mentordb.prepared"

// perCall reports whether args carry an exec mode, which is how perCallPlan
// asks for a plan made for the call's own arguments.
func perCall(args []any) bool {
	if len(args) > 0 {
		m, ok := args[0].(pgx.QueryExecMode)
		return ok && (m == pgx.QueryExecModeExec || m == pgx.QueryExecModeDescribeExec)
	}
	return false
}

// prepared returns sql prepared under a name on this connection, preparing
// it on first use (one round trip, once per connection and statement).
func prepared(ctx context.Context, pg *pgconn.PgConn, sql string) (*pgconn.StatementDescription, error) {
	cache, _ := pg.CustomData()[preparedKey].(map[string]*pgconn.StatementDescription)
	if cache == nil {
		cache = map[string]*pgconn.StatementDescription{}
		pg.CustomData()[preparedKey] = cache
	}
	if sd, ok := cache[sql]; ok {
		return sd, nil
	}
	sum := sha256.Sum256([]byte(sql))
	sd, err := pg.Prepare(ctx, "mentordb_"+hex.EncodeToString(sum[:12]), sql, nil)
	if err != nil {
		return nil, err
	}
	cache[sql] = sd
	return sd, nil
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

// again reopens a READ ONLY one-statement request for a further statement
// (see one); false for anything else after the request ended.
func (t *wireTx) again() bool {
	if t.state != wireDone || !t.one || !t.readOnly || t.conn.PgConn().TxStatus() != 'I' {
		return false
	}
	t.state = wirePending
	return true
}

// simple reports whether the caller asked for the simple protocol (pgx's
// QueryExecModeSimpleProtocol as the first argument): such a statement is
// sent as asked, on its own, after BEGIN and the preamble.
func simple(args []any) bool {
	if len(args) > 0 {
		m, ok := args[0].(pgx.QueryExecMode)
		return ok && m == pgx.QueryExecModeSimpleProtocol
	}
	return false
}

func (t *wireTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if t.state == wireDone && !t.again() {
		return pgconn.CommandTag{}, errOneStatement
	}
	if simple(args) {
		if err := t.open(ctx); err != nil {
			return pgconn.CommandTag{}, err
		}
		return t.conn.Exec(ctx, sql, args...)
	}
	rr, finish, err := t.pipeline(ctx, &queuedStmt{sql: sql, args: args}, false)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := rr.Close()
	ferr := finish()
	if err != nil {
		return tag, err
	}
	return tag, ferr
}

func (t *wireTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if t.state == wireDone && !t.again() {
		return nil, errOneStatement
	}
	if simple(args) {
		if err := t.open(ctx); err != nil {
			return nil, err
		}
		return t.conn.Query(ctx, sql, args...)
	}
	rr, finish, err := t.pipeline(ctx, &queuedStmt{sql: sql, args: args}, true)
	if err != nil {
		return nil, err
	}
	return &wireRows{Rows: pgx.RowsFromResultReader(t.conn.TypeMap(), rr), finish: finish}, nil
}

func (t *wireTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := t.Query(ctx, sql, args...)
	if err != nil {
		return errRow{err}
	}
	return rowOf(rows)
}

func stripMode(args []any) []any {
	if len(args) > 0 {
		if _, ok := args[0].(pgx.QueryExecMode); ok {
			return args[1:]
		}
	}
	return args
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// wireRows ends the pipeline when the statement's rows are closed, so an
// error of what followed (COMMIT) surfaces in Err.
type wireRows struct {
	pgx.Rows
	finish func() error
	done   bool
	err    error
}

func (r *wireRows) Close() {
	r.Rows.Close()
	if !r.done {
		r.done = true
		if err := r.finish(); err != nil && r.Rows.Err() == nil {
			r.err = err
		}
	}
}

func (r *wireRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *wireRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

func (t *wireTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if err := t.open(ctx); err != nil {
		return errBatch{err}
	}
	return t.conn.SendBatch(ctx, b)
}

func (t *wireTx) CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	if err := t.open(ctx); err != nil {
		return 0, err
	}
	return t.conn.CopyFrom(ctx, table, cols, src)
}

// LargeObjects is not available in a request: pgx builds it only on its
// own transaction type, and mentordb stores no large objects. Its methods
// fail (nil transaction) rather than run outside the request.
func (t *wireTx) LargeObjects() pgx.LargeObjects { return pgx.LargeObjects{} }

func (t *wireTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	if err := t.open(ctx); err != nil {
		return nil, err
	}
	return t.conn.Prepare(ctx, name, sql)
}

// Begin starts a savepoint inside the request.
func (t *wireTx) Begin(ctx context.Context) (pgx.Tx, error) {
	if err := t.open(ctx); err != nil {
		return nil, err
	}
	t.sp++
	name := fmt.Sprintf("wire_sp_%d", t.sp)
	if _, err := t.conn.Exec(ctx, "SAVEPOINT "+name); err != nil {
		return nil, err
	}
	return &wireSavepoint{parent: t, name: name}, nil
}

// Commit ends the request. Nothing is sent when nothing was (no statement)
// or when COMMIT already travelled with the one statement.
func (t *wireTx) Commit(ctx context.Context) error {
	switch t.state {
	case wirePending:
		t.state = wireDone
		return nil
	case wireDone:
		if t.conn.PgConn().TxStatus() != 'I' {
			// The one statement failed: its COMMIT was skipped.
			_, _ = t.conn.Exec(ctx, "ROLLBACK")
			return pgx.ErrTxCommitRollback
		}
		return nil
	}
	if err := t.flushQueued(ctx); err != nil {
		return err
	}
	t.state = wireDone
	tag, err := t.conn.Exec(ctx, "COMMIT")
	if err != nil {
		return err
	}
	if tag.String() == "ROLLBACK" {
		return pgx.ErrTxCommitRollback
	}
	return nil
}

// Rollback ends the request without its changes; after a one-statement
// request that failed it ends the aborted transaction.
func (t *wireTx) Rollback(ctx context.Context) error {
	t.queued = nil
	if t.state == wirePending {
		t.state = wireDone
		return nil
	}
	t.state = wireDone
	if t.conn.PgConn().TxStatus() == 'I' {
		return nil
	}
	_, err := t.conn.Exec(ctx, "ROLLBACK")
	return err
}

type errBatch struct{ err error }

func (b errBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, b.err }
func (b errBatch) Query() (pgx.Rows, error)         { return nil, b.err }
func (b errBatch) QueryRow() pgx.Row                { return errRow{b.err} }
func (b errBatch) Close() error                     { return b.err }
func (b errBatch) Tx() pgx.Tx                       { return nil }

// wireSavepoint is a savepoint of a wireTx (pgx's nested transaction).
type wireSavepoint struct {
	parent *wireTx
	name   string
	done   bool
}

func (s *wireSavepoint) Begin(ctx context.Context) (pgx.Tx, error) { return s.parent.Begin(ctx) }
func (s *wireSavepoint) Commit(ctx context.Context) error {
	if s.done {
		return pgx.ErrTxClosed
	}
	s.done = true
	_, err := s.parent.conn.Exec(ctx, "RELEASE SAVEPOINT "+s.name)
	return err
}
func (s *wireSavepoint) Rollback(ctx context.Context) error {
	if s.done {
		return pgx.ErrTxClosed
	}
	s.done = true
	_, err := s.parent.conn.Exec(ctx, "ROLLBACK TO SAVEPOINT "+s.name)
	return err
}
func (s *wireSavepoint) CopyFrom(ctx context.Context, t pgx.Identifier, c []string, src pgx.CopyFromSource) (int64, error) {
	return s.parent.CopyFrom(ctx, t, c, src)
}
func (s *wireSavepoint) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return s.parent.SendBatch(ctx, b)
}
func (s *wireSavepoint) LargeObjects() pgx.LargeObjects { return s.parent.LargeObjects() }
func (s *wireSavepoint) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	return s.parent.Prepare(ctx, name, sql)
}
func (s *wireSavepoint) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return s.parent.Exec(ctx, sql, args...)
}
func (s *wireSavepoint) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return s.parent.Query(ctx, sql, args...)
}
func (s *wireSavepoint) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return s.parent.QueryRow(ctx, sql, args...)
}
func (s *wireSavepoint) Conn() *pgx.Conn { return s.parent.conn }

// checkFirst is the DBTX of a check statement (one row: true, or an error)
// that guards the request's next statement: on a wireTx, QueryRow queues it
// to travel with that statement and returns a row that reports nothing
// (the check's failure comes back as the next statement's error); on any
// other transaction it runs at once.
type checkFirst struct{ r *Request }

func (c checkFirst) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if t, ok := c.r.tx.(*wireTx); ok {
		t.queue(sql, args, func(row pgx.Row) error {
			var ok bool
			return row.Scan(&ok)
		})
		return okRow{}
	}
	return c.r.tx.QueryRow(ctx, sql, args...)
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
