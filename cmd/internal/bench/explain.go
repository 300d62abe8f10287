package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mentordb/mentordb/db"
)

// explain records EXPLAIN (ANALYZE, BUFFERS) of every report variant and of
// both inserts (rolled back), for the report.
func (b *bench) explain(ctx context.Context) error {
	d := db.New(b.pool)
	org := b.orgs[0].ID
	ex := "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, SUMMARY ON) "
	collect := func(tx pgx.Tx, sql string, args ...any) (string, error) {
		rows, err := tx.Query(ctx, ex+sql, args...)
		if err != nil {
			return "", err
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		return strings.Join(lines, "\n"), err
	}
	errRollback := errors.New("rollback")
	add := func(name string, run func(fn func(tx pgx.Tx) error) error, sql string, args ...any) error {
		var plan string
		err := run(func(tx pgx.Tx) error {
			var err error
			plan, err = collect(tx, sql, args...)
			if err != nil {
				return err
			}
			return errRollback
		})
		if err != nil && !errors.Is(err, errRollback) {
			return fmt.Errorf("bench: explain %s: %w", name, err)
		}
		b.res.Plans = append(b.res.Plans, Plan{name, plan})
		return nil
	}
	asCoord := func(pool *pgxpool.Pool) func(fn func(tx pgx.Tx) error) error {
		return func(fn func(tx pgx.Tx) error) error {
			return db.New(pool).Do(ctx, b.coord, func(r *db.Request) error { return fn(r.Tx()) })
		}
	}
	asOwner := func(fn func(tx pgx.Tx) error) error { return b.ownerRequest(ctx, b.pool, pgx.ReadWrite, fn) }
	_ = d
	steps := []struct {
		name string
		run  func(fn func(tx pgx.Tx) error) error
		sql  string
		args []any
	}{
		{VarReportRLS, asCoord(b.pool), b.reportSQL, []any{org, reportFrom, reportTo}},
		{VarReportOwner, asOwner, b.reportSQL, []any{org, reportFrom, reportTo}},
		{VarReportSeedOnly, asOwner, b.reportSeedOnlySQL, []any{org, reportFrom, reportTo}},
		{VarReportNoOrg, asCoord(b.pool), b.reportNoOrgSQL, []any{reportFrom, reportTo}},
	}
	if b.pool50 != nil {
		steps = append(steps, struct {
			name string
			run  func(fn func(tx pgx.Tx) error) error
			sql  string
			args []any
		}{VarReport50, asCoord(b.pool50), b.reportSQL, []any{org, reportFrom, reportTo}})
	}
	steps = append(steps, []struct {
		name string
		run  func(fn func(tx pgx.Tx) error) error
		sql  string
		args []any
	}{
		{VarInsertRLS, asCoord(b.pool), b.insertSQL, b.activityArgs(1)},
		{VarInsertBare, asOwner, b.insertBareSQL, b.activityArgs(1)},
	}...)
	for _, s := range steps {
		if err := add(s.name, s.run, s.sql, s.args...); err != nil {
			return err
		}
	}
	// The generic plan PostgreSQL switches a cached statement to after five
	// executions (what the repository's pgx statement cache gets).
	var plan string
	err := db.New(b.pool).DoReadOnly(ctx, b.coord, func(r *db.Request) error {
		tx := r.Tx()
		if _, err := tx.Exec(ctx, `SET LOCAL plan_cache_mode = force_generic_plan`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `PREPARE bench_generic AS `+b.reportSQL); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `EXPLAIN (ANALYZE, BUFFERS, SUMMARY ON) EXECUTE bench_generic($1, $2, $3)`, pgx.QueryExecModeSimpleProtocol,
			org.String(), reportFrom.Format("2006-01-02"), reportTo.Format("2006-01-02"))
		if err != nil {
			return err
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		plan = strings.Join(lines, "\n")
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DEALLOCATE bench_generic`)
		return err
	})
	if err != nil {
		return fmt.Errorf("bench: explain generic plan: %w", err)
	}
	b.res.Plans = append(b.res.Plans, Plan{VarReportRLSCached + " (EXPLAIN EXECUTE with plan_cache_mode = force_generic_plan)", plan})
	return nil
}
