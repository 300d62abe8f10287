package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
	"github.com/mentordb/mentordb/gen"
	"github.com/mentordb/mentordb/internal/harness/seed"
)

// Plans are proven on realistic data (PA-PLAN-1, GEN-2): planOrgs
// organisations of planRowsPerOrg activities each, every org's rows
// interleaved with the others' in insertion order, VACUUMed and ANALYZEd by
// the seed. One seeded clone serves every subtest, in order: the read-only
// EXPLAINs first, then the one that drops an index inside a rolled-back
// transaction, then sqlc vet (its negative case is testPlanVet).
const (
	planOrgs       = 3
	planRowsPerOrg = 100_000
	// Rows for the negative vet case: enough for a sequential scan to cost
	// more than the rule's threshold of 100.
	planVetRows = 10_000
	// The covering index of the proxy_activities migration (PA-PLAN-1).
	coveringIndex = "proxy_activities_org_id_date_id_idx"
	// The sqlc vet rule of sqlc.yaml (GEN-2).
	vetRule = "no-seq-scan-in-report-or-list"
)

// The org under test is the first; the report year is the seed's second.
var (
	reportFrom = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	reportTo   = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
)

// The seeds the plan suites clone (pgtest.Main builds them before the
// tests). A key names the load's parameters.
var (
	plansConfig = seed.Config{Orgs: planOrgs, ActivitiesPerOrg: planRowsPerOrg, Seed: 42}
	plansSeed   = pgtest.Seed(fmt.Sprintf("plans %+v", plansConfig), func(ctx context.Context, pool *pgxpool.Pool) error {
		_, err := seed.Load(ctx, pool, plansConfig)
		return err
	})
	planVetConfig = seed.Config{Orgs: 1, ActivitiesPerOrg: planVetRows, Seed: 42}
	planVetSeed   = pgtest.Seed(fmt.Sprintf("plan vet %+v", planVetConfig), func(ctx context.Context, pool *pgxpool.Pool) error {
		_, err := seed.Load(ctx, pool, planVetConfig)
		return err
	})
)

