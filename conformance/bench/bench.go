// Package bench measures the performance targets of ../shared/DESIGN.md
// ("Performance targets") on a disposable PostgreSQL from the conformance
// provider: `make bench` and `mentordb bench`.
//
// Every figure is a ratio of two measurements taken side by side in one run
// (warm-up, then interleaved rounds whose order rotates, then the median of
// each side), except the wall time of the conformance suite, whose target is
// absolute. Nothing here is a test: no timing is ever asserted by `go test`.
//
// The run:
//
//  1. times the conformance suite in a subprocess (before anything else runs,
//     so it has the machine to itself), after an untimed build that warms the
//     Go build cache;
//  2. boots PostgreSQL (pgserver), prepares database bench (platform shim and
//     migrations) and seeds it (package seed: 10 orgs × 100,000 activities);
//  3. clones it (CREATE DATABASE ... TEMPLATE) into bench50 and seeds 40 more
//     organisations there (FirstOrg 10), so the growth figure compares two
//     live databases query by query instead of a before and an after;
//  4. builds in bench the comparison tables: pa_seed_only (the seed's six
//     indexes only) and pa_bare (all indexes and CHECKs, no RLS, no
//     triggers), both holding the same rows as proxy_activities;
//  5. measures the figures and writes the report.
package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mentordb/mentordb/conformance/pgserver"
	"github.com/mentordb/mentordb/conformance/platform"
	"github.com/mentordb/mentordb/conformance/seed"
	"github.com/mentordb/mentordb/db"
	"github.com/mentordb/mentordb/gen"
)

// Options configure Run. The zero value is the full benchmark.
type Options struct {
	// Logf receives progress lines. Nil discards them.
	Logf func(format string, args ...any)
	// Seed of the data (default 1).
	Seed int64
	// Orgs and ActivitiesPerOrg of the base data set (defaults 10, 100,000);
	// GrowthOrgs more organisations of the same size are added for the growth
	// figure (default 40; negative skips the figure).
	Orgs, ActivitiesPerOrg, GrowthOrgs int
	// ReportRounds, InsertRounds, InsertBatch, PauseRounds, PauseMentors and
	// PauseClients size the measurements (defaults 41, 9, 300, 7, 1,000, 8).
	ReportRounds, InsertRounds, InsertBatch, PauseRounds, PauseMentors, PauseClients int
	// ConformanceCmd is the command whose wall time is the conformance
	// figure (default: go test -count=1 ./conformance/..., as make conformance runs it), run in
	// ConformanceDir (default "."). SkipConformance leaves the figure out.
	ConformanceCmd  []string
	ConformanceDir  string
	SkipConformance bool
	// Only, when set, measures just that figure: "pause" (activate_pause vs
	// plain UPDATE). It implies SkipConformance and no growth figure. The
	// zero value measures every figure.
	Only string
}

func (o Options) defaults() Options {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	def(&o.Orgs, 10)
	def(&o.ActivitiesPerOrg, 100_000)
	def(&o.GrowthOrgs, 40)
	def(&o.ReportRounds, 41)
	def(&o.InsertRounds, 9)
	def(&o.InsertBatch, 300)
	def(&o.PauseRounds, 7)
	def(&o.PauseMentors, 1000)
	def(&o.PauseClients, 8)
	if len(o.ConformanceCmd) == 0 {
		o.ConformanceCmd = []string{"go", "test", "-count=1", "./conformance/..."}
	}
	if o.ConformanceDir == "" {
		o.ConformanceDir = "."
	}
	if o.Only != "" {
		o.SkipConformance = true
		o.GrowthOrgs = -1
	}
	return o
}

func (o Options) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}

// ServerSettings are the settings of the benchmark's server on top of
// pgserver's disposable defaults (fsync, synchronous_commit and
// full_page_writes off). They are reported with the results.
var ServerSettings = map[string]string{
	// Everything fits in memory, as it would on a production instance sized
	// for 1M rows; index builds of the seed and the copies get room.
	"shared_buffers":       "1GB",
	"maintenance_work_mem": "512MB",
	"max_wal_size":         "8GB",
	"checkpoint_timeout":   "30min",
	// JIT would add tens of milliseconds of compilation to the expensive
	// baseline (the seed-only indexes) and flatter the ≥ 10× figure.
	"jit": "off",
	// Every lock wait longer than 1 ms is logged: the pause figure counts
	// them from the server log as well as by sampling pg_stat_activity.
	"log_lock_waits":   "on",
	"deadlock_timeout": "1ms",
}

