package bench

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Variant names (the raw medians table lists them).
const (
	VarReportRLS      = "report: coordinator through RLS (db.As), org filter"
	VarReportOwner    = "report: table owner, no RLS, org filter"
	VarReportSeedOnly = "report: owner, pa_seed_only (seed's six indexes only)"
	VarReportNoOrg    = "report: coordinator through RLS, no org filter"
	VarReport50       = "report: coordinator through RLS, org filter, at 50 orgs"
	// Diagnostics (no target of their own).
	VarReportRLSCached  = "report: coordinator through RLS, org filter, pgx's cached statement (which the repository avoids)"
	VarReportScan       = "report's index range alone (count, sum; owner)"
	VarInsertRLS        = "insert: coordinator through RLS + triggers (db.As)"
	VarInsertBare       = "insert: owner into pa_bare (no RLS, no triggers)"
	VarPauseRPC         = "pause: activate_pause, coordinator via db.As"
	VarPauseUpdateRLS   = "pause: plain UPDATE, coordinator via db.As"
	VarPauseUpdateOwner = "pause: plain UPDATE, owner without RLS"
	VarWireRead         = "10 ms RTT: repository read (Get), coordinator"
	VarWireReadAlone    = "10 ms RTT: the same SELECT alone, owner, no request setup"
	VarWireWrite        = "10 ms RTT: repository write (Create), coordinator"
	VarWireWriteAlone   = "10 ms RTT: the same INSERT alone, owner, no request setup"
)

// Timing is one untimed-by-the-figures phase of the run (loading, copies).
type Timing struct {
	What string
	Took time.Duration
}

// Plan is an EXPLAIN (ANALYZE, BUFFERS) output.
type Plan struct {
	Name, Text string
}

// ConformanceRun is the conformance wall time.
type ConformanceRun struct {
	Cmd    string
	Wall   time.Duration
	Passed bool
	Output string
	Note   string
	// CPU is the user and system time of the command and everything it
	// waited for (test binaries, PostgreSQL, the CLIs).
	CPU time.Duration
}

// Figure is one row of the results table. Info marks a figure shown beside
// a target for information, with no target of its own.
type Figure struct {
	Name     string
	Measured string
	Target   string
	Pass     bool
	Info     bool
	Detail   string
}

// Result is everything a run measured.
type Result struct {
	Started     time.Time
	Total       time.Duration
	Opts        Options
	Machine     Machine
	Conformance *ConformanceRun
	Samples     []Sample
	Timings     []Timing
	Plans       []Plan
	LockWaits   LockWaits
	Rows10      int64
	Rows50      int64
	GrowthLoad  time.Duration
	ReportRows  int
	WireTrips   WireTrips
	YearRows    int64
	Figures     []Figure
	BRIN        brinSizes
}