func testPlans(t *testing.T) {
	t.Parallel()
	cfg := plansConfig
	d := pgtest.NewSeeded(t, plansSeed)
	// What the seed left, read from the clone (the seeded template may have
	// been built by an earlier run, and kept in the server's snapshot).
	st, err := seed.Measure(pgtest.Ctx(t), d.Pool, cfg)
	require.NoError(t, err)
	require.EqualValues(t, planOrgs*planRowsPerOrg, st.Activities)
	t.Logf("mentordb-metric: plan_seed_rows=%d (%d orgs interleaved)", st.Activities, planOrgs)
	require.Equal(t, st.Pages, st.AllVisiblePages, "the seed leaves the table vacuumed, as autovacuum would")
	org := st.Orgs[0]
	coordinator := db.User(org.Coordinators[0], org.ID)

	// The exact statements and arguments the generated code sends.
	q := gen.New()
	list := capture(t, func(c gen.DBTX) error {
		_, err := q.ListProxyActivitiesForOrg(context.Background(), c, gen.ListProxyActivitiesForOrgParams{
			OrgID: org.ID, FromDate: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), ToDate: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC),
			BeforeDate: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), BeforeID: uuid.Max, LimitRows: 50,
		})
		return err
	})
	report := capture(t, func(c gen.DBTX) error {
		_, err := q.BufdirReport(context.Background(), c, gen.BufdirReportParams{OrgID: org.ID, FromDate: reportFrom, ToDate: reportTo})
		return err
	})
	byType := capture(t, func(c gen.DBTX) error {
		_, err := q.BufdirReportByType(context.Background(), c, gen.BufdirReportByTypeParams{OrgID: org.ID, FromDate: reportFrom, ToDate: reportTo})
		return err
	})

	// The org's rows in the report year, counted as the owner.
	var yearRows int64
	require.NoError(t, d.Pool.QueryRow(pgtest.Ctx(t), `SELECT count(*) FROM proxy_activities WHERE org_id = $1 AND date >= $2 AND date < $3`,
		org.ID, reportFrom, reportTo).Scan(&yearRows))
	require.Greater(t, yearRows, int64(planRowsPerOrg/3))

	// The seed registers activities as production does (created_at rising,
	// dates a few days before), so date follows the physical order almost
	// exactly (correlation about 0.9998) and the planner may page one org's
	// list by the date index, filtering the other orgs' rows of the same
	// days (with 3 orgs, a third of what it reads), as readily as by the
	// covering index; the buffers it read are logged. Either is an index
	// range scan on the period with no full sort (the date index adds an
	// incremental sort on id within a date).
	t.Run("PA-PLAN-1 date-range list of one org is an index range scan on the period, no full sort (EXPLAIN ANALYZE, RLS)", func(t *testing.T) {
		ex := explainAs(t, d, coordinator, list)
		requireNoSeqScan(t, ex)
		scans := ex.scansOf("proxy_activities")
		require.Len(t, scans, 1, "one scan of proxy_activities:\n%s", ex.raw)
		require.Contains(t, []string{"Index Scan", "Index Only Scan"}, scans[0].NodeType, ex.raw)
		require.Contains(t, []string{coveringIndex, "proxy_activities_date_idx"}, scans[0].IndexName, ex.raw)
		require.Empty(t, ex.find(func(n *planNode) bool { return n.NodeType == "Sort" }),
			"keyset pagination reads the index in order:\n%s", ex.raw)
		require.EqualValues(t, 50, ex.Plan.ActualRows)
		ex.logMetrics(t, "plan_list")
	})

	reportCase := func(name string, c captured) func(t *testing.T) {
		return func(t *testing.T) {
			ex := explainAs(t, d, coordinator, c)
			requireNoSeqScan(t, ex)
			require.Empty(t, ex.find(func(n *planNode) bool { return n.NodeType == "Bitmap Heap Scan" }), ex.raw)
			scans := ex.scansOf("proxy_activities")
			require.Len(t, scans, 1, ex.raw)
			require.Contains(t, []string{"Index Only Scan", "Index Scan"}, scans[0].NodeType, ex.raw)
			require.Equal(t, coveringIndex, scans[0].IndexName, ex.raw)
			require.EqualValues(t, yearRows, scans[0].ActualRows, "the scan reads exactly the org's year:\n%s", ex.raw)
			ex.logMetrics(t, name)
			if scans[0].HeapFetches != nil {
				t.Logf("mentordb-metric: %s_heap_fetches=%d", name, *scans[0].HeapFetches)
			}
		}
	}
	t.Run("PA-PLAN-1 Bufdir report for one org and year is an index-only scan of the covering index (EXPLAIN ANALYZE, RLS)",
		reportCase("plan_bufdir_report", report))
	t.Run("PA-PLAN-1 Bufdir report by activity type is an index-only scan of the covering index (EXPLAIN ANALYZE, RLS)",
		reportCase("plan_bufdir_report_by_type", byType))

	t.Run("PA-PLAN-1 the seed's six indexes alone make the report read the heap, far more buffers", func(t *testing.T) {
		covering := explainAs(t, d, coordinator, report)
		// The seed's six indexes (and the primary key): drop the covering
		// index and the template foreign-key index in a transaction, explain
		// the same report as the same coordinator, roll back.
		ctx := pgtest.Ctx(t)
		tx, err := d.Pool.Begin(ctx)
		require.NoError(t, err)
		defer tx.Rollback(ctx) //nolint:errcheck
		_, err = tx.Exec(ctx, `DROP INDEX public.proxy_activities_org_id_date_id_idx, public.proxy_activities_template_id_org_id_idx`)
		require.NoError(t, err)
		var left []string
		rows, err := tx.Query(ctx, `SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = 'public.proxy_activities'::regclass ORDER BY 1`)
		require.NoError(t, err)
		left, err = pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		require.ElementsMatch(t, []string{
			"proxy_activities_pkey", "proxy_activities_org_id_idx", "proxy_activities_coordinator_id_idx",
			"proxy_activities_attributed_mentor_id_idx", "proxy_activities_date_idx",
			"proxy_activities_org_id_attributed_mentor_id_idx", "proxy_activities_created_at_brin_idx",
		}, left)
		// The same request as the coordinator, inside this transaction.
		var six *explained
		require.NoError(t, db.DoTx(ctx, tx, coordinator, func(r *db.Request) error {
			six = explain(t, ctx, r.Tx(), report)
			return nil
		}))

		scans := six.scansOf("proxy_activities")
		require.NotEmpty(t, scans, six.raw)
		for _, s := range scans {
			require.NotEqual(t, "Index Only Scan", s.NodeType, "no index of the six covers the report:\n%s", six.raw)
		}
		require.NotEmpty(t, six.find(func(n *planNode) bool {
			return n.RelationName == "proxy_activities" && (n.NodeType == "Bitmap Heap Scan" || n.NodeType == "Seq Scan" || n.NodeType == "Index Scan")
		}), "the six indexes leave a heap scan:\n%s", six.raw)
		require.EqualValues(t, covering.Plan.ActualRows, six.Plan.ActualRows, "same report either way")
		cb, sb := covering.Plan.buffers(), six.Plan.buffers()
		t.Logf("mentordb-metric: plan_bufdir_report_buffers_covering=%d", cb)
		t.Logf("mentordb-metric: plan_bufdir_report_buffers_six_indexes=%d (%s)", sb, scans[0].NodeType)
		t.Logf("mentordb-metric: plan_bufdir_report_buffer_ratio=%.1f", float64(sb)/float64(cb))
		t.Logf("mentordb-metric: plan_bufdir_report_ms_six_indexes=%.2f", six.ExecutionTime)
		require.Greater(t, sb, 4*cb, "the covering index reads a fraction of the buffers:\ncovering:\n%s\nsix:\n%s", covering.raw, six.raw)
	})

	// PA-IDX-1's other indexes, each read for its lookup (plan_index_test.go).
	planIndexCases(t, d, &st)

	// PA-PLAN-2 on the same data (plan_brin_test.go); its last two subtests
	// write (one in a rolled-back transaction, one committed inserts).
	testPlansBRIN(t, d, st)

	t.Run("GEN-2 sqlc vet passes against a migrated, analysed database", func(t *testing.T) {
		out, err := sqlcVet(t, d.URL)
		require.NoError(t, err, "sqlc vet:\n%s", out)
	})
}