// Period of the Bufdir annual report: the seed's last full year.
var (
	reportFrom = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	reportTo   = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Run performs the whole benchmark.
func Run(ctx context.Context, opts Options) (*Result, error) {
	switch opts.Only {
	case "", "pause":
	default:
		return nil, fmt.Errorf("bench: unknown figure %q (want pause)", opts.Only)
	}
	opts = opts.defaults()
	started := time.Now()
	res := &Result{Started: started, Opts: opts}
	res.Machine = describeMachine()

	if !opts.SkipConformance {
		f, err := timeConformance(ctx, opts)
		if err != nil {
			return nil, err
		}
		res.Conformance = f
	}

	opts.logf("booting PostgreSQL")
	srv, err := pgserver.Start(ctx, pgserver.Options{Settings: ServerSettings, Logf: opts.Logf})
	if err != nil {
		return nil, fmt.Errorf("bench: start PostgreSQL: %w", err)
	}
	defer srv.Stop() //nolint:errcheck // best effort
	res.Machine.PostgreSQL = srv.Version
	res.Machine.ServerKind = srv.Kind

	b := &bench{opts: opts, res: res, srv: srv}
	if err := b.setup(ctx); err != nil {
		return nil, err
	}
	defer b.close()
	if opts.Only == "" {
		if err := b.measureReports(ctx); err != nil {
			return nil, err
		}
		if err := b.explain(ctx); err != nil {
			return nil, err
		}
		if err := b.measureInsert(ctx); err != nil {
			return nil, err
		}
	}
	if err := b.measurePause(ctx); err != nil {
		return nil, err
	}
	res.Total = time.Since(started)
	res.build()
	return res, nil
}

type bench struct {
	opts Options
	res  *Result
	srv  *pgserver.Server

	pool, pool50 *pgxpool.Pool
	orgs         []seed.Org
	coord        db.Claims // coordinator 0 of org 0, in org 0
	owner        string    // the pool's login role (a superuser)

	reportSQL, reportNoOrgSQL, reportSeedOnlySQL string
	insertSQL, insertBareSQL                     string
}

func (b *bench) close() {
	if b.pool != nil {
		b.pool.Close()
	}
	if b.pool50 != nil {
		b.pool50.Close()
	}
}

// dbURL returns the server URL with another database name.
func dbURL(server, name string) (string, error) {
	cfg, err := pgx.ParseConfig(server)
	if err != nil {
		return "", err
	}
	// Rebuild from the parsed pieces: the URL forms differ by provider.
	u := fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Password, cfg.Host, cfg.Port, name)
	return u, nil
}

