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
//
// One file per job: setup.go (databases, seed, growth clone, comparison
// tables), sql.go (the measured statements and how a request runs them),
// reports.go, insert.go and pause.go (the figures), lockwaits.go (the lock
// sampler of the pause figure), explain.go (the plans shown with the
// results), conformance.go (the suite's wall time), machine.go, measure.go
// (interleaved rounds), result.go and notes.go (the report).
package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mentordb/mentordb/db"
	"github.com/mentordb/mentordb/internal/harness/pgserver"
	"github.com/mentordb/mentordb/internal/harness/seed"
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
	// WireRounds sizes the wire figure (default 31 calls per variant; each
	// costs a few round trips of WireRTT).
	WireRounds int
	// ConformanceCmd is the command whose wall time is the conformance
	// figure (default: make conformance, as the DESIGN target names it), run in
	// ConformanceDir (default "."). SkipConformance leaves the figure out.
	ConformanceCmd  []string
	ConformanceDir  string
	SkipConformance bool
	// Only, when set, measures just that figure: "pause" (activate_pause vs
	// plain UPDATE) "brin" (the BRIN figures, brin.go), "wire" (one-statement
	// requests at WireRTT) or "insert" (one activity through RLS and triggers
	// vs the bare copy, insert.go). It implies SkipConformance and no growth
	// figure. The zero value measures every figure.
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
	if o.Only == "insert" {
		// The insert figure alone needs a much smaller data set: both sides
		// insert the same rows into tables of the same size with the same
		// indexes, and what only the RLS side does per row (the policies'
		// org_members lookups, the foreign-key probes of users, orgs and
		// templates, the constraint triggers' membership queries) reads
		// tables whose size does not depend on the number of activities. The
		// one thing that grows with the base data is the depth of the
		// B-trees each insert descends (one level between 100,000 and
		// 1,000,000 rows, cached), paid by both sides, plus the audit log's
		// two indexes on the RLS side. One org of 100,000 rows keeps the
		// setup at a few seconds instead of a minute of seeding.
		def(&o.Orgs, 1)
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
	def(&o.WireRounds, 31)
	if len(o.ConformanceCmd) == 0 {
		o.ConformanceCmd = []string{"make", "conformance"}
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
	// seed-only baseline and flatter the comparison with it.
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
	case "", "pause", "brin", "wire", "insert":
	default:
		return nil, fmt.Errorf("bench: unknown figure %q (want pause, brin, wire or insert)", opts.Only)
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
	}
	// Before the insert figure adds rows: the BRIN figures measure the table
	// as the seed left it (vacuumed, every range summarised), as they do with
	// --only brin. Rows inserted since the last VACUUM are PA-PLAN-2's
	// conformance case (until autovacuum summarises their ranges, a bitmap
	// scan reads all of them).
	if opts.Only == "" || opts.Only == "brin" {
		if err := b.measureBRIN(ctx); err != nil {
			return nil, err
		}
	}
	if opts.Only == "" || opts.Only == "insert" {
		if err := b.measureInsert(ctx); err != nil {
			return nil, err
		}
	}
	if opts.Only == "" || opts.Only == "pause" {
		if err := b.measurePause(ctx); err != nil {
			return nil, err
		}
	}
	if opts.Only == "" || opts.Only == "wire" {
		if err := b.measureWire(ctx); err != nil {
			return nil, err
		}
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
