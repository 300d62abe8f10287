package bench

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mentordb/mentordb/gen"
	"github.com/mentordb/mentordb/internal/preamble"
)

// captured records the SQL text and arguments a sqlc method sends, so the
// benchmark runs exactly the generated statements (and derives its variants
// from them) instead of a copy that could drift.
type captured struct {
	sql  string
	args []any
}

func (c *captured) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	c.sql, c.args = sql, args
	return pgconn.CommandTag{}, errCaptured
}

func (c *captured) Query(_ context.Context, sql string, args ...any) (pgx.Rows, error) {
	c.sql, c.args = sql, args
	return nil, errCaptured
}

func (c *captured) QueryRow(_ context.Context, sql string, args ...any) pgx.Row {
	c.sql, c.args = sql, args
	return errRow{}
}

func (c *captured) CopyFrom(context.Context, pgx.Identifier, []string, pgx.CopyFromSource) (int64, error) {
	return 0, errCaptured
}

var errCaptured = errors.New("captured")

type errRow struct{}

func (errRow) Scan(...any) error { return errCaptured }

var orgFilter = regexp.MustCompile(`WHERE org_id = \$1\s+AND `)

func (b *bench) prepareSQL() error {
	q := gen.New()
	var c captured
	_, _ = q.BufdirReportByType(context.Background(), &c, gen.BufdirReportByTypeParams{})
	b.reportSQL = c.sql
	if !strings.Contains(b.reportSQL, "FROM proxy_activities\n") || !orgFilter.MatchString(b.reportSQL) {
		return fmt.Errorf("bench: unexpected BufdirReportByType text:\n%s", b.reportSQL)
	}
	b.reportSeedOnlySQL = strings.Replace(b.reportSQL, "FROM proxy_activities\n", "FROM pa_seed_only\n", 1)
	// What a supabase-js client sends: the period only; RLS picks the org.
	noOrg := orgFilter.ReplaceAllString(b.reportSQL, "WHERE ")
	noOrg = strings.NewReplacer("$2", "$1", "$3", "$2").Replace(noOrg)
	b.reportNoOrgSQL = noOrg

	_, _ = q.CreateProxyActivity(context.Background(), &c, gen.CreateProxyActivityParams{})
	b.insertSQL = c.sql
	if !strings.Contains(b.insertSQL, "INSERT INTO proxy_activities (") {
		return fmt.Errorf("bench: unexpected CreateProxyActivity text:\n%s", b.insertSQL)
	}
	b.insertBareSQL = strings.Replace(b.insertSQL, "INSERT INTO proxy_activities (", "INSERT INTO pa_bare (", 1)
	return nil
}

// ownerRequest runs fn the way db.Do runs a request (one READ COMMITTED
// transaction whose first statement is db's request preamble), as the
// pool's login role: the table owner, a superuser, to whom RLS does not
// apply.
func (b *bench) ownerRequest(ctx context.Context, pool *pgxpool.Pool, mode pgx.TxAccessMode, fn func(tx pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted, AccessMode: mode}, func(tx pgx.Tx) error {
		if err := preamble.Apply(ctx, tx, b.owner, `{"role":"`+b.owner+`"}`); err != nil {
			return err
		}
		return fn(tx)
	})
}

// drain runs a query and reads every row, as a client would.
func drain(ctx context.Context, tx pgx.Tx, sql string, args ...any) (int, error) {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return 0, err
	}
	n := 0
	for rows.Next() {
		n++
	}
	rows.Close()
	return n, rows.Err()
}

// oneShot makes pgx send a statement as an unnamed prepared statement
// (describe, then execute), which PostgreSQL plans for the actual arguments
// every time (a custom plan), as it plans PostgREST's queries, whose filter
// values are literals. The repository sends its report and list queries the
// same way (db's perCallPlan). pgx's default is a named, cached statement,
// which PostgreSQL may switch to a generic plan after five executions; the
// cached variant measures that side by side, to show why the repository
// avoids it.
var oneShot = pgx.QueryExecModeDescribeExec

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}
