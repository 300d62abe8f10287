package mutation

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/internal/harness/pgserver"
	"github.com/mentordb/mentordb/internal/harness/testdb"
)

// Status of a mutant after the run.
const (
	Killed       = "killed"        // a behavioural test failed
	Survived     = "survived"      // no test failed, the whole matrix included
	SnapshotOnly = "snapshot-only" // only snapshot tests failed
	IsEquivalent = "equivalent"    // declared in Equivalent; not run
	RunnerError  = "error"         // the mutant did not apply, or the binary did not run
)

// Result is one mutant's outcome.
type Result struct {
	Mutant
	Status string `json:"status"`
	// KilledBy are the behavioural tests that failed; SnapshotKills the
	// snapshot tests that did.
	KilledBy      []string `json:"killed_by,omitempty"`
	SnapshotKills []string `json:"snapshot_kills,omitempty"`
	// Stage is how far the run went: "subset", "costly", "snapshot" or
	// "matrix".
	Stage   string  `json:"stage,omitempty"`
	Tests   int     `json:"tests_selected"`
	Seconds float64 `json:"seconds"`
	Reason  string  `json:"reason,omitempty"` // why it is equivalent
	// Callers are the caller classes an equivalence holds for, PinnedBy
	// the tests of the unmutated run that pin its assumption (CONF-5).
	Callers  []string `json:"callers,omitempty"`
	PinnedBy []string `json:"pinned_by,omitempty"`
	Error    string   `json:"error,omitempty"`
}

// Options configure Run.
type Options struct {
	// Binary is the compiled conformance test binary (go test -c), run in
	// Dir (the conformance package directory).
	Binary, Dir string
	// Workers is how many mutants run at once.
	Workers int
	// Fallback runs the whole matrix for a mutant that no selected test
	// killed, to check the selection. Without it, such a mutant runs the
	// snapshot tests only, which tell a snapshot-only kill from a survivor.
	Fallback bool
	// Only, when set, runs the mutants whose ID it matches (development).
	Only *regexp.Regexp
	// Pending adds the Pending families' mutants (development; the gate
	// then fails: partial run).
	Pending bool
	// TestTimeout bounds one run of the binary.
	TestTimeout time.Duration
	// Work is a directory for the trace.
	Work string
	// Progress, when set, is rewritten with the run so far after every
	// mutant, so an interrupted run leaves its results.
	Progress string
	Logf     func(format string, args ...any)

	killers *killers
}

// Run is the whole mutation run.
type Run struct {
	Started       time.Time `json:"started"`
	WallSeconds   float64   `json:"wall_seconds"`
	BaselineTests int       `json:"baseline_tests"`
	BaselineSecs  float64   `json:"baseline_seconds"`
	Results       []Result  `json:"mutants"`
	// Partial is set when Only restricted the run.
	Partial string `json:"partial,omitempty"`
}

