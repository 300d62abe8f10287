package bench

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mentordb/mentordb/db"
)

// measureReports: the report figures (RLS vs owner, RLS vs its index range
// alone, no org filter, growth), all interleaved in one loop, plus the
// seed-only indexes (for information) and pgx's cached statement (a
// diagnostic: what the repository avoids).
func (b *bench) measureReports(ctx context.Context) error {
	d := db.New(b.pool)
	org := b.orgs[0].ID
	expect := map[bool]int{}
	check := func(name string, n int, grouped bool) error {
		if n == 0 {
			return fmt.Errorf("bench: %s returned no rows", name)
		}
		if e, ok := expect[grouped]; !ok {
			expect[grouped] = n
		} else if n != e {
			return fmt.Errorf("bench: %s returned %d rows, others %d", name, n, e)
		}
		return nil
	}
	rls := func(pool *pgxpool.Pool, name, sql string, args ...any) variant {
		dd := d
		if pool != b.pool {
			dd = db.New(pool)
		}
		return variant{name, func(ctx context.Context) error {
			return dd.DoReadOnly(ctx, b.coord, func(r *db.Request) error {
				tx := r.Tx()
				n, err := drain(ctx, tx, sql, args...)
				if err == nil {
					err = check(name, n, true)
				}
				return err
			})
		}}
	}
	owner := func(name, sql string, grouped bool, args ...any) variant {
		return variant{name, func(ctx context.Context) error {
			return b.ownerRequest(ctx, b.pool, pgx.ReadOnly, func(tx pgx.Tx) error {
				n, err := drain(ctx, tx, sql, args...)
				if err == nil {
					err = check(name, n, grouped)
				}
				return err
			})
		}}
	}
	vs := []variant{
		rls(b.pool, VarReportRLS, b.reportSQL, oneShot, org, reportFrom, reportTo),
		owner(VarReportOwner, b.reportSQL, true, oneShot, org, reportFrom, reportTo),
		owner(VarReportSeedOnly, b.reportSeedOnlySQL, true, oneShot, org, reportFrom, reportTo),
		rls(b.pool, VarReportNoOrg, b.reportNoOrgSQL, oneShot, reportFrom, reportTo),
		rls(b.pool, VarReportRLSCached, b.reportSQL, org, reportFrom, reportTo),
		owner(VarReportScan, reportScanSQL, false, oneShot, org, reportFrom, reportTo),
	}
	if b.pool50 != nil {
		vs = append(vs, rls(b.pool50, VarReport50, b.reportSQL, oneShot, org, reportFrom, reportTo))
	}
	b.opts.logf("measuring the Bufdir report: %d variants × %d rounds", len(vs), b.opts.ReportRounds)
	samples, err := interleave(ctx, 6, b.opts.ReportRounds, nil, vs...)
	if err != nil {
		return fmt.Errorf("bench: report: %w", err)
	}
	b.res.Samples = append(b.res.Samples, samples...)
	b.res.ReportRows = expect[true]
	return b.pool.QueryRow(ctx, `SELECT count(*) FROM proxy_activities WHERE org_id = $1 AND date >= $2 AND date < $3`,
		org, reportFrom, reportTo).Scan(&b.res.YearRows)
}

// reportScanSQL is the report's index range without the grouping: what
// reading the org's year from the covering index costs by itself.
const reportScanSQL = `SELECT count(*), sum(duration_minutes)
FROM proxy_activities
WHERE org_id = $1 AND date >= $2::date AND date < $3::date`
