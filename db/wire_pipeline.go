package db

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// pipeline is one batch of a request: BEGIN and the setup when the request
// opens, the statements queued before (pre: their results are read first,
// in order), the statement, and COMMIT when a one-statement request sends
// it along. It is built (newPipeline), sent (send), and then holds the
// statement's result next, which the caller reads before Close reads
// COMMIT's.
type pipeline struct {
	t      *requestTx
	batch  pgx.Batch
	pre    []queuedStmt
	br     pgx.BatchResults
	commit bool
	first  bool
	closed bool
}

// send sends, as one pipeline: BEGIN and the setup (when pending), the
// queued statements, stmt (when not nil) and COMMIT (when one and pending).
// It reads every result before stmt's and returns the pipeline with stmt's
// result next; the caller reads it and closes the pipeline, which reads
// COMMIT's.
func (t *requestTx) send(ctx context.Context, stmt *queuedStmt) (*pipeline, error) {
	p := t.newPipeline(stmt)
	p.send(ctx)
	if err := p.readPre(); err != nil {
		return nil, p.fail(err)
	}
	return p, nil
}

// newPipeline builds the batch that carries stmt and takes the queued
// statements with it.
func (t *requestTx) newPipeline(stmt *queuedStmt) *pipeline {
	p := &pipeline{t: t, first: t.state == wirePending}
	p.commit = p.first && t.one && stmt != nil && t.caller == nil
	if p.first && t.caller == nil {
		p.batch.BeginTx(t.opts)
		p.pre = append(p.pre, queuedStmt{})
	}
	if p.first {
		p.queuePre(t.setup)
	}
	p.queuePre(t.queued)
	t.queued = nil
	if stmt != nil {
		p.batch.Queue(stmt.sql, stmt.args...)
	}
	if p.commit {
		p.batch.Queue("COMMIT")
	}
	return p
}

// queuePre adds statements whose results are read before the statement's.
func (p *pipeline) queuePre(stmts []queuedStmt) {
	for _, q := range stmts {
		p.batch.Queue(q.sql, q.args...)
	}
	p.pre = append(p.pre, stmts...)
}

// send writes the batch: on the caller's transaction (DoTx), on the
// request's connection, which the batch's BEGIN opens (Do), or on the
// request's open transaction; and records what the request has sent.
func (p *pipeline) send(ctx context.Context) {
	t := p.t
	t.sent = true
	switch {
	case t.caller != nil && p.first:
		registerWireTypes(t.caller.Conn().TypeMap())
		p.br = t.caller.SendBatch(ctx, &p.batch)
		t.tx = t.caller
	case p.first:
		// In the exec modes that send no describe (a pooler's), the
		// parameter types come from the Go types, which registerWireTypes
		// teaches the connection whoever configured it.
		registerWireTypes(t.conn.TypeMap())
		p.br = t.conn.SendBatch(ctx, &p.batch)
		t.tx = p.br.Tx()
	default:
		p.br = t.tx.SendBatch(ctx, &p.batch)
	}
	if p.first {
		t.state = wireOpen
	}
	if p.commit {
		t.commitSent = true
	}
}

// readPre reads the results before the statement's; a queued statement's
// scan reads its row.
func (p *pipeline) readPre() error {
	for _, q := range p.pre {
		var err error
		if q.scan == nil {
			_, err = p.br.Exec()
		} else {
			err = q.scan(p.br.QueryRow())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// fail closes the pipeline after err and returns err; a one-statement request
// that failed is done (its COMMIT was skipped).
func (p *pipeline) fail(err error) error {
	if p.first && pgconn.SafeToRetry(err) {
		// Nothing of the batch was written.
		p.t.sent, p.t.commitSent = false, false
	}
	_ = p.Close()
	if p.commit {
		p.t.state = wireDone
	}
	return err
}

// Close reads what is left (COMMIT) and ends the pipeline, returning the first
// error of what followed the statement.
func (p *pipeline) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	if !p.commit {
		return p.br.Close()
	}
	// COMMIT's answer belongs to the request, not to its statement, whose
	// result the caller has read: its error is the request's (commit),
	// which can still find out what became of it (outcome).
	p.t.state = wireDone
	tag, err := p.br.Exec()
	if cerr := p.br.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		p.t.commitErr = err
	case tag.String() == "ROLLBACK":
		p.t.commitErr = pgx.ErrTxCommitRollback
	default:
		p.t.committed = true
	}
	return nil
}