func (r *Result) sample(name string) (Sample, bool) {
	for _, s := range r.Samples {
		if s.Name == name {
			return s, true
		}
	}
	return Sample{}, false
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

// build computes the figures from the samples.
func (r *Result) build() {
	r.Figures = nil
	defer r.brinFigures()
	ratio := func(a, b string) (float64, Sample, Sample, bool) {
		sa, ok1 := r.sample(a)
		sb, ok2 := r.sample(b)
		if !ok1 || !ok2 || sb.Median() == 0 {
			return 0, sa, sb, false
		}
		return float64(sa.Median()) / float64(sb.Median()), sa, sb, true
	}
	if x, a, b, ok := ratio(VarReportRLS, VarReportOwner); ok {
		r.Figures = append(r.Figures, Figure{
			Name:     "Bufdir annual report, coordinator through RLS vs owner without RLS",
			Measured: fmt.Sprintf("%.2f×", x), Target: "≤ 1.10×", Pass: x <= 1.10,
			Detail: fmt.Sprintf("%s vs %s", ms(a.Median()), ms(b.Median())),
		})
	}
	if x, a, b, ok := ratio(VarReportRLS, VarReportScan); ok {
		r.Figures = append(r.Figures, Figure{
			Name:     "Bufdir annual report through RLS vs reading its index range alone (count and sum)",
			Measured: fmt.Sprintf("%.2f×", x), Target: "≤ 2.50×", Pass: x <= 2.50,
			Detail: fmt.Sprintf("%s vs %s", ms(a.Median()), ms(b.Median())),
		})
	}
	if x, a, b, ok := ratio(VarReportSeedOnly, VarReportRLS); ok {
		r.Figures = append(r.Figures, Figure{
			Name:     "Bufdir annual report through RLS vs the seed's six indexes alone (speed-up)",
			Measured: fmt.Sprintf("%.1f× faster", x), Target: "for information", Info: true,
			Detail: fmt.Sprintf("%s (seed-only) vs %s (RLS)", ms(a.Median()), ms(b.Median())),
		})
	}
	if x, a, b, ok := ratio(VarReportNoOrg, VarReportRLS); ok {
		r.Figures = append(r.Figures, Figure{
			Name:     "the same report without an explicit org filter vs the filtered form",
			Measured: fmt.Sprintf("%.2f×", x), Target: "≤ 1.20×", Pass: x <= 1.20,
			Detail: fmt.Sprintf("%s vs %s", ms(a.Median()), ms(b.Median())),
		})
	}
	if x, a, b, ok := ratio(VarReport50, VarReportRLS); ok {
		r.Figures = append(r.Figures, Figure{
			Name:     fmt.Sprintf("growth: one org's report at %d orgs vs at %d orgs", r.Opts.Orgs+r.Opts.GrowthOrgs, r.Opts.Orgs),
			Measured: fmt.Sprintf("%.2f×", x), Target: "≤ 1.20×", Pass: x <= 1.20,
			Detail: fmt.Sprintf("%s (%d rows) vs %s (%d rows); growth load %s", ms(a.Median()), r.Rows50, ms(b.Median()), r.Rows10, r.GrowthLoad.Round(time.Second)),
		})
	}
	if a, ok1 := r.sample(VarInsertRLS); ok1 {
		if b, ok2 := r.sample(VarInsertBare); ok2 && b.Rate() > 0 {
			x := a.Rate() / b.Rate()
			r.Figures = append(r.Figures, Figure{
				Name:     "insert one activity through RLS, attribution check, audit and updated_at triggers vs a bare copy",
				Measured: fmt.Sprintf("%.2f× the rate", x), Target: "≥ 0.50× the rate", Pass: x >= 0.5,
				Detail: fmt.Sprintf("%.0f/s vs %.0f/s", a.Rate(), b.Rate()),
			})
		}
	}
	if a, ok := r.sample(VarPauseRPC); ok {
		lw := r.LockWaits
		ls, ll := lw.Logical(VarPauseRPC)
		es, el := lw.Extension(VarPauseRPC)
		for _, base := range []struct {
			name, label string
			info        bool
		}{
			{VarPauseUpdateRLS, "the same coordinators' plain UPDATE through RLS", false},
			{VarPauseUpdateOwner, "the owner's plain UPDATE without RLS (for information)", true},
		} {
			b, ok := r.sample(base.name)
			if !ok || b.Rate() == 0 {
				continue
			}
			x := a.Rate() / b.Rate()
			target := "≥ 0.80× the rate; 0 lock waits"
			if base.info {
				target = "for information"
			}
			r.Figures = append(r.Figures, Figure{
				Name: fmt.Sprintf("activate_pause, %d clients, %d different mentors, vs %s; lock waits between mentors",
					r.Opts.PauseClients, r.Opts.PauseMentors, base.label),
				Measured: fmt.Sprintf("%.2f× the rate; %d lock waits", x, ls+ll),
				Target:   target, Pass: x >= 0.8 && ls+ll == 0,
				Info: base.info,
				Detail: fmt.Sprintf("%.0f/s vs %.0f/s; lock waits of activate_pause: %d sampled / %s logged on advisory, row or transaction locks; relation extension (not a lock between mentors): %d sampled / %s logged",
					a.Rate(), b.Rate(), ls, logCount(lw.LogLines != nil, ll), es, logCount(lw.LogLines != nil, el)),
			})
		}
	}
	for _, w := range []struct{ name, req, alone string }{
		{"read", VarWireRead, VarWireReadAlone},
		{"write", VarWireWrite, VarWireWriteAlone},
	} {
		if x, a, b, ok := ratio(w.req, w.alone); ok {
			r.Figures = append(r.Figures, Figure{
				Name:     fmt.Sprintf("a one-statement request (repository %s) at %s round-trip latency vs the same statement alone, no request setup", w.name, WireRTT),
				Measured: fmt.Sprintf("%.2f×", x), Target: "≤ 1.20×", Pass: x <= 1.20,
				Detail: fmt.Sprintf("%s vs %s; round trips per call %.1f vs %.1f", ms(a.Median()), ms(b.Median()), r.WireTrips[w.req], r.WireTrips[w.alone]),
			})
		}
	}
	if c := r.Conformance; c != nil {
		status := "passed"
		if !c.Passed {
			status = "FAILED"
		}
		r.Figures = append(r.Figures, Figure{
			Name:     "the conformance matrix, PostgreSQL boot included, warm Go build cache",
			Measured: fmt.Sprintf("%.1f s", c.Wall.Seconds()), Target: "< 15 s", Pass: c.Wall < 15*time.Second,
			Detail: fmt.Sprintf("`%s`, suite %s", c.Cmd, status),
		})
	}
}

func logCount(ok bool, n int) string {
	if !ok {
		return "n/a"
	}
	return fmt.Sprint(n)
}

func passFail(f Figure) string {
	if f.Info {
		return "info"
	}
	if f.Pass {
		return "pass"
	}
	return "FAIL"
}

// PrintTable writes the results table for a terminal.
func (r *Result) PrintTable(w io.Writer) {
	nw, mw, tw := len("figure"), len("measured"), len("target")
	for _, f := range r.Figures {
		nw = max(nw, len([]rune(f.Name)))
		mw = max(mw, len([]rune(f.Measured)))
		tw = max(tw, len([]rune(f.Target)))
	}
	pad := func(s string, n int) string { return s + strings.Repeat(" ", max(0, n-len([]rune(s)))) }
	fmt.Fprintf(w, "%s  %s  %s  %s\n", pad("figure", nw), pad("measured", mw), pad("target", tw), "result")
	fmt.Fprintf(w, "%s\n", strings.Repeat("-", nw+mw+tw+12))
	for _, f := range r.Figures {
		fmt.Fprintf(w, "%s  %s  %s  %s\n", pad(f.Name, nw), pad(f.Measured, mw), pad(f.Target, tw), passFail(f))
	}
	fmt.Fprintf(w, "\nraw medians:\n")
	for _, s := range r.Samples {
		fmt.Fprintf(w, "  %-62s median %s (min %s, max %s, n=%d)%s\n", s.Name, ms(s.Median()), ms(s.Min()), ms(s.Max()), len(s.Times), rate(s))
	}
	if len(r.WireTrips) > 0 {
		fmt.Fprintf(w, "\nround trips per call at %s (counted on the connection):\n", WireRTT)
		for _, name := range []string{VarWireRead, VarWireReadAlone, VarWireWrite, VarWireWriteAlone} {
			fmt.Fprintf(w, "  %-62s %.1f\n", name, r.WireTrips[name])
		}
	}
	fmt.Fprintf(w, "\nbench total: %s\n", r.Total.Round(time.Second))
}

func rate(s Sample) string {
	if s.Ops <= 1 {
		return ""
	}
	return fmt.Sprintf(", %d ops each → %.0f/s", s.Ops, s.Rate())
}

// Markdown renders docs/benchmarks.md. notes is appended verbatim (the
// analysis of the figures, maintained by hand in the command).
func (r *Result) Markdown(notes string) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Benchmarks\n\n")
	p("Generated by `make bench` (`go run ./cmd/mentordb bench --out docs/benchmarks.md`) on %s; the whole run took %s.\n",
		r.Started.UTC().Format("2006-01-02 15:04 MST"), r.Total.Round(time.Second))
	p("Targets: ../shared/DESIGN.md, \"Performance targets\". Every figure but the last is a ratio of two measurements taken side by side in this run: ")
	p("warm-up, then interleaved rounds whose order rotates each round, then the median of each side.\n\n")
	p("## Results\n\n| figure | measured | target | result | medians |\n|---|---|---|---|---|\n")
	for _, f := range r.Figures {
		p("| %s | %s | %s | %s | %s |\n", f.Name, f.Measured, f.Target, passFail(f), f.Detail)
	}
	p("\n## Machine\n\n")
	m := r.Machine
	p("- CPUs (nproc): %d (%s)\n- memory: %s\n- OS: %s\n- PostgreSQL: %s (provider: %s)\n- Go: %s\n- date: %s\n- load average (1, 5, 15 min) at the start: %s\n",
		m.CPUs, m.CPUModel, m.MemTotal, m.OS, m.PostgreSQL, m.ServerKind, m.Go, r.Started.UTC().Format(time.RFC3339), m.Load)
	keys := make([]string, 0, len(ServerSettings))
	for k := range ServerSettings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var kv []string
	for _, k := range keys {
		kv = append(kv, k+"="+ServerSettings[k])
	}
	p("- server settings: pgserver's disposable defaults (fsync, synchronous_commit, full_page_writes off) and %s\n", strings.Join(kv, ", "))
	p("\n## Data and method\n\n")
	p("- Data: `seed.Load` with seed %d: %d orgs × %d activities (%d rows), 200 mentors and 10 coordinators per org, dates over 2025–2026, orgs interleaved row by row; VACUUM ANALYZE.\n",
		r.Opts.Seed, r.Opts.Orgs, r.Opts.ActivitiesPerOrg, r.Rows10)
	if r.Rows50 > 0 {
		p("- Growth: database `bench` cloned into `bench50` (CREATE DATABASE ... TEMPLATE), %d more orgs of the same size seeded there with FirstOrg %d (%d rows in all). Both databases live on the same server, so the two sides of the growth figure are interleaved query by query like every other pair.\n",
			r.Opts.GrowthOrgs, r.Opts.Orgs, r.Rows50)
	}
	p("- Report: the sqlc query `BufdirReportByType` (what `ProxyActivityRepository.BufdirReport` runs: per attributed mentor and activity type, count and minutes) for org 0 and 2026-01-01 ≤ date < 2027-01-01 (%d result rows), read to the end. ", r.ReportRows)
	p("Through RLS: `db.AsReadOnly` as coordinator 0 of org 0. As owner: the same transaction shape (BEGIN, the same set_config statement, the query, COMMIT) as the superuser that owns the tables. ")
	p("Seed-only: `pa_seed_only`, a copy of proxy_activities (same rows, same physical order) with only the seed's six indexes, VACUUM ANALYZE, queried as owner. ")
	p("No org filter: the same text without `org_id = $1` (what a supabase-js client sends), through RLS. Every figure's query is sent as an unnamed statement (`pgx.QueryExecModeDescribeExec`), so PostgreSQL plans it for its arguments, as it plans PostgREST's queries; that is also how the repository sends its report and list queries (`db`'s perCallPlan). The index range alone (count and sum, no grouping, as owner) is the floor of the 2.5× target; pgx's default cached prepared statement is measured as a diagnostic, with no target, to show why the repository does not use it. %d rounds after 6 warm-up runs.\n", r.Opts.ReportRounds)
	p("- Insert: the sqlc `CreateProxyActivity` text (INSERT ... RETURNING *), one request per insert, sequentially; through RLS as coordinator 0 of org 0 via `db.As` (RLS WITH CHECK, foreign keys, set_timestamps, the mentor-in-org constraint trigger, the audit trigger) ")
	p("vs the owner inserting the same rows into `pa_bare` (`LIKE proxy_activities INCLUDING ALL`, the same rows and all the same indexes and CHECKs, no foreign keys, no triggers, RLS off) through the same transaction shape. %d rounds of %d inserts per side; one timing is one batch.\n",
		r.Opts.InsertRounds, r.Opts.InsertBatch)
	p("- Pause: %d clients share %d different active mentors (of orgs 0–4), one request per mentor: `activate_pause` via `db.As` as a coordinator of the mentor's org, vs a plain `UPDATE peer_mentor_status SET status = 'paused', ...` of the same rows by the same clients, once as the same coordinators via `db.As` (through RLS) and once as the owner without RLS in the same transaction shape (the table's ENABLE ALWAYS triggers, bookkeeping and log row, fire on every side). ",
		r.Opts.PauseClients, r.Opts.PauseMentors)
	p("Before every timed run the rows are reset to active and the tables vacuumed (untimed). %d rounds per side. Lock waits: a sampler polls pg_stat_activity (wait_event_type = 'Lock', with pg_blocking_pids) every 2 ms through both sides, and the server logs every lock wait over 1 ms (log_lock_waits, deadlock_timeout = 1ms).\n",
		r.Opts.PauseRounds)
	if c := r.Conformance; c != nil {
		p("- Conformance: `%s` in a subprocess, first thing in the run (before the benchmark loads the machine; other work on a shared machine is not controlled), after an untimed `go test -exec /bin/true ./...` that builds every test binary (warm build cache).", c.Cmd)
		if !c.Passed {
			p(" The suite failed in this run; tail of its output:\n\n```\n%s\n```", c.Output)
		}
		if c.Note != "" {
			p(" %s", c.Note)
		}
		p("\n")
	}
	p("\n## Raw medians\n\n| variant | median | min | max | n | ops per timing | rate |\n|---|---|---|---|---|---|---|\n")
	for _, s := range r.Samples {
		rt := ""
		if s.Ops > 1 {
			rt = fmt.Sprintf("%.0f/s", s.Rate())
		}
		p("| %s | %s | %s | %s | %d | %d | %s |\n", s.Name, ms(s.Median()), ms(s.Min()), ms(s.Max()), len(s.Times), s.Ops, rt)
	}
	lw := r.LockWaits
	p("\nLock waits during the pause figure (%d pg_stat_activity samples; a waiting backend counts once per sample):\n\n", lw.Samples)
	p("| variant | sampled waits by wait_event on relation | blocking pairs | log_lock_waits lines |\n|---|---|---|---|\n")
	names := make([]string, 0, len(lw.Waits)+len(lw.LogLines))
	seen := map[string]bool{}
	for _, v := range []string{VarPauseRPC, VarPauseUpdateRLS, VarPauseUpdateOwner} {
		names, seen[v] = append(names, v), true
	}
	for k := range lw.Waits {
		if !seen[k] {
			names, seen[k] = append(names, k), true
		}
	}
	for _, v := range names {
		var parts []string
		for k, n := range lw.Waits[v] {
			parts = append(parts, fmt.Sprintf("%s: %d", k, n))
		}
		sort.Strings(parts)
		if len(parts) == 0 {
			parts = []string{"none"}
		}
		logs := "n/a"
		if lw.LogLines != nil {
			logs = fmt.Sprintf("%d extension, %d other", lw.LogLines[v]["extension"], lw.LogLines[v]["other"])
		}
		p("| %s | %s | %d | %s |\n", v, strings.Join(parts, "; "), lw.Blocked[v], logs)
	}
	p("\n## Run time\n\n| phase | time |\n|---|---|\n")
	if c := r.Conformance; c != nil {
		p("| conformance suite (timed figure) | %s |\n", c.Wall.Round(100*time.Millisecond))
	}
	for _, t := range r.Timings {
		p("| %s | %s |\n", t.What, t.Took.Round(100*time.Millisecond))
	}
	p("| whole run | %s |\n", r.Total.Round(time.Second))
	if notes != "" {
		p("\n%s\n", strings.TrimSpace(notes))
	}
	if len(r.Plans) > 0 {
		p("\n## Plans (EXPLAIN (ANALYZE, BUFFERS), taken after the report measurements, before the inserts)\n")
		for _, pl := range r.Plans {
			p("\n### %s\n\n```\n%s\n```\n", pl.Name, pl.Text)
		}
	}
	return b.String()
}
