package db

import "github.com/jackc/pgx/v5"

// batchRows ends the batch when the statement's rows are closed, so an
// error of what followed (COMMIT) surfaces in Err.
type batchRows struct {
	pgx.Rows
	batch *pipeline
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