// Execute performs the mutation run: it starts PostgreSQL (as the matrix
// does, with pg_stat_statements preloaded for the trace), runs the
// unmutated matrix, which must pass, generates the mutants from its
// template, and runs the selected tests for each, the mutant applied to
// every clone they take (pgtest.EnvMutant).
func Execute(ctx context.Context, o Options) (*Run, error) {
	run := &Run{Started: time.Now().UTC()}
	o.killers = newKillers()
	if o.Workers < 1 {
		o.Workers = 1
	}
	if o.Only != nil {
		run.Partial = "only mutants matching " + o.Only.String()
	}
	if o.Pending {
		run.Partial = strings.TrimPrefix(run.Partial+"; with the pending families", "; ")
	}
	srv, err := pgserver.Start(ctx, pgserver.Options{
		SharedPreloadLibraries: []string{"pg_stat_statements"},
		Settings: map[string]string{
			"pg_stat_statements.track":         "all",
			"pg_stat_statements.max":           "20000",
			"pg_stat_statements.track_utility": "off",
			"max_connections":                  "300",
			// Failed statements come from the log (see ReadTrace).
			"log_line_prefix":         logPrefix,
			"log_min_error_statement": "error",
		},
	})
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	if !slices.Contains(srv.SharedPreloadLibraries, "pg_stat_statements") {
		return nil, fmt.Errorf("mutation: the server does not preload pg_stat_statements (shared_preload_libraries=%v); the trace needs it", srv.SharedPreloadLibraries)
	}
	admin, err := pgx.Connect(ctx, srv.URL)
	if err != nil {
		return nil, err
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`); err != nil {
		return nil, err
	}
	env := []string{pgserver.EnvDatabaseURL + "=" + srv.URL}

	// The unmutated matrix passes first, and its trace says which test
	// runs what. The suites of external tools are left to the matrix run
	// (see slowSuites).
	tracePath := filepath.Join(o.Work, "trace.jsonl")
	_ = os.Remove(tracePath)
	o.logf("mutants: running the unmutated matrix")
	base := runTests(ctx, o.Binary, o.Dir, "", SkipPattern, 10*time.Minute, append(env, pgtest.EnvTrace+"="+tracePath))
	_ = os.WriteFile(filepath.Join(o.Work, "baseline.txt"), base.output, 0o644)
	if base.err != nil {
		return nil, fmt.Errorf("mutation: the unmutated matrix did not run: %w", base.err)
	}
	if len(base.failed) > 0 {
		return nil, fmt.Errorf("mutation: the unmutated matrix fails (%s); fix it first:\n%s", strings.Join(base.failed, ", "), tail(base.output, 6000))
	}
	var tests []string
	for t := range base.results {
		tests = append(tests, t)
	}
	sort.Strings(tests)
	run.BaselineTests, run.BaselineSecs = len(tests), base.elapsed.Seconds()
	serverLog := ""
	if srv.Dir != "" {
		serverLog = filepath.Join(srv.Dir, "postgres.log")
	} else {
		o.logf("mutants: no server log (%s server): tests that only ran failing statements against an object are not selected for it", srv.Kind)
	}
	trace, err := ReadTrace(tracePath, serverLog)
	if err != nil {
		return nil, fmt.Errorf("mutation: trace: %w", err)
	}

	template, err := pgtest.BuildTemplate(ctx, srv.URL)
	if err != nil {
		return nil, err
	}
	mutants, err := generateFrom(ctx, srv.URL, admin, template, o.Pending)
	if err != nil {
		return nil, err
	}
	o.logf("mutants: %d generated from the catalog", len(mutants))

	var todo []int
	run.Results = make([]Result, 0, len(mutants))
	for _, m := range mutants {
		if o.Only != nil && !o.Only.MatchString(m.ID) {
			continue
		}
		r := Result{Mutant: m}
		if e := EquivalenceOf(m.ID); e != nil {
			judgeEquivalence(&r, e, base.results)
		} else {
			todo = append(todo, len(run.Results))
		}
		run.Results = append(run.Results, r)
	}
	todo = interleave(run.Results, todo)
	var next, done atomic.Int64
	var wg sync.WaitGroup
	var progressMu sync.Mutex
	probes := make([]*pgx.Conn, o.Workers)
	for w := range probes {
		if probes[w], err = cloneDB(ctx, admin, srv.URL, template, fmt.Sprintf("mentordb_mutation_probe%d", w)); err != nil {
			return nil, err
		}
		defer probes[w].Close(context.Background())
	}
	for w := 0; w < o.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(todo) || ctx.Err() != nil {
					return
				}
				res := run.Results[todo[i]]
				r := &res
				runMutant(ctx, o, probes[w], r, trace, tests, env)
				progressMu.Lock()
				run.Results[todo[i]] = res
				progressMu.Unlock()
				n := done.Add(1)
				o.logf("mutants: %d/%d %s %s (%s, %d tests, %.1fs)", n, len(todo), r.Status, r.ID, r.Stage, r.Tests, r.Seconds)
				if o.Progress != "" {
					progressMu.Lock()
					snap := *run
					snap.Results = slices.Clone(run.Results)
					snap.Partial = fmt.Sprintf("in progress: %d of %d mutants run", n, len(todo))
					snap.WallSeconds = time.Since(run.Started).Seconds()
					_ = snap.WriteJSON(o.Progress)
					progressMu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	run.WallSeconds = time.Since(run.Started).Seconds()
	return run, nil
}

// judgeEquivalence sets r, a mutant e declares equivalent, from the
// unmutated run's results: equivalent when every pin of e names a test that
// passed there (a behavioural one, unless e's pin is static), else a
// survivor: an equivalence without a pinning test proves nothing (CONF-5).
func judgeEquivalence(r *Result, e *Equivalence, results map[string]string) {
	r.Reason, r.Callers, r.PinnedBy = e.Reason, CallerNames(e.Callers), e.PinnedBy(results)
	switch {
	case len(e.Callers) == 0:
		r.Status, r.Error = Survived, "declared equivalent without the caller classes it holds for"
	case r.PinnedBy == nil:
		r.Status, r.Error = Survived, fmt.Sprintf("declared equivalent, but no test pinning it (%s) passed in the unmutated run", strings.Join(e.Pins, "; "))
	default:
		r.Status = IsEquivalent
	}
}

// interleave orders the mutants to run round-robin over their families,
// so that a run cut short has measured every family alike.
func interleave(results []Result, todo []int) []int {
	by := map[Family][]int{}
	for _, i := range todo {
		by[results[i].Family] = append(by[results[i].Family], i)
	}
	out := make([]int, 0, len(todo))
	for len(out) < len(todo) {
		for _, f := range Families {
			if q := by[f]; len(q) > 0 {
				out = append(out, q[0])
				by[f] = q[1:]
			}
		}
	}
	return out
}

func (o Options) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}

// generateFrom clones the template (which accepts no connections) and reads
// the mutants from the clone's catalog.
func generateFrom(ctx context.Context, serverURL string, admin *pgx.Conn, template string, pending bool) ([]Mutant, error) {
	c, err := cloneDB(ctx, admin, serverURL, template, "mentordb_mutation_catalog")
	if err != nil {
		return nil, err
	}
	defer c.Close(context.Background())
	mutants, err := Generate(ctx, c, pending)
	if err != nil {
		return nil, err
	}
	return distinct(ctx, c, mutants)
}

// runMutant checks that r's mutant applies (in a rolled-back transaction on
// the worker's probe database), then runs the tests that can observe it,
// each on its own clone with the mutant applied, in stages: the focus, the
// rest of the cheap selected tests, the costly ones, then (with Fallback)
// the whole matrix, stopping at the first behavioural kill.
func runMutant(ctx context.Context, o Options, probe *pgx.Conn, r *Result, trace Trace, tests, env []string) {
	start := time.Now()
	defer func() { r.Seconds = time.Since(start).Seconds() }()
	if err := applies(ctx, probe, r.SQL); err != nil {
		r.Status, r.Error = RunnerError, "the mutant does not apply: "+err.Error()
		return
	}
	env = append(slices.Clone(env), pgtest.EnvMutant+"="+r.SQL)

	sel := Select(&r.Mutant, trace, tests)
	r.Tests = len(sel.Focus) + len(sel.Cheap) + len(sel.Costly)
	type stage struct {
		name  string
		tests []string
		// behavioural stages stop at their first failure; the matrix
		// fallback runs whole, to record every test that notices.
		failFast bool
	}
	var stages []stage
	for _, st := range []stage{{"focus", sel.Focus, true}, {"subset", sel.Cheap, true}, {"costly", sel.Costly, true}} {
		if len(st.tests) == 0 {
			continue
		}
		if h := o.killers.hint(st.tests); h != nil {
			stages = append(stages, stage{st.name + "-hint", h, true}, stage{st.name, without(st.tests, h), true})
		} else {
			stages = append(stages, st)
		}
	}
	if o.Fallback {
		stages = append(stages, stage{"matrix", nil, false})
	} else if len(sel.Snapshots) > 0 {
		stages = append(stages, stage{"snapshot", sel.Snapshots, true})
	}
	snapshots := map[string]bool{}
	for _, st := range stages {
		r.Stage = st.name
		pattern, stageEnv := "^TestConformance$/^matrix$", env
		if st.tests != nil {
			pattern = RunPattern(st.tests)
		}
		if st.failFast {
			// A stage holds only behavioural or only snapshot tests, so
			// its first failure settles it and the rest need not run.
			stageEnv = append(slices.Clone(env), pgtest.EnvFailFast+"=1")
		}
		out := runTests(ctx, o.Binary, o.Dir, pattern, SkipPattern, o.TestTimeout, stageEnv)
		if out.err != nil {
			r.Status, r.Error = RunnerError, out.err.Error()
			return
		}
		kills, snaps := splitKills(out.failed)
		r.KilledBy = append(r.KilledBy, kills...)
		for _, t := range snaps {
			snapshots[t] = true
		}
		if len(r.KilledBy) > 0 {
			o.killers.record(r.KilledBy)
			break
		}
	}
	for t := range snapshots {
		r.SnapshotKills = append(r.SnapshotKills, t)
	}
	sort.Strings(r.SnapshotKills)
	switch {
	case len(r.KilledBy) > 0:
		r.Status = Killed
	case len(r.SnapshotKills) > 0:
		r.Status = SnapshotOnly
	default:
		r.Status = Survived
	}
}

// applies runs sql in a transaction on conn and rolls it back: a mutant
// that does not apply is the runner's error, and finding it here keeps it
// from reaching the test binary.
func applies(ctx context.Context, conn *pgx.Conn, sql string) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background())
	_, err = tx.Exec(ctx, sql)
	return err
}

// cloneDB copies template to name on the server at serverURL and connects
// to the copy.
func cloneDB(ctx context.Context, admin *pgx.Conn, serverURL, template, name string) (*pgx.Conn, error) {
	if _, err := admin.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
		return nil, err
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s STRATEGY FILE_COPY`, name, template)); err != nil {
		return nil, err
	}
	return pgx.Connect(ctx, testdb.WithDatabase(serverURL, name))
}

// List starts a PostgreSQL, migrates a database and returns the mutants its
// catalog yields (with the Pending families' when pending is set), without
// running any test: what a run would try, for reviewers and for checking
// that a new object gets its mutants.
func List(ctx context.Context, pending bool) ([]Mutant, error) {
	srv, err := pgserver.Start(ctx, pgserver.Options{})
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	admin, err := pgx.Connect(ctx, srv.URL)
	if err != nil {
		return nil, err
	}
	defer admin.Close(context.Background())
	template, err := pgtest.BuildTemplate(ctx, srv.URL)
	if err != nil {
		return nil, err
	}
	return generateFrom(ctx, srv.URL, admin, template, pending)
}