// testPlanVet is the negative case of the sqlc vet rule (GEN-2). It needs
// little data: with the report's and the list's indexes dropped a sequential
// scan is the only plan PostgreSQL has, and the rule flags one that costs
// more than 100 (not a trivial table), which a few thousand rows exceed. So
// it runs on a small clone of its own beside the Plans suite instead of
// after it, off the matrix's longest path.
func testPlanVet(t *testing.T) {
	t.Parallel()
	t.Run("GEN-2 the vet rule catches a sequential scan", func(t *testing.T) {
		t.Parallel()
		d := pgtest.NewSeeded(t, planVetSeed)
		d.Exec(t, `DROP INDEX public.proxy_activities_org_id_date_id_idx, public.proxy_activities_org_id_idx,
			public.proxy_activities_org_id_attributed_mentor_id_idx, public.proxy_activities_date_idx`)
		out, err := sqlcVet(t, d.URL)
		require.Error(t, err, "vet must fail when the report has only a sequential scan:\n%s", out)
		var exit *exec.ExitError
		require.True(t, errors.As(err, &exit), "vet ran and failed (%v):\n%s", err, out)
		for _, name := range []string{"BufdirReport", "BufdirReportByType", "ListProxyActivitiesForOrg"} {
			require.Contains(t, out, "proxy_activities.sql: "+name+": "+vetRule, out)
		}
		require.NotContains(t, out, "error explaining", out)
	})
}

// sqlcVet runs `sqlc vet` against url.
func sqlcVet(t *testing.T, url string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := sqlcCommand(ctx, "vet")
	cmd.Env = append(cmd.Env, "VET_DATABASE_URL="+url)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// captured is one statement the generated code sent, with its arguments.
type captured struct {
	sql  string
	args []any
}

var errCaptured = errors.New("captured")

// capture runs call against a gen.DBTX that records the statement instead
// of sending it, so the plan tests EXPLAIN exactly what the application runs.
func capture(t *testing.T, call func(gen.DBTX) error) captured {
	t.Helper()
	c := &captureDB{}
	require.ErrorIs(t, call(c), errCaptured)
	require.NotEmpty(t, c.got.sql)
	return c.got
}

type captureDB struct{ got captured }

func (c *captureDB) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	c.got = captured{sql, args}
	return pgconn.CommandTag{}, errCaptured
}

