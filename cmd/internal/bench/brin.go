package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/mentordb/mentordb/db"
	"github.com/mentordb/mentordb/gen"
)

// The BRIN figures: the one-day export (ExportProxyActivities, service_role)
// through proxy_activities' BRIN on created_at against the same statement on
// pa_export_btree (the same rows in the same physical order and fillfactor,
// with a btree on created_at in the BRIN's place); the two indexes' sizes;
// and the insert rate into three otherwise identical empty tables that
// differ only in their one index on created_at (BRIN, btree, none), one
// autocommitted INSERT per row as the API writes them. Beside them, for the
// audit log's review of one org's week (ReviewProxyAuditLog), its btree on
// (org_id, at) against a BRIN on at, on a copy of the log with only that
// index: size and time of one page of the review.
const (
	VarExportBRIN  = "export one day in pages of 1,000: proxy_activities through the BRIN (service_role)"
	VarExportBtree = "export one day in pages of 1,000: pa_export_btree, a btree on created_at instead"
	VarInsBRIN     = "insert: pa_ins_brin (only a BRIN on created_at)"
	VarInsBtree    = "insert: pa_ins_btree (only a btree on created_at)"
	VarInsNone     = "insert: pa_ins_none (no index)"
	VarReviewBtree = "audit review, one page of an org's week: btree (org_id, at DESC)"
	VarReviewBRIN  = "audit review, one page of an org's week: pa_audit_brin, a BRIN on at instead"
)

// Targets of the BRIN figures (docs/benchmarks.md gives the numbers behind
// them).
const (
	targetExportRatio = 2.0  // BRIN export time ≤ 2 × the btree's
	targetSizeRatio   = 0.02 // BRIN ≤ 2% of the btree's size
	targetInsertRatio = 0.9  // insert rate with the BRIN ≥ 0.9 × without an index
)

// brinSizes are the index sizes in bytes, filled by measureBRIN.
type brinSizes struct {
	BRIN, Btree, AuditBtree, AuditBRIN int64
	DayRows, DayPages, DayBlocksBRIN   int64
	// Build is the time CREATE INDEX took for the BRIN on the copy.
	Build time.Duration
}

var exportDay = time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)

