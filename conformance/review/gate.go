package review

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/mentordb/mentordb/conformance/mutation"
	"github.com/mentordb/mentordb/internal/harness/schemadump"
)

// Gate is the mutation run restricted to the mutants of the objects the
// change adds or changes (conformance/mutation, CONF-4), with the head's
// tests: does the branch's matrix notice a broken version of what it adds?
type Gate struct {
	// Pattern selects the mutants by ID (mutation.Options.Only).
	Pattern string       `json:"pattern"`
	Mutants []GateMutant `json:"mutants"`
}

// GateMutant is one mutant's outcome.
type GateMutant struct {
	ID       string   `json:"id"`
	Status   string   `json:"status"` // mutation's: killed, survived, snapshot-only, equivalent, error
	KilledBy []string `json:"killed_by,omitempty"`
	SQL      string   `json:"sql"`
	Error    string   `json:"error,omitempty"`
}

// GateRunner runs the mutation run restricted to the mutants whose ID only
// matches (the command compiles the head's conformance test binary and
// calls mutation.Execute).
type GateRunner func(ctx context.Context, only *regexp.Regexp) (*mutation.Run, error)

// objectsOf names the mutation generator's objects (a mutant's Object, or
// its prefix ending in "(" for a function, "." for a table's parts) that a
// dump entry describes.
func objectsOf(e schemadump.Entry) (exact, prefixes []string) {
	s := e.Schema
	first, rest, _ := strings.Cut(e.Name, " ")
	switch e.Type {
	case "TABLE":
		return []string{s + "." + e.Name}, []string{s + "." + e.Name + "."}
	case "CONSTRAINT", "FK CONSTRAINT", "POLICY", "TRIGGER":
		return []string{s + "." + first + "." + rest}, nil
	case "INDEX":
		return []string{s + "." + e.Name}, nil
	case "ROW SECURITY":
		return []string{s + "." + e.Name}, nil
	case "FUNCTION":
		name, _, _ := strings.Cut(e.Name, "(")
		return nil, []string{s + "." + name + "("}
	case "ACL":
		switch first {
		case "TABLE":
			return []string{s + "." + rest}, nil
		case "COLUMN":
			return []string{s + "." + rest}, nil
		case "FUNCTION":
			name, _, _ := strings.Cut(rest, "(")
			return nil, []string{s + "." + name + "("}
		}
	}
	return nil, nil
}

// changedParts are the columns and constraints whose lines a changed
// CREATE TABLE entry adds or changes: "<schema>.<table>.<name>".
func changedParts(c Changed) []string {
	before := map[string]bool{}
	for _, l := range strings.Split(c.Base, "\n") {
		before[strings.TrimSpace(l)] = true
	}
	var out []string
	for _, l := range strings.Split(c.Head, "\n") {
		l = strings.TrimSuffix(strings.TrimSpace(l), ",")
		if before[l] || before[l+","] || l == "" || strings.HasPrefix(l, "CREATE TABLE") || l == ");" {
			continue
		}
		f := strings.Fields(l)
		name := f[0]
		if f[0] == "CONSTRAINT" && len(f) > 1 {
			name = f[1]
		}
		out = append(out, c.Schema+"."+c.Name+"."+name)
	}
	return out
}

// GatePattern selects the mutants of what the delta adds or changes; nil
// when it adds or changes nothing a mutant is generated for.
func GatePattern(d *CatalogDelta) *regexp.Regexp {
	if d == nil {
		return nil
	}
	set := map[string]bool{}
	add := func(exact, prefixes []string) {
		for _, e := range exact {
			set[regexp.QuoteMeta(e)] = true
		}
		for _, p := range prefixes {
			set[regexp.QuoteMeta(p)+`[^:]*`] = true
		}
	}
	for _, e := range d.Added {
		add(objectsOf(e))
	}
	for _, c := range d.Changed {
		e := schemadump.Entry{Type: c.Type, Schema: c.Schema, Name: c.Name}
		if c.Type == "TABLE" {
			add(changedParts(c), nil)
			continue
		}
		add(objectsOf(e))
	}
	if len(set) == 0 {
		return nil
	}
	alts := make([]string, 0, len(set))
	for a := range set {
		alts = append(alts, a)
	}
	sort.Strings(alts)
	return regexp.MustCompile(`^[a-z-]+:(` + strings.Join(alts, "|") + `)(:|$)`)
}

// judgeGate turns a mutation run into the gate's findings: a mutant of a
// new or changed object that survives (or only a snapshot test notices)
// fails; one the runner could not run warns.
func judgeGate(run *mutation.Run, pattern *regexp.Regexp, r *Report) *Gate {
	g := &Gate{Pattern: pattern.String()}
	for _, m := range run.Results {
		g.Mutants = append(g.Mutants, GateMutant{ID: m.ID, Status: m.Status, KilledBy: m.KilledBy, SQL: m.SQL, Error: m.Error})
		switch m.Status {
		case mutation.Survived, mutation.SnapshotOnly:
			r.add(Finding{Level: Fail, Rule: RuleMutantSurvived, Section: "gate", Object: m.ID,
				Message: fmt.Sprintf("%s (%s): no behavioural test of the branch fails with it", m.ID, m.Status), SQL: m.SQL})
		case mutation.RunnerError:
			r.add(Finding{Level: Warn, Rule: RuleNotRun, Section: "gate", Object: m.ID, Message: m.ID + " did not run: " + m.Error})
		}
	}
	return g
}