func (c *captureDB) Query(_ context.Context, sql string, args ...any) (pgx.Rows, error) {
	c.got = captured{sql, args}
	return nil, errCaptured
}

func (c *captureDB) QueryRow(_ context.Context, sql string, args ...any) pgx.Row {
	c.got = captured{sql, args}
	return errRow{}
}

func (c *captureDB) CopyFrom(context.Context, pgx.Identifier, []string, pgx.CopyFromSource) (int64, error) {
	return 0, errCaptured
}

type errRow struct{}

func (errRow) Scan(...any) error { return errCaptured }

// planNode is one node of EXPLAIN (FORMAT JSON).
type planNode struct {
	NodeType     string  `json:"Node Type"`
	RelationName string  `json:"Relation Name"`
	IndexName    string  `json:"Index Name"`
	ActualRows   float64 `json:"Actual Rows"`
	HeapFetches  *int64  `json:"Heap Fetches"`
	// Exact and Lossy Heap Blocks of a Bitmap Heap Scan: the heap pages it
	// read.
	ExactHeapBlocks int64      `json:"Exact Heap Blocks"`
	LossyHeapBlocks int64      `json:"Lossy Heap Blocks"`
	SharedHit       int64      `json:"Shared Hit Blocks"`
	SharedRead      int64      `json:"Shared Read Blocks"`
	Plans           []planNode `json:"Plans"`
}

// buffers are the shared blocks the node and its children touched.
func (n *planNode) buffers() int64 { return n.SharedHit + n.SharedRead }

type explained struct {
	Plan          planNode `json:"Plan"`
	PlanningTime  float64  `json:"Planning Time"`
	ExecutionTime float64  `json:"Execution Time"`
	raw           string
}

func (e *explained) find(match func(*planNode) bool) []*planNode {
	var out []*planNode
	var walk func(n *planNode)
	walk = func(n *planNode) {
		if match(n) {
			out = append(out, n)
		}
		for i := range n.Plans {
			walk(&n.Plans[i])
		}
	}
	walk(&e.Plan)
	return out
}

// scansOf returns the nodes that read rel (heap or index).
func (e *explained) scansOf(rel string) []*planNode {
	return e.find(func(n *planNode) bool { return n.RelationName == rel })
}

func (e *explained) logMetrics(t *testing.T, name string) {
	t.Helper()
	t.Logf("mentordb-metric: %s_ms=%.2f (planning %.2f)", name, e.ExecutionTime, e.PlanningTime)
	t.Logf("mentordb-metric: %s_buffers=%d", name, e.Plan.buffers())
	for _, s := range e.scansOf("proxy_activities") {
		t.Logf("mentordb-metric: %s_scan=%s using %s, %.0f rows", name, s.NodeType, s.IndexName, s.ActualRows)
	}
}

func requireNoSeqScan(t *testing.T, e *explained) {
	t.Helper()
	require.Empty(t, e.find(func(n *planNode) bool {
		return n.NodeType == "Seq Scan" && n.RelationName == "proxy_activities"
	}), "a sequential scan of proxy_activities:\n%s", e.raw)
}

// explainAs runs EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) of c as the user of
// claims, through db.As (role and claims in one transaction, RLS on).
func explainAs(t *testing.T, d *pgtest.DB, claims db.Claims, c captured) *explained {
	t.Helper()
	var ex *explained
	ctx := pgtest.Ctx(t)
	require.NoError(t, d.As(ctx, claims, func(tx pgx.Tx) error {
		ex = explain(t, ctx, tx, c)
		return nil
	}))
	return ex
}

func explain(t *testing.T, ctx context.Context, tx pgx.Tx, c captured) *explained {
	t.Helper()
	var raw string
	require.NoError(t, tx.QueryRow(ctx, "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "+c.sql, c.args...).Scan(&raw))
	var out []explained
	require.NoError(t, json.Unmarshal([]byte(raw), &out))
	require.Len(t, out, 1)
	out[0].raw = raw
	return &out[0]
}