func (b *bench) measureBRIN(ctx context.Context) error {
	t0 := time.Now()
	b.opts.logf("building the BRIN comparison tables")
	var ff string
	if err := b.pool.QueryRow(ctx, `SELECT coalesce(array_to_string(reloptions, ', '), '') FROM pg_class WHERE oid = 'public.proxy_activities'::regclass`).Scan(&ff); err != nil {
		return err
	}
	with := ""
	if ff != "" {
		with = " WITH (" + ff + ")"
	}
	stmts := []string{
		`DROP TABLE IF EXISTS public.pa_export_btree, public.pa_ins_brin, public.pa_ins_btree, public.pa_ins_none, public.pa_audit_brin`,
		`CREATE TABLE public.pa_export_btree (LIKE public.proxy_activities INCLUDING DEFAULTS)` + with,
		`INSERT INTO public.pa_export_btree SELECT * FROM public.proxy_activities`,
		`CREATE INDEX pa_export_btree_created_at_idx ON public.pa_export_btree (created_at)`,
		// The export runs as service_role, which reads proxy_activities.
		`GRANT SELECT ON public.pa_export_btree TO service_role`,
		`CREATE TABLE public.pa_ins_brin (LIKE public.proxy_activities INCLUDING DEFAULTS)` + with,
		`CREATE TABLE public.pa_ins_btree (LIKE public.proxy_activities INCLUDING DEFAULTS)` + with,
		`CREATE TABLE public.pa_ins_none (LIKE public.proxy_activities INCLUDING DEFAULTS)` + with,
		`CREATE INDEX pa_ins_brin_created_at_idx ON public.pa_ins_brin USING brin (created_at) WITH (pages_per_range = 4, autosummarize = on)`,
		`CREATE INDEX pa_ins_btree_created_at_idx ON public.pa_ins_btree (created_at)`,
		// The audit log with only a BRIN on at: the same rows in the same order.
		`CREATE TABLE public.pa_audit_brin (LIKE public.proxy_audit_log INCLUDING DEFAULTS)`,
		`INSERT INTO public.pa_audit_brin SELECT * FROM public.proxy_audit_log`,
		`CREATE INDEX pa_audit_brin_at_idx ON public.pa_audit_brin USING brin (at) WITH (pages_per_range = 4)`,
	}
	if err := b.execAll(ctx, stmts); err != nil {
		return err
	}
	for _, t := range []string{"public.pa_export_btree", "public.pa_audit_brin"} {
		if err := vacuumAnalyze(ctx, b.pool, t); err != nil {
			return err
		}
	}
	b.res.Timings = append(b.res.Timings, Timing{"build the BRIN comparison tables (copies, indexes, VACUUM ANALYZE)", time.Since(t0)})

	// How long the migration's CREATE INDEX holds writers of a table this
	// size: the same BRIN built on the copy, then dropped.
	t1 := time.Now()
	if err := b.execAll(ctx, []string{`CREATE INDEX pa_export_btree_brin_build ON public.pa_export_btree USING brin (created_at) WITH (pages_per_range = 4, autosummarize = on)`}); err != nil {
		return err
	}
	b.res.BRIN.Build = time.Since(t1)
	if err := b.execAll(ctx, []string{`DROP INDEX public.pa_export_btree_brin_build`}); err != nil {
		return err
	}
	b.res.Timings = append(b.res.Timings, Timing{fmt.Sprintf("CREATE INDEX ... USING brin (created_at) WITH (pages_per_range = 4) on the %d-row copy", b.res.Rows10), b.res.BRIN.Build})

	s := &b.res.BRIN
	if err := b.pool.QueryRow(ctx, `SELECT pg_relation_size('public.proxy_activities_created_at_brin_idx'),
		pg_relation_size('public.pa_export_btree_created_at_idx'),
		pg_relation_size('public.proxy_audit_log_org_id_at_idx'), pg_relation_size('public.pa_audit_brin_at_idx')`).
		Scan(&s.BRIN, &s.Btree, &s.AuditBtree, &s.AuditBRIN); err != nil {
		return err
	}
	if s.AuditBtree == 0 || s.BRIN == 0 {
		return errors.New("bench: BRIN figures need the seeded audit trail and the BRIN index")
	}

	// The statements the repository sends.
	var c captured
	from, to := exportDay, exportDay.AddDate(0, 0, 1)
	_, _ = gen.New().ExportProxyActivities(ctx, &c, gen.ExportProxyActivitiesParams{
		FromAt: from, ToAt: to, AfterCreatedAt: from, AfterID: uuid.Nil, LimitRows: 1000})
	exportSQL, exportArgs := c.sql, c.args
	if !strings.Contains(exportSQL, "FROM proxy_activities\n") {
		return fmt.Errorf("bench: unexpected ExportProxyActivities text:\n%s", exportSQL)
	}
	exportBtreeSQL := strings.Replace(exportSQL, "FROM proxy_activities\n", "FROM pa_export_btree\n", 1)
	org := b.orgs[0]
	weekTo := exportDay.AddDate(0, 0, 7)
	_, _ = gen.New().ReviewProxyAuditLog(ctx, &c, gen.ReviewProxyAuditLogParams{
		OrgID: org.ID, FromAt: exportDay, ToAt: weekTo, BeforeAt: weekTo, BeforeID: math.MaxInt64, LimitRows: 101})
	reviewSQL, reviewArgs := c.sql, c.args
	if !strings.Contains(reviewSQL, "FROM proxy_audit_log\n") {
		return fmt.Errorf("bench: unexpected ReviewProxyAuditLog text:\n%s", reviewSQL)
	}
	reviewBRINSQL := strings.Replace(reviewSQL, "FROM proxy_audit_log\n", "FROM pa_audit_brin\n", 1)

	if err := b.pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT (ctid::text::point)[0]) FROM public.proxy_activities
		WHERE created_at >= $1 AND created_at < $2`, from, to).Scan(&s.DayRows, &s.DayPages); err != nil {
		return err
	}

	d := db.New(b.pool)
	service := db.ServiceRole()
	// The whole day, page by page (1,000 rows, the repository's largest
	// page) by keyset, one request per page, as Export is called.
	exportDay := func(sql string) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			p := gen.ExportProxyActivitiesParams{FromAt: from, ToAt: to, AfterCreatedAt: from, AfterID: uuid.Nil, LimitRows: 1000}
			var total int64
			for {
				var n int
				var last []any
				err := d.DoReadOnly(ctx, service, func(r *db.Request) error {
					tx := r.Tx()
					rows, err := tx.Query(ctx, sql, pgx.QueryExecModeDescribeExec, p.FromAt, p.ToAt, p.AfterCreatedAt, p.AfterID, p.OrgID, p.LimitRows)
					if err != nil {
						return err
					}
					for rows.Next() {
						n++
						if last, err = rows.Values(); err != nil {
							rows.Close()
							return err
						}
					}
					rows.Close()
					return rows.Err()
				})
				if err != nil {
					return err
				}
				total += int64(n)
				if n < int(p.LimitRows) {
					break
				}
				p.AfterID = uuid.UUID(last[0].([16]byte))
				p.AfterCreatedAt = last[10].(time.Time)
			}
			if total != s.DayRows {
				return fmt.Errorf("exported %d rows, want %d", total, s.DayRows)
			}
			return nil
		}
	}
	owner := func(sql string, args []any) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			return b.ownerRequest(ctx, b.pool, pgx.ReadOnly, func(tx pgx.Tx) error {
				n, err := drain(ctx, tx, sql, append([]any{pgx.QueryExecModeDescribeExec}, args...)...)
				if err == nil && n != 101 {
					err = fmt.Errorf("returned %d rows, want a page of 101", n)
				}
				return err
			})
		}
	}
	b.opts.logf("measuring the one-day export and the audit review: 4 variants × %d rounds", b.opts.ReportRounds)
	samples, err := interleave(ctx, 3, b.opts.ReportRounds, nil,
		variant{VarExportBRIN, exportDay(exportSQL)},
		variant{VarExportBtree, exportDay(exportBtreeSQL)},
		variant{VarReviewBtree, owner(reviewSQL, reviewArgs)},
		variant{VarReviewBRIN, owner(reviewBRINSQL, reviewArgs)},
	)
	if err != nil {
		return fmt.Errorf("bench: export: %w", err)
	}
	b.res.Samples = append(b.res.Samples, samples...)

	// The plan of the export, with the heap blocks it read.
	var plan []string
	err = b.ownerRequest(ctx, b.pool, pgx.ReadOnly, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, SUMMARY ON) "+exportSQL, exportArgs...)
		if err != nil {
			return err
		}
		plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return fmt.Errorf("bench: explain export: %w", err)
	}
	for _, l := range plan {
		if i := strings.Index(l, "Heap Blocks: "); i >= 0 {
			for _, f := range strings.Fields(l[i+len("Heap Blocks: "):]) {
				var n int64
				if _, err := fmt.Sscanf(f[strings.Index(f, "=")+1:], "%d", &n); err == nil {
					s.DayBlocksBRIN += n
				}
			}
		}
	}
	b.res.Plans = append(b.res.Plans, Plan{"one-day export through the BRIN (service_role)", strings.Join(plan, "\n")})

	// Inserts: one autocommitted row per statement, batches of InsertBatch.
	var seq atomic.Int64
	insert := func(table string) func(ctx context.Context) error {
		sql := `INSERT INTO public.` + table + ` (coordinator_id, attributed_mentor_id, org_id, activity_type, date, duration_minutes, notes, is_recurring, template_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
		return func(ctx context.Context) error {
			for k := 0; k < b.opts.InsertBatch; k++ {
				if _, err := b.pool.Exec(ctx, sql, b.activityArgs(int(seq.Add(1)))...); err != nil {
					return err
				}
			}
			return nil
		}
	}
	// Three times the insert figure's rounds: the difference sought is small
	// and a batch takes milliseconds.
	rounds := 3 * b.opts.InsertRounds
	b.opts.logf("measuring inserts by index on created_at: 3 variants × %d rounds × %d rows", rounds, b.opts.InsertBatch)
	samples, err = interleave(ctx, 1, rounds, nil,
		variant{VarInsBRIN, insert("pa_ins_brin")},
		variant{VarInsBtree, insert("pa_ins_btree")},
		variant{VarInsNone, insert("pa_ins_none")},
	)
	if err != nil {
		return fmt.Errorf("bench: insert: %w", err)
	}
	for i := range samples {
		samples[i].Ops = b.opts.InsertBatch
	}
	b.res.Samples = append(b.res.Samples, samples...)
	return nil
}

