package report

import (
	"fmt"
	"strings"
)

// NotRun is the result of a requirement whose proof is a separate run that
// this report was not given (CONF-4's mutation run). It neither passes nor
// counts as missing: the report says why it was not run.
const NotRun = "not run"

// mutationID is the requirement the mutation run proves.
const mutationID = "CONF-4"

// notRunReason is CONF-4's note when the report has no mutation run.
const notRunReason = "the mutation run was not part of this run: `make conformance` runs the matrix only; `make mutants` runs it, and `make test` runs it after the matrix and judges CONF-4 by it"

// Mutation is the outcome of the mutation run (conformance/mutation), which
// runs the matrix once per mutant outside this report's go test stream.
type Mutation struct {
	Killed       int     `json:"killed"`
	Survived     int     `json:"survived"`
	SnapshotOnly int     `json:"snapshot_only"`
	Equivalent   int     `json:"equivalent"`
	Errors       int     `json:"errors"`
	WallSeconds  float64 `json:"wall_seconds"`
	// Partial is set when only some mutants ran; the gate then fails.
	Partial  string  `json:"partial,omitempty"`
	Families []Score `json:"families"`
	// SnapshotOnlyKills are mutants that only snapshot tests noticed.
	SnapshotOnlyKills []Mutant `json:"snapshot_only_kills,omitempty"`
	Survivors         []Mutant `json:"survivors,omitempty"`
	Equivalents       []Mutant `json:"equivalents,omitempty"`
	RunnerErrors      []Mutant `json:"runner_errors,omitempty"`
	// Pending are the families generated but not yet in the gate, each
	// as "family: why".
	Pending []string `json:"pending,omitempty"`
}

// Score is the mutation run's count by status, of one family or (Family
// "total") of the whole run.
type Score struct {
	Family       string `json:"family"`
	Killed       int    `json:"killed"`
	Survived     int    `json:"survived"`
	SnapshotOnly int    `json:"snapshot_only"`
	Equivalent   int    `json:"equivalent"`
	Errors       int    `json:"errors"`
}

// Mutant is one mutant the report lists, with what the reader needs.
type Mutant struct {
	ID     string   `json:"id"`
	SQL    string   `json:"sql,omitempty"`
	Tests  []string `json:"tests,omitempty"`
	Reason string   `json:"reason,omitempty"`
	// Callers are the caller classes an equivalence holds for (CONF-5);
	// Tests, for an equivalent mutant, the tests that pin it.
	Callers []string `json:"callers,omitempty"`
}

// OK reports whether the gate holds: every mutant not declared equivalent
// was killed by a behavioural test, in a complete run.
func (m *Mutation) OK() bool {
	return m.Survived == 0 && m.SnapshotOnly == 0 && m.Errors == 0 && m.Partial == ""
}

// AttachMutation sets CONF-4 from the mutation run. CONF-4 passes only when
// no mutant survived (snapshot-only kills included) and every test that
// names it passed.
func (r *Report) AttachMutation(m *Mutation) {
	r.Mutation = m
	for i := range r.Rows {
		row := &r.Rows[i]
		if row.ID != mutationID {
			continue
		}
		r.uncount(row.Result)
		row.Note = fmt.Sprintf("%d mutants killed by behavioural tests, %d survived, %d killed only by snapshot tests, %d equivalent, %d runner errors",
			m.Killed, m.Survived, m.SnapshotOnly, m.Equivalent, m.Errors)
		switch {
		case verdict(row.Tests) == Fail || !m.OK():
			row.Result = Fail
		default:
			row.Result = Pass
		}
		r.count(row.Result)
	}
}

func (r *Report) count(result string) {
	switch result {
	case Pass:
		r.Passed++
	case Fail:
		r.Failed++
	case NotRun:
		r.NotRun++
	default:
		r.Missing++
	}
}

func (r *Report) uncount(result string) {
	switch result {
	case Pass:
		r.Passed--
	case Fail:
		r.Failed--
	case NotRun:
		r.NotRun--
	default:
		r.Missing--
	}
}

// mutationMarkdown renders the mutation section.
func (m *Mutation) markdown(b *strings.Builder) {
	fmt.Fprintf(b, "\n## Mutation testing (CONF-4)\n\n")
	fmt.Fprintf(b, "mutants: %d killed, %d survived; %d killed only by snapshot tests (not counted); %d equivalent; %d runner errors; %.0f s.\n\n",
		m.Killed, m.Survived, m.SnapshotOnly, m.Equivalent, m.Errors, m.WallSeconds)
	if m.Partial != "" {
		fmt.Fprintf(b, "Partial run (%s): the gate fails.\n\n", m.Partial)
	}
	b.WriteString("| family | killed | survived | snapshot-only | equivalent | errors |\n|---|---|---|---|---|---|\n")
	for _, f := range m.Families {
		fmt.Fprintf(b, "| %s | %d | %d | %d | %d | %d |\n", f.Family, f.Killed, f.Survived, f.SnapshotOnly, f.Equivalent, f.Errors)
	}
	if len(m.Pending) > 0 {
		b.WriteString("\nFamilies generated but not yet in the gate (`mutation.Pending`, run with `mentordb mutants -pending`):\n\n")
		for _, p := range m.Pending {
			fmt.Fprintf(b, "- %s\n", escape(p))
		}
	}
	list := func(title string, ms []Mutant, detail func(Mutant) string) {
		if len(ms) == 0 {
			return
		}
		fmt.Fprintf(b, "\n### %s\n\n", title)
		for _, mu := range ms {
			fmt.Fprintf(b, "- `%s`: %s\n", mu.ID, detail(mu))
		}
	}
	sql := func(mu Mutant) string {
		return "`" + strings.ReplaceAll(strings.ReplaceAll(mu.SQL, "\n", " "), "`", "'") + "`"
	}
	list("Survivors", m.Survivors, func(mu Mutant) string {
		if mu.Reason != "" {
			return sql(mu) + " — " + escape(mu.Reason)
		}
		return sql(mu)
	})
	list("Killed only by snapshot tests", m.SnapshotOnlyKills, func(mu Mutant) string {
		return sql(mu) + " — " + strings.Join(mu.Tests, ", ")
	})
	list("Runner errors", m.RunnerErrors, func(mu Mutant) string { return escape(mu.Reason) })
	list("Equivalent mutants (conformance/mutation/equivalent.go)", m.Equivalents, func(mu Mutant) string {
		return escape(mu.Reason) + " — callers: " + strings.Join(mu.Callers, ", ") + "; pinned by: " + escape(strings.Join(mu.Tests, ", "))
	})
}