func openPool(ctx context.Context, url string, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = maxConns
	cfg.MinConns = 0
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

func (b *bench) setup(ctx context.Context) error {
	opts := b.opts
	admin, err := pgx.Connect(ctx, b.srv.URL)
	if err != nil {
		return fmt.Errorf("bench: connect: %w", err)
	}
	defer admin.Close(ctx)
	for _, q := range []string{`DROP DATABASE IF EXISTS bench50`, `DROP DATABASE IF EXISTS bench`, `CREATE DATABASE bench`} {
		if _, err := admin.Exec(ctx, q); err != nil {
			return fmt.Errorf("bench: %s: %w", q, err)
		}
	}
	url, err := dbURL(b.srv.URL, "bench")
	if err != nil {
		return err
	}
	t0 := time.Now()
	if err := platform.Prepare(ctx, url); err != nil {
		return fmt.Errorf("bench: prepare: %w", err)
	}
	b.res.Timings = append(b.res.Timings, Timing{"prepare (platform shim + migrations)", time.Since(t0)})

	pool, err := openPool(ctx, url, int32(opts.PauseClients+4))
	if err != nil {
		return fmt.Errorf("bench: connect bench: %w", err)
	}
	b.pool = pool
	st, err := b.load(ctx, pool, seed.Config{Orgs: opts.Orgs, ActivitiesPerOrg: opts.ActivitiesPerOrg, Seed: opts.Seed},
		fmt.Sprintf("seed %d orgs × %d activities", opts.Orgs, opts.ActivitiesPerOrg))
	if err != nil {
		return err
	}
	b.orgs = st.Orgs
	b.res.Rows10 = st.Activities
	if err := pool.QueryRow(ctx, `SELECT current_user`).Scan(&b.owner); err != nil {
		return err
	}
	o := b.orgs[0]
	b.coord = db.User(o.Coordinators[0], o.ID)

	if opts.GrowthOrgs > 0 {
		// The template must have no other connection.
		pool.Close()
		t0 := time.Now()
		if _, err := admin.Exec(ctx, `CREATE DATABASE bench50 TEMPLATE bench STRATEGY FILE_COPY`); err != nil {
			return fmt.Errorf("bench: clone bench: %w", err)
		}
		b.res.Timings = append(b.res.Timings, Timing{"clone bench into bench50 (CREATE DATABASE ... TEMPLATE)", time.Since(t0)})
		if b.pool, err = openPool(ctx, url, int32(opts.PauseClients+4)); err != nil {
			return fmt.Errorf("bench: connect bench: %w", err)
		}
		url50, err := dbURL(b.srv.URL, "bench50")
		if err != nil {
			return err
		}
		if b.pool50, err = openPool(ctx, url50, 4); err != nil {
			return fmt.Errorf("bench: connect bench50: %w", err)
		}
		st50, err := b.load(ctx, b.pool50, seed.Config{Orgs: opts.GrowthOrgs, FirstOrg: opts.Orgs, ActivitiesPerOrg: opts.ActivitiesPerOrg, Seed: opts.Seed},
			fmt.Sprintf("growth: seed %d more orgs × %d activities (FirstOrg %d) into bench50", opts.GrowthOrgs, opts.ActivitiesPerOrg, opts.Orgs))
		if err != nil {
			return err
		}
		if err := b.pool50.QueryRow(ctx, `SELECT count(*) FROM proxy_activities`).Scan(&b.res.Rows50); err != nil {
			return err
		}
		b.res.GrowthLoad = st50.Total
	}

	if err := b.buildCopies(ctx); err != nil {
		return err
	}
	return b.prepareSQL()
}

func (b *bench) load(ctx context.Context, pool *pgxpool.Pool, cfg seed.Config, what string) (seed.Stats, error) {
	b.opts.logf("%s", what)
	cfg.Phase = func(name string) { b.opts.logf("  %s", name) }
	cfg.ProgressEvery = 500_000
	cfg.Progress = func(done, total int64) { b.opts.logf("  activities %d/%d", done, total) }
	st, err := seed.Load(ctx, pool, cfg)
	if err != nil {
		return st, fmt.Errorf("bench: %s: %w", what, err)
	}
	if !st.TriggersSkipped {
		b.opts.logf("  note: loaded with all triggers (not a superuser)")
	}
	b.res.Timings = append(b.res.Timings, Timing{fmt.Sprintf("%s (copy %s at %.0f rows/s, vacuum/analyze %s)",
		what, st.ActivityLoad.Round(time.Millisecond), st.Rate(), st.Analyze.Round(time.Millisecond)), st.Total})
	return st, nil
}

// seedIndexes are the six indexes of the seed (the original task card); the
// schema adds the covering report index and the partial template index.
var seedIndexes = []string{
	"proxy_activities_org_id_idx",
	"proxy_activities_coordinator_id_idx",
	"proxy_activities_attributed_mentor_id_idx",
	"proxy_activities_date_idx",
	"proxy_activities_org_id_attributed_mentor_id_idx",
	"proxy_activities_created_at_brin_idx",
}

// buildCopies creates pa_seed_only and pa_bare with proxy_activities' rows in
// the same physical order (so the interleaving of orgs is the same), indexes
// built after the copy, then VACUUM ANALYZE, as the seed does for the table.
func (b *bench) buildCopies(ctx context.Context) error {
	type idx struct{ name, def string }
	rows, err := b.pool.Query(ctx, `
		SELECT c.relname, pg_get_indexdef(i.indexrelid)
		FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
		WHERE i.indrelid = 'public.proxy_activities'::regclass
		ORDER BY i.indexrelid`)
	if err != nil {
		return err
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (idx, error) {
		var x idx
		return x, r.Scan(&x.name, &x.def)
	})
	if err != nil {
		return err
	}
	rename := func(x idx, table string) (string, error) {
		from := " ON public.proxy_activities "
		if !strings.Contains(x.def, from) || !strings.HasPrefix(x.name, "proxy_activities_") {
			return "", fmt.Errorf("bench: unexpected index definition %q", x.def)
		}
		def := strings.Replace(x.def, from, " ON public."+table+" ", 1)
		return strings.Replace(def, " "+x.name+" ", " "+table+"_"+strings.TrimPrefix(x.name, "proxy_activities_")+" ", 1), nil
	}
	byName := map[string]idx{}
	for _, x := range all {
		byName[x.name] = x
	}

	t0 := time.Now()
	b.opts.logf("building pa_seed_only (the seed's six indexes)")
	stmts := []string{
		`DROP TABLE IF EXISTS public.pa_seed_only`,
		`CREATE TABLE public.pa_seed_only (LIKE public.proxy_activities INCLUDING DEFAULTS)`,
		`INSERT INTO public.pa_seed_only SELECT * FROM public.proxy_activities`,
	}
	for _, n := range seedIndexes {
		x, ok := byName[n]
		if !ok {
			return fmt.Errorf("bench: proxy_activities has no index %s (the seed's six)", n)
		}
		def, err := rename(x, "pa_seed_only")
		if err != nil {
			return err
		}
		stmts = append(stmts, def)
	}
	if err := b.execAll(ctx, stmts); err != nil {
		return err
	}
	if err := vacuumAnalyze(ctx, b.pool, "public.pa_seed_only"); err != nil {
		return err
	}
	b.res.Timings = append(b.res.Timings, Timing{"build pa_seed_only (copy, six indexes, VACUUM ANALYZE)", time.Since(t0)})

	t0 = time.Now()
	b.opts.logf("building pa_bare (all indexes and CHECKs; no RLS, no triggers)")
	// INCLUDING ALL: defaults, CHECK constraints, identity, statistics,
	// comments; indexes are built after the copy. LIKE never copies foreign
	// keys (triggers), triggers or policies, and RLS is off on a new table.
	stmts = []string{
		`DROP TABLE IF EXISTS public.pa_bare`,
		`CREATE TABLE public.pa_bare (LIKE public.proxy_activities INCLUDING ALL EXCLUDING INDEXES)`,
		`INSERT INTO public.pa_bare SELECT * FROM public.proxy_activities`,
	}
	for _, x := range all {
		def, err := rename(x, "pa_bare")
		if err != nil {
			return err
		}
		stmts = append(stmts, def)
	}
	stmts = append(stmts, `ALTER TABLE public.pa_bare ADD CONSTRAINT pa_bare_pkey PRIMARY KEY USING INDEX pa_bare_pkey`)
	if err := b.execAll(ctx, stmts); err != nil {
		return err
	}
	if err := vacuumAnalyze(ctx, b.pool, "public.pa_bare"); err != nil {
		return err
	}
	var trig, rls int
	if err := b.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.pa_bare'::regclass),
		(SELECT count(*) FROM pg_class WHERE oid = 'public.pa_bare'::regclass AND relrowsecurity)`).Scan(&trig, &rls); err != nil {
		return err
	}
	if trig != 0 || rls != 0 {
		return fmt.Errorf("bench: pa_bare has %d triggers, rls=%d", trig, rls)
	}
	b.res.Timings = append(b.res.Timings, Timing{"build pa_bare (copy, all indexes, VACUUM ANALYZE)", time.Since(t0)})
	return nil
}

func (b *bench) execAll(ctx context.Context, stmts []string) error {
	for _, q := range stmts {
		if _, err := b.pool.Exec(ctx, q); err != nil {
			return fmt.Errorf("bench: %s: %w", firstLine(q), err)
		}
	}
	return nil
}

func vacuumAnalyze(ctx context.Context, pool *pgxpool.Pool, table string) error {
	// A synchronous commit first, so VACUUM can set hint bits and the
	// visibility map (see seed.vacuum).
	if _, err := pool.Exec(ctx, `BEGIN; SET LOCAL synchronous_commit = on; SELECT txid_current(); COMMIT`); err != nil {
		return err
	}
	_, err := pool.Exec(ctx, `VACUUM (ANALYZE) `+table)
	return err
}

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

// ownerRequest runs fn the way db.As runs a request (one READ COMMITTED
// transaction whose first statement is the same set_config statement), as
// the pool's login role: the table owner, a superuser, to whom RLS does not
// apply.
func (b *bench) ownerRequest(ctx context.Context, pool *pgxpool.Pool, mode pgx.TxAccessMode, fn func(tx pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted, AccessMode: mode}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, ownerSetRequest, b.owner, `{"role":"`+b.owner+`"}`); err != nil {
			return err
		}
		return fn(tx)
	})
}

// ownerSetRequest is db's setRequest statement, for the owner.
const ownerSetRequest = `SELECT set_config('search_path', 'public, extensions', true),
       set_config('role', $1, true),
       set_config('request.jwt.claims', $2, true),
       set_config('request.method', 'POST', true)`

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
// values are literals. pgx's default is a named, cached statement, which
// PostgreSQL may switch to a generic plan after five executions; `db` sets
// plan_cache_mode = force_custom_plan per request against that, and the
// cached variant measures the repository's way side by side.
var oneShot = pgx.QueryExecModeDescribeExec

// measureReports: figures 1 (RLS vs owner, vs seed-only indexes), 2 (no org
// filter) and 3 (growth), all interleaved in one loop, plus two diagnostic
// variants: the repository's cached statement, and the scan alone.
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
			return dd.AsReadOnly(ctx, b.coord, func(tx pgx.Tx) error {
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

// activityRow is one insert's parameters, the same sequence for both sides.
func (b *bench) activityArgs(i int) []any {
	o := b.orgs[0]
	mentor := o.Mentors[i%len(o.Mentors)]
	types := []string{"conversation", "phone_call", "home_visit", "group_meeting"}
	date := reportFrom.AddDate(0, 0, i%365)
	var notes *string
	var tmpl *uuid.UUID
	return []any{o.Coordinators[0], mentor, o.ID, types[i%len(types)], date, int32(15 + 15*(i%8)), notes, false, tmpl}
}

// measureInsert: figure 4. One request per insert, sequential, batches of
// InsertBatch; the rate of a batch is one timing.
func (b *bench) measureInsert(ctx context.Context) error {
	d := db.New(b.pool)
	var seq atomic.Int64
	batch := b.opts.InsertBatch
	vs := []variant{
		{VarInsertRLS, func(ctx context.Context) error {
			for k := 0; k < batch; k++ {
				args := b.activityArgs(int(seq.Add(1)))
				if err := d.As(ctx, b.coord, func(tx pgx.Tx) error {
					_, err := drain(ctx, tx, b.insertSQL, args...)
					return err
				}); err != nil {
					return err
				}
			}
			return nil
		}},
		{VarInsertBare, func(ctx context.Context) error {
			for k := 0; k < batch; k++ {
				args := b.activityArgs(int(seq.Add(1)))
				if err := b.ownerRequest(ctx, b.pool, pgx.ReadWrite, func(tx pgx.Tx) error {
					_, err := drain(ctx, tx, b.insertBareSQL, args...)
					return err
				}); err != nil {
					return err
				}
			}
			return nil
		}},
	}
	b.opts.logf("measuring inserts: 2 variants × %d rounds × %d requests", b.opts.InsertRounds, batch)
	samples, err := interleave(ctx, 1, b.opts.InsertRounds, nil, vs...)
	if err != nil {
		return fmt.Errorf("bench: insert: %w", err)
	}
	for i := range samples {
		samples[i].Ops = batch
	}
	b.res.Samples = append(b.res.Samples, samples...)
	return nil
}

type pauseTarget struct {
	mentor, org, coord uuid.UUID
}

// measurePause: figure 5. PauseClients clients pause PauseMentors different
// mentors (each client its own share, one request per mentor). Baselines: the
// same clients doing a plain UPDATE of the same status rows, once as the same
// coordinator through RLS (db.As) and once as the owner without RLS. Before
// every timed run the rows are reset to active (untimed) and the status
// tables vacuumed, so every run starts from the same state. A sampler watches
// pg_stat_activity for lock waits throughout, attributing them to the
// variant running, and the server logs every wait over deadlock_timeout.
func (b *bench) measurePause(ctx context.Context) error {
	var targets []pauseTarget
	for _, o := range b.orgs {
		paused := map[uuid.UUID]bool{}
		for _, p := range o.Paused {
			paused[p] = true
		}
		for _, m := range o.Mentors {
			if !paused[m] && len(targets) < b.opts.PauseMentors {
				targets = append(targets, pauseTarget{m, o.ID, o.Coordinators[0]})
			}
		}
	}
	if len(targets) < b.opts.PauseMentors {
		return fmt.Errorf("bench: only %d active mentors for the pause figure, want %d", len(targets), b.opts.PauseMentors)
	}
	ids := make([]uuid.UUID, len(targets))
	for i, t := range targets {
		ids[i] = t.mentor
	}
	d := db.New(b.pool)
	q := gen.New()
	reason := "bench"
	ret := reportTo.AddDate(0, 1, 0)
	clients := b.opts.PauseClients
	smp := startSampler(ctx, b.pool, b.lockWaitLog)
	parallel := func(ctx context.Context, name string, one func(ctx context.Context, t pauseTarget) error) error {
		smp.enter(name)
		defer smp.leave()
		var wg sync.WaitGroup
		errs := make([]error, clients)
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func(c int) {
				defer wg.Done()
				for i := c; i < len(targets); i += clients {
					if err := one(ctx, targets[i]); err != nil {
						errs[c] = err
						return
					}
				}
			}(c)
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	const plainUpdate = `UPDATE public.peer_mentor_status
		SET status = 'paused', reason = $3, expected_return_date = $4
		WHERE peer_mentor_id = $1 AND org_id = $2`
	oneRow := func(t pauseTarget, tag pgconn.CommandTag, err error) error {
		if err == nil && tag.RowsAffected() != 1 {
			err = fmt.Errorf("plain update of %s touched %d rows", t.mentor, tag.RowsAffected())
		}
		return err
	}
	vs := []variant{
		{VarPauseRPC, func(ctx context.Context) error {
			return parallel(ctx, VarPauseRPC, func(ctx context.Context, t pauseTarget) error {
				return d.As(ctx, db.User(t.coord, t.org), func(tx pgx.Tx) error {
					_, err := q.ActivatePause(ctx, tx, gen.ActivatePauseParams{PeerMentorID: t.mentor, Reason: &reason, ExpectedReturnDate: &ret})
					return err
				})
			})
		}},
		{VarPauseUpdateRLS, func(ctx context.Context) error {
			return parallel(ctx, VarPauseUpdateRLS, func(ctx context.Context, t pauseTarget) error {
				return d.As(ctx, db.User(t.coord, t.org), func(tx pgx.Tx) error {
					tag, err := tx.Exec(ctx, plainUpdate, t.mentor, t.org, reason, ret)
					return oneRow(t, tag, err)
				})
			})
		}},
		{VarPauseUpdateOwner, func(ctx context.Context) error {
			return parallel(ctx, VarPauseUpdateOwner, func(ctx context.Context, t pauseTarget) error {
				return b.ownerRequest(ctx, b.pool, pgx.ReadWrite, func(tx pgx.Tx) error {
					tag, err := tx.Exec(ctx, plainUpdate, t.mentor, t.org, reason, ret)
					return oneRow(t, tag, err)
				})
			})
		}},
	}
	reset := func(ctx context.Context) error {
		if _, err := b.pool.Exec(ctx, `UPDATE public.peer_mentor_status
			SET status = 'active', reason = NULL, expected_return_date = NULL
			WHERE status = 'paused' AND peer_mentor_id = ANY ($1)`, ids); err != nil {
			return fmt.Errorf("reset: %w", err)
		}
		return vacuumAnalyze(ctx, b.pool, "public.peer_mentor_status, public.peer_mentor_status_log")
	}

	b.opts.logf("measuring pauses: %d clients × %d mentors, %d variants × %d rounds", clients, len(targets), len(vs), b.opts.PauseRounds)
	samples, err := interleave(ctx, 1, b.opts.PauseRounds, reset, vs...)
	b.res.LockWaits = smp.stop()
	if err != nil {
		return fmt.Errorf("bench: pause: %w", err)
	}
	if err := reset(ctx); err != nil {
		return err
	}
	for i := range samples {
		samples[i].Ops = len(targets)
	}
	b.res.Samples = append(b.res.Samples, samples...)
	return nil
}

// LockWaits is what was seen of heavyweight-lock waits during the pause
// figure, per variant.
type LockWaits struct {
	// Samples is the number of pg_stat_activity samples taken.
	Samples int
	// Waits counts, per variant and per "wait_event on relation", the
	// waiting backends seen by the sampler (one backend in one sample is
	// one count; a long wait is counted in several samples).
	Waits map[string]map[string]int
	// Blocked counts per variant the (waiter, blocker) pairs of those
	// samples, from pg_blocking_pids.
	Blocked map[string]int
	// LogLines counts per variant and per kind ("extension" or "other") the
	// log_lock_waits lines ("still waiting for") the server wrote while the
	// variant ran; nil when the log is not readable (Docker, a URL).
	LogLines map[string]map[string]int
}

// Logical returns, for a variant, the waits on anything but relation
// extension (advisory, tuple, transactionid, relation locks): waits between
// transactions for different mentors. Extension returns the relation
// extension waits (any two backends appending to one table).
func (lw LockWaits) Logical(variant string) (sampled, logged int) {
	for k, n := range lw.Waits[variant] {
		if !strings.HasPrefix(k, "extend") {
			sampled += n
		}
	}
	return sampled, lw.LogLines[variant]["other"]
}

func (lw LockWaits) Extension(variant string) (sampled, logged int) {
	for k, n := range lw.Waits[variant] {
		if strings.HasPrefix(k, "extend") {
			sampled += n
		}
	}
	return sampled, lw.LogLines[variant]["extension"]
}

type sampler struct {
	cancel  context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	current string
	logAt   map[string]int
	readLog func() (map[string]int, bool)
	res     LockWaits
}

func startSampler(ctx context.Context, pool *pgxpool.Pool, readLog func() (map[string]int, bool)) *sampler {
	ctx, cancel := context.WithCancel(ctx)
	s := &sampler{cancel: cancel, done: make(chan struct{}), readLog: readLog,
		res: LockWaits{Waits: map[string]map[string]int{}, Blocked: map[string]int{}}}
	if _, ok := readLog(); ok {
		s.res.LogLines = map[string]map[string]int{}
	}
	go func() {
		defer close(s.done)
		conn, err := pool.Acquire(ctx)
		if err != nil {
			return
		}
		defer conn.Release()
		for ctx.Err() == nil {
			rows, err := conn.Query(ctx, `SELECT a.wait_event, coalesce(l.relation::regclass::text, l.locktype, '(released before pg_locks was read)'),
				cardinality(pg_blocking_pids(a.pid))
				FROM pg_stat_activity AS a
				LEFT JOIN pg_locks AS l ON l.pid = a.pid AND NOT l.granted
				WHERE a.wait_event_type = 'Lock' AND a.datname = current_database()`)
			if err != nil {
				return
			}
			s.mu.Lock()
			cur := s.current
			if cur == "" {
				cur = "between runs"
			}
			s.res.Samples++
			for rows.Next() {
				var ev, rel string
				var blockers int
				if rows.Scan(&ev, &rel, &blockers) == nil {
					if s.res.Waits[cur] == nil {
						s.res.Waits[cur] = map[string]int{}
					}
					s.res.Waits[cur][ev+" on "+rel]++
					s.res.Blocked[cur] += blockers
				}
			}
			s.mu.Unlock()
			rows.Close()
			time.Sleep(2 * time.Millisecond)
		}
	}()
	return s
}

// enter and leave bracket one timed run of a variant.
func (s *sampler) enter(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.current = name
	s.logAt, _ = s.readLog()
}

func (s *sampler) leave() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now, ok := s.readLog(); ok && s.res.LogLines != nil {
		if s.res.LogLines[s.current] == nil {
			s.res.LogLines[s.current] = map[string]int{}
		}
		for k, n := range now {
			s.res.LogLines[s.current][k] += n - s.logAt[k]
		}
	}
	s.current = ""
}

func (s *sampler) stop() LockWaits {
	s.cancel()
	<-s.done
	return s.res
}

// lockWaitLog counts the log_lock_waits lines in a local server's log, by
// kind: "extension" (relation extension) and "other".
func (b *bench) lockWaitLog() (map[string]int, bool) {
	if b.srv.Dir == "" {
		return nil, false
	}
	raw, err := os.ReadFile(b.srv.Dir + "/postgres.log")
	if err != nil {
		return nil, false
	}
	m := map[string]int{"extension": 0, "other": 0}
	for _, l := range strings.Split(string(raw), "\n") {
		if !strings.Contains(l, "still waiting for") {
			continue
		}
		if strings.Contains(l, "extension of relation") {
			m["extension"]++
		} else {
			m["other"]++
		}
	}
	return m, true
}

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
		return func(fn func(tx pgx.Tx) error) error { return db.New(pool).As(ctx, b.coord, fn) }
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
	err := db.New(b.pool).AsReadOnly(ctx, b.coord, func(tx pgx.Tx) error {
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

// timeConformance times the conformance suite in a subprocess after an
// untimed build of its test binaries (a warm Go build cache).
func timeConformance(ctx context.Context, opts Options) (*ConformanceRun, error) {
	run := &ConformanceRun{Cmd: strings.Join(opts.ConformanceCmd, " ")}
	opts.logf("warming the Go build cache: go test -count=1 -exec /bin/true ./conformance/...")
	warm := exec.CommandContext(ctx, "go", "test", "-count=1", "-exec", "/bin/true", "./conformance/...")
	warm.Dir = opts.ConformanceDir
	if out, err := warm.CombinedOutput(); err != nil {
		run.Note = "build failed: " + lastLines(string(out), 5)
	}
	opts.logf("timing: %s", run.Cmd)
	cmd := exec.CommandContext(ctx, opts.ConformanceCmd[0], opts.ConformanceCmd[1:]...)
	cmd.Dir = opts.ConformanceDir
	t0 := time.Now()
	out, err := cmd.CombinedOutput()
	run.Wall = time.Since(t0)
	run.Passed = err == nil
	run.Output = lastLines(string(out), 20)
	opts.logf("  %s (passed: %v)", run.Wall.Round(10*time.Millisecond), run.Passed)
	return run, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}

// Machine describes where the numbers were taken.
type Machine struct {
	CPUs       int
	CPUModel   string
	MemTotal   string
	Go         string
	OS         string
	PostgreSQL string
	ServerKind string
}

func describeMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(raw), "\n") {
			if strings.HasPrefix(l, "model name") {
				if i := strings.IndexByte(l, ':'); i >= 0 {
					m.CPUModel = strings.TrimSpace(l[i+1:])
				}
				break
			}
		}
	}
	if raw, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(raw), "\n") {
			if strings.HasPrefix(l, "MemTotal:") {
				var kb int64
				fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, "MemTotal:")), "%d", &kb)
				m.MemTotal = fmt.Sprintf("%.1f GiB", float64(kb)/1024/1024)
			}
		}
	}
	return m
}