// brinFigures adds the BRIN figures to r.Figures.
func (r *Result) brinFigures() {
	s := r.BRIN
	if a, okA := r.sample(VarExportBRIN); okA {
		if b, okB := r.sample(VarExportBtree); okB && b.Median() > 0 {
			x := float64(a.Median()) / float64(b.Median())
			r.Figures = append(r.Figures, Figure{
				Name:     "one-day export (service_role, all orgs) through the BRIN vs a btree on created_at",
				Measured: fmt.Sprintf("%.2f×", x), Target: fmt.Sprintf("≤ %.1f×", targetExportRatio), Pass: x <= targetExportRatio,
				Detail: fmt.Sprintf("%s vs %s; %d rows on %d heap pages, %d heap blocks read through the BRIN",
					ms(a.Median()), ms(b.Median()), s.DayRows, s.DayPages, s.DayBlocksBRIN),
			})
		}
	}
	if s.Btree > 0 {
		x := float64(s.BRIN) / float64(s.Btree)
		r.Figures = append(r.Figures, Figure{
			Name:     "size of the BRIN on created_at vs a btree on created_at",
			Measured: fmt.Sprintf("%.2f%%", 100*x), Target: fmt.Sprintf("≤ %.0f%%", 100*targetSizeRatio), Pass: x <= targetSizeRatio,
			Detail: fmt.Sprintf("%d kB vs %d kB", s.BRIN/1024, s.Btree/1024),
		})
	}
	if a, okA := r.sample(VarInsBRIN); okA {
		if n, okN := r.sample(VarInsNone); okN && n.Rate() > 0 {
			x := a.Rate() / n.Rate()
			bt, _ := r.sample(VarInsBtree)
			r.Figures = append(r.Figures, Figure{
				Name:     "insert rate with the BRIN on created_at vs without an index on it",
				Measured: fmt.Sprintf("%.2f×", x), Target: fmt.Sprintf("≥ %.2f×", targetInsertRatio), Pass: x >= targetInsertRatio,
				Detail: fmt.Sprintf("%.0f/s vs %.0f/s (a btree instead: %.0f/s)", a.Rate(), n.Rate(), bt.Rate()),
			})
		}
	}
	if a, okA := r.sample(VarReviewBtree); okA {
		if b, okB := r.sample(VarReviewBRIN); okB && a.Median() > 0 {
			r.Figures = append(r.Figures, Figure{
				Name:     "audit review (one org, one week, a page of 100) through the btree (org_id, at) vs a BRIN on at (speed-up, the index kept)",
				Measured: fmt.Sprintf("%.1f× faster", float64(b.Median())/float64(a.Median())), Target: "≥ 1× (keep the faster)",
				Pass:   b.Median() >= a.Median(),
				Detail: fmt.Sprintf("%s vs %s; index sizes %d kB (btree) vs %d kB (BRIN)", ms(a.Median()), ms(b.Median()), s.AuditBtree/1024, s.AuditBRIN/1024),
			})
		}
	}
}

