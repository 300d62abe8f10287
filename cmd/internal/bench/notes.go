package bench

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var buffersRe = regexp.MustCompile(`Buffers: shared hit=(\d+)(?: read=(\d+))?`)

// planBuffers returns the shared buffers (hit + read) of a plan's top node.
func (r *Result) planBuffers(name string) int {
	for _, p := range r.Plans {
		if p.Name != name {
			continue
		}
		m := buffersRe.FindStringSubmatch(p.Text)
		if m == nil {
			return 0
		}
		hit, _ := strconv.Atoi(m[1])
		read, _ := strconv.Atoi(m[2])
		return hit + read
	}
	return 0
}

func (r *Result) med(name string) time.Duration {
	s, _ := r.sample(name)
	return s.Median()
}

// Notes returns the analysis section of the report: what each figure
// compares and what this run's numbers say. Every verdict in it is computed
// from the run; nothing in it is a figure of an earlier run.
func Notes(r *Result) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	msf := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
	p("## Analysis\n\n")

	rls, owner, seedOnly := r.med(VarReportRLS), r.med(VarReportOwner), r.med(VarReportSeedOnly)
	scan, cached := r.med(VarReportScan), r.med(VarReportRLSCached)
	if rls > 0 && seedOnly > 0 {
		p("### Bufdir report\n\n")
		p("- **Through RLS vs owner.** The SELECT policy adds `org_id = ANY ($0)` (an initPlan calling `private.org_ids_with_role` once) ")
		p("as a second index condition on the same covering-index range; the difference is that one call plus the `set_config` of the request: %s vs %s.\n", msf(rls), msf(owner))
		p("- **No org filter.** The policy's `org_id = ANY (ARRAY(SELECT ...))` is an index condition on the leading column of ")
		p("`proxy_activities_org_id_date_id_idx`, so the supabase-js form reads the same range (its plan is under Plans).\n")
		p("- **Growth.** The report reads one org's range of the covering index, whose size does not depend on the other orgs; ")
		p("the growth figure measures it again at %d orgs.\n", r.Opts.Orgs+r.Opts.GrowthOrgs)
		p("- **Against its own index range (≤ 2.5×).** Reading the org's year from the covering index without grouping (count and sum only, as owner) takes %s; ", msf(scan))
		p("the report through RLS reads the same range and groups its %d rows by mentor and activity type (%d result rows): %s, %.2f× that floor, ",
			r.yearRows(), r.ReportRows, msf(rls), ratioOfD(rls, scan))
		p("the price of the grouping and of RLS, which an index cannot remove.\n")
		p("- **The seed's six indexes (for information).** With them the org's %d rows are read through `(org_id)`: %d buffers vs %d for the covering index (%.1f×), %s vs %s in this run. ",
			r.Opts.ActivitiesPerOrg, r.planBuffers(VarReportSeedOnly), r.planBuffers(VarReportRLS), ratioOf(r.planBuffers(VarReportSeedOnly), r.planBuffers(VarReportRLS)), msf(seedOnly), msf(rls))
		p("Everything is cached here, so a buffer costs little; on a cold cache the buffers read are what counts.\n")
		if cached > 0 {
			p("- **Cached statements are planned per call.** pgx caches a named prepared statement per connection, and after five executions PostgreSQL may keep a generic plan, ")
			p("which cannot use the period's selectivity (its EXPLAIN EXECUTE is under Plans). `db` sends its report and list queries as unnamed statements (perCallPlan), ")
			p("planned for their own org and period as PostgREST's literal filters are. In this run: pgx's cached statement %s vs the unnamed statement %s (%.2f×).\n",
				msf(cached), msf(rls), ratioOfD(cached, rls))
		}
		p("\n")
	}

	if a, ok := r.sample(VarInsertRLS); ok {
		bare, _ := r.sample(VarInsertBare)
		p("### Insert\n\n")
		p("One request per insert: BEGIN, the request's `set_config`, INSERT ... RETURNING *, COMMIT, on both sides (%.0f/s vs %.0f/s). ", a.Rate(), bare.Rate())
		p("Through RLS the insert adds the WITH CHECK policy and, because of RETURNING, the SELECT policy, ")
		p("the foreign-key checks, `set_timestamps`, the membership constraint trigger and the audit trigger; ")
		p("the bare copy has the same CHECKs and indexes, no trigger. ")
		if x := a.Rate() / max(bare.Rate(), 1); x < 0.5 {
			p("**Missed in this run: %.2f× (target ≥ 0.50×)**; fastest batches %.2f×. ", x, float64(bare.Min())/float64(max(a.Min(), 1)))
			p("The load average at the start was %s on %d cores.", r.Machine.Load, r.Machine.CPUs)
		}
		p("\n\n")
	}

	if a, ok := r.sample(VarPauseRPC); ok {
		u, _ := r.sample(VarPauseUpdateRLS)
		o, _ := r.sample(VarPauseUpdateOwner)
		lw := r.LockWaits
		ls, ll := lw.Logical(VarPauseRPC)
		es, el := lw.Extension(VarPauseRPC)
		p("### activate_pause\n\n")
		p("The target (≥ 0.8×) compares with the same coordinators' plain UPDATE of the same rows through RLS (%.0f/s; what the API clients could send themselves); ", u.Rate())
		p("the owner's UPDATE without RLS (%.0f/s) is shown for information. activate_pause does %.0f/s (%.2f× and %.2f×). ", o.Rate(), a.Rate(), a.Rate()/max(u.Rate(), 1), a.Rate()/max(o.Rate(), 1))
		p("Both UPDATEs fire the status table's ENABLE ALWAYS triggers (bookkeeping, log row and its guard), as the RPC does. ")
		p("Against the owner the RPC additionally pays, per call: the claim parsing and the membership checks of `pause_org_context`, ")
		p("the advisory lock, the UPDATE's RLS (and the SELECT policy because of RETURNING), ")
		p("and the foreign-key checks of `updated_by` and `changed_by` on the caller's user row, which the owner's UPDATE (updated_by NULL) does not trigger.\n\n")
		p("Lock waits while activate_pause ran: %d sampled and %s logged on advisory, tuple, transaction or relation locks", ls, logCount(lw.LogLines != nil, ll))
		if ls == 0 && ll == 0 {
			p(", so calls for different mentors never waited for each other")
		}
		p("; %d sampled and %s logged on relation extension locks of a table, which PostgreSQL 15 takes whenever concurrent transactions append to it (the plain UPDATEs, which write the same log rows, are in the table above).\n\n",
			es, logCount(lw.LogLines != nil, el))
	}

	if a, ok := r.sample(VarWireRead); ok {
		ra, _ := r.sample(VarWireReadAlone)
		w, _ := r.sample(VarWireWrite)
		wa, _ := r.sample(VarWireWriteAlone)
		p("### One-statement requests at %s round-trip latency\n\n", WireRTT)
		p("A proxy on this machine (`cmd/internal/bench/latencyproxy.go`; the kernel has no netem) delays every byte by half the round-trip time each way. ")
		p("Each side has its own pool of one warm connection opened as `db.Open` opens one; round trips are counted on the connection (`conformance/roundtrip`). ")
		p("Read: `Get` as a coordinator, %.1f round trips, %s, vs the same SELECT sent alone as the owner, %.1f, %s. ", r.WireTrips[VarWireRead], msf(a.Median()), r.WireTrips[VarWireReadAlone], msf(ra.Median()))
		p("Write: `Create` (pre-check, INSERT through RLS, its triggers), %.1f round trips, %s, vs the same INSERT alone, %.1f, %s. ", r.WireTrips[VarWireWrite], msf(w.Median()), r.WireTrips[VarWireWriteAlone], msf(wa.Median()))
		if r.WireTrips[VarWireRead] <= r.WireTrips[VarWireReadAlone] && r.WireTrips[VarWireWrite] <= r.WireTrips[VarWireWriteAlone] {
			p("Both requests take no more round trips than their statement alone, so what is left above the floor is server work the statement alone does not do (the preamble, RLS, the pre-check and the triggers), not waiting.")
		}
		p("\n\n")
	}

	if c := r.Conformance; c != nil {
		p("### Conformance\n\n")
		p("`%s` took %.1f s here (%d cores; every module's tests with gotestsum and the report, the matrix with its PostgreSQL boot). ",
			c.Cmd, c.Wall.Seconds(), r.Machine.CPUs)
		p("The target is < 15 s. The load average was %s when this run started. ", r.Machine.Load)
		if c.CPU > 0 {
			floor := c.CPU.Seconds() / float64(max(r.Machine.CPUs, 1))
			p("The run used %.0f s of CPU (user and system, PostgreSQL and the Supabase CLI included), so on %d idle cores it could not take less than %.0f s",
				c.CPU.Seconds(), r.Machine.CPUs, floor)
			if floor >= 15 {
				p(": meeting the target needs less work, not only a quieter machine")
			}
			p(".")
		}
		p("\n\n")
	}

	b.WriteString(r.brinNotes())

	p("### Run time\n\n")
	budget := "under"
	if r.Total > 10*time.Minute {
		budget = "over"
	}
	p("The whole run took %s, %s the 10-minute budget (load average %s at the start): the growth figure's %d extra rows load in %s (COPY with the triggers off, indexes rebuilt once, VACUUM ANALYZE).\n",
		r.Total.Round(time.Second), budget, r.Machine.Load, r.Rows50-r.Rows10, r.GrowthLoad.Round(time.Second))
	return b.String()
}

func ratioOfD(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func ratioOf(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// yearRows is the org's row count in the report period.
func (r *Result) yearRows() int { return int(r.YearRows) }
