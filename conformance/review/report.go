package review

import "time"

// Level is a finding's weight: a fail makes the review exit non-zero, a
// warn is shown for the reviewer to judge, info is context.
type Level string

const (
	Pass Level = "pass"
	Info Level = "info"
	Warn Level = "warn"
	Fail Level = "fail"
)

// Rules of the findings (Finding.Rule), documented in docs/review.md.
const (
	RuleMigrationEdited = "migration-edited"    // fail: a migration of the base was changed or removed
	RuleAccessWidened   = "access-widened"      // fail: a cell or grant gained access the head's spec does not declare
	RuleAccessChanged   = "access-changed"      // warn: a cell narrowed or changed its denial, not as the spec declares
	RuleAccessIntended  = "access-intended"     // info: a cell or grant changed exactly as the head's spec declares
	RuleUnspecified     = "object-unspecified"  // warn: an exposed object with no row in the access spec
	RuleNoRLS           = "table-without-rls"   // fail: a table in an exposed schema without row level security
	RuleSearchPath      = "definer-search-path" // fail: a SECURITY DEFINER function without a fixed search_path
	RuleRollbackMissing = "rollback-missing"    // fail: a new migration without a rollback
	RuleRollbackDiffers = "rollback-differs"    // fail: a rollback that fails or does not restore the catalog before its migration
	RuleIndexDropped    = "index-dropped"       // warn
	RuleCheckChanged    = "check-changed"       // warn: a CHECK constraint dropped or redefined
	RuleSquawk          = "squawk"              // warn: a squawk finding on a new file
	RulePlanChanged     = "plan-changed"        // warn: a key query scans otherwise, or its estimated cost changed beyond 2x
	RuleMutantSurvived  = "mutant-survived"     // fail: a mutant of a new or changed object that no behavioural test kills
	RuleNotRun          = "not-run"             // warn: a section that could not run, and why
)

// Finding is one judged fact.
type Finding struct {
	Level   Level  `json:"level"`
	Rule    string `json:"rule"`
	Section string `json:"section"`
	Object  string `json:"object"`
	Message string `json:"message"`
	SQL     string `json:"sql,omitempty"`
}

// Report is the whole review (review.json; docs/review.md documents it).
type Report struct {
	Base          string        `json:"base"`
	Head          string        `json:"head"`
	NewMigrations []string      `json:"new_migrations"`
	Verdict       Level         `json:"verdict"`
	Findings      []Finding     `json:"findings"`
	Access        *AccessDelta  `json:"access,omitempty"`
	Catalog       *CatalogDelta `json:"catalog,omitempty"`
	Risk          []FileRisk    `json:"risk,omitempty"`
	Plans         *Plans        `json:"plans,omitempty"`
	Gate          *Gate         `json:"gate,omitempty"`
	NotRun        []string      `json:"not_run,omitempty"`
	Seconds       float64       `json:"seconds"`
	started       time.Time
}

func (r *Report) add(f Finding) { r.Findings = append(r.Findings, f) }

// verdict is the worst level of the findings.
func (r *Report) verdict() Level {
	v := Pass
	for _, f := range r.Findings {
		switch {
		case f.Level == Fail:
			return Fail
		case f.Level == Warn:
			v = Warn
		}
	}
	return v
}

// Count is how many findings of level there are.
func (r *Report) Count(l Level) int {
	n := 0
	for _, f := range r.Findings {
		if f.Level == l {
			n++
		}
	}
	return n
}

// Find returns the findings with the rule (and, when object is not empty,
// naming that object).
func (r *Report) Find(rule, object string) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Rule == rule && (object == "" || f.Object == object) {
			out = append(out, f)
		}
	}
	return out
}