// brinNotes is the analysis of the BRIN figures (empty when they were not
// measured).
func (r *Result) brinNotes() string {
	e, okE := r.sample(VarExportBRIN)
	bt, okB := r.sample(VarExportBtree)
	if !okE || !okB || r.BRIN.Btree == 0 {
		return ""
	}
	s := r.BRIN
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("### BRIN on created_at\n\n")
	p("The export of %s (%d rows of all orgs on %d heap pages, about 1/730 of the table) is paged by keyset in pages of 1,000, one request per page, as `Export` is called. ",
		exportDay.Format(time.DateOnly), s.DayRows, s.DayPages)
	p("Through the BRIN (pages_per_range 4) the bitmap read %d heap blocks for the first page (the conformance test PA-PLAN-2 bounds it by twice the day's pages); ", s.DayBlocksBRIN)
	p("a btree on created_at reads the same pages in key order. BRIN %s vs btree %s (min %s vs %s): a bitmap over a BRIN is lossy, so every row on the day's pages is rechecked and the rows are sorted for the keyset order, where the btree hands them over sorted and stops at the page's end. ",
		ms(e.Median()), ms(bt.Median()), ms(e.Min()), ms(bt.Min()))
	p("Proposed target: ≤ %.1f× the btree (the bitmap reads at most about twice the day's pages, PA-PLAN-2, and adds the recheck and the sort), milliseconds on a nightly job, for an index of %.2f%% of the btree's size (%d kB vs %d kB). ",
		targetExportRatio, 100*float64(s.BRIN)/float64(s.Btree), s.BRIN/1024, s.Btree/1024)
	p("Building that BRIN on the %d-row copy took %s: one sequential pass over the heap, no sort; that is how long the migration that creates it holds writers of a table this size. ", r.Rows10, s.Build.Round(time.Millisecond))
	p("The size target (≤ %.0f%%) follows from the design: one summary (about 40 bytes) per 4 heap pages of about 45 rows each, against one btree entry (about 20 bytes) per row, is about 1%%.\n\n", 100*targetSizeRatio)
	ib, _ := r.sample(VarInsBRIN)
	in, _ := r.sample(VarInsNone)
	ibt, _ := r.sample(VarInsBtree)
	p("Inserts: %.0f/s with only the BRIN on created_at, %.0f/s with only a btree, %.0f/s with no index (one autocommitted INSERT per row, the same rows on every side). ",
		ib.Rate(), ibt.Rate(), in.Rate())
	p("A BRIN insert only widens the summary of the last range (created_at is always the newest value), so its cost is near the noise of this figure; the target (≥ %.2f× the rate without an index) allows for that noise, not for a real cost.\n\n", targetInsertRatio)
	rb, _ := r.sample(VarReviewBtree)
	rr, _ := r.sample(VarReviewBRIN)
	p("The audit log is append-only, so a BRIN on `at` would be tight there too (%d kB against the btree's %d kB). ", s.AuditBRIN/1024, s.AuditBtree/1024)
	p("But the review reads one org's newest rows a page at a time: the btree on (org_id, at DESC) starts at the org's window end and stops after 101 rows (%s), while a BRIN on `at` must read every page of the window for all orgs, keep the org's rows and sort them (%s). ", ms(rb.Median()), ms(rr.Median()))
	p("The btree stays; no BRIN is added to the audit log.\n\n")
	return b.String()
}
