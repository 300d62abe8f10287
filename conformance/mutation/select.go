package mutation

import (
	"bufio"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/mentordb/mentordb/conformance/pgtest"
)

// matrixPrefix is the part of every matrix test's name above its suite.
const matrixPrefix = "TestConformance/matrix/"

// Costly tests are run for a mutant only after the cheaper tests that can
// observe it did not kill it (or first, for index mutants, which only they
// can observe).
var Costly = []struct {
	Pattern *regexp.Regexp
	Reason  string
}{
	{re(`^TestConformance/matrix/Plans/`), "seeds and analyses 300,000 activities before its first subtest"},
	{re(`^TestConformance/matrix/(Faults|TxContract|Trace)/`), "they test the request layer (faults, pgx's contract, tracing) with seconds of stalls, cuts, restarts and thousands of statements per test, and reach the schema only through the requests the other suites make"},
}

func isCostly(test string) bool {
	for _, c := range Costly {
		if c.Pattern.MatchString(test) {
			return true
		}
	}
	return false
}

// Trace is what each test of the unmutated matrix ran, keyed by the test
// that owned the database (a suite, for suites that share one clone).
type Trace map[string][]pgtest.Statement

// ReadTrace reads the file written through pgtest.EnvTrace, and adds the
// statements that failed (a refusal is what many tests observe, and
// pg_stat_statements records only completed statements) from the server
// log at logPath, when there is one.
func ReadTrace(path, logPath string) (Trace, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t := Trace{}
	owner := map[string]string{} // database → test
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	for sc.Scan() {
		var l pgtest.TraceLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, err
		}
		t[l.Test] = append(t[l.Test], l.Statements...)
		owner[l.DB] = l.Test
	}
	if err := sc.Err(); err != nil || logPath == "" {
		return t, err
	}
	failed, err := failedStatements(logPath)
	if err != nil {
		return nil, err
	}
	for db, stmts := range failed {
		if test, ok := owner[db]; ok {
			for _, q := range stmts {
				t[test] = append(t[test], pgtest.Statement{Role: unknownRole, Query: q})
			}
		}
	}
	return t, nil
}

// unknownRole marks a failed statement, whose role the log does not give;
// it counts as an API role's.
const unknownRole = "?"

// logPrefix is the server's log_line_prefix in the mutation run: the
// database name of every line.
const logPrefix = "%m [%p] db=%d "

var statementLine = regexp.MustCompile(`^\S+ \S+ \S+ \[\d+\] db=(\S+) STATEMENT:  (.*)$`)

// failedStatements reads the STATEMENT lines the server logs after every
// error (log_min_error_statement = error), by database. A statement that
// spans lines continues on lines that start with a tab.
func failedStatements(logPath string) (map[string][]string, error) {
	f, err := os.Open(logPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string][]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var db string
	var cur *strings.Builder
	flush := func() {
		if cur != nil {
			out[db] = append(out[db], strings.Join(strings.Fields(cur.String()), " "))
			cur = nil
		}
	}
	for sc.Scan() {
		line := sc.Text()
		if cur != nil && strings.HasPrefix(line, "\t") {
			cur.WriteString(" " + line)
			continue
		}
		flush()
		if m := statementLine.FindStringSubmatch(line); m != nil {
			db, cur = m[1], &strings.Builder{}
			cur.WriteString(m[2])
		}
	}
	flush()
	return out, sc.Err()
}

// apiRoles are the roles whose statements count for mutants that only a
// request can observe.
var apiRoles = map[string]bool{"anon": true, "authenticated": true, "service_role": true, unknownRole: true}

// observes reports whether a statement list can observe m.
func observes(m *Mutant, stmts []pgtest.Statement) bool {
	for _, s := range stmts {
		if m.APIRoles && !apiRoles[s.Role] {
			continue
		}
		if m.Explain && !strings.HasPrefix(strings.ToUpper(s.Query), "EXPLAIN") {
			continue
		}
		for _, o := range m.Observers {
			if mentions(s.Query, o) {
				return true
			}
		}
	}
	return false
}

// focused returns the objects of the focus entries that one of stmts
// matches (nil when none does).
func focused(m *Mutant, stmts []pgtest.Statement) []string {
	var objects []string
	for _, f := range m.Focus {
		if matchesFocus(m, f, stmts) {
			objects = append(objects, f.Objects...)
		}
	}
	return objects
}

func matchesFocus(m *Mutant, f Focus, stmts []pgtest.Statement) bool {
	for _, s := range stmts {
		if m.APIRoles && !apiRoles[s.Role] {
			continue
		}
		if len(f.Roles) > 0 && s.Role != unknownRole && !slices.Contains(f.Roles, s.Role) {
			continue
		}
		if len(f.Commands) > 0 && !slices.Contains(f.Commands, Command(s.Query)) {
			continue
		}
		for _, o := range f.Objects {
			if mentions(s.Query, o) {
				return true
			}
		}
	}
	return false
}

// Command returns the kind of a statement: its first keyword, that of the
// statement EXPLAIN explains, or for WITH the first data-modifying keyword
// (SELECT when there is none).
func Command(query string) string {
	words := strings.Fields(strings.ToUpper(query))
	for len(words) > 0 && words[0] == "EXPLAIN" {
		words = words[1:]
		if len(words) > 0 && strings.HasPrefix(words[0], "(") {
			for len(words) > 0 && !strings.HasSuffix(words[0], ")") {
				words = words[1:]
			}
			if len(words) > 0 {
				words = words[1:]
			}
		}
		for len(words) > 0 && (words[0] == "ANALYZE" || words[0] == "VERBOSE") {
			words = words[1:]
		}
	}
	if len(words) == 0 {
		return ""
	}
	first := strings.TrimLeft(words[0], "(")
	if first != "WITH" {
		return first
	}
	for _, w := range words[1:] {
		switch w {
		case "INSERT", "UPDATE", "DELETE":
			return w
		}
	}
	return "SELECT"
}

// Selection is what a mutant runs, stage by stage: Focus (the tests its
// focus names), Cheap (the rest of the behavioural tests that can observe
// it), Costly (behavioural tests that are slow to start) and Snapshots
// (the snapshot tests that can observe it, which only tell a snapshot-only
// kill from a survivor). Names are one level below the suites.
type Selection struct {
	Focus, Cheap, Costly, Snapshots []string
}

// Select chooses the matrix tests that can observe m according to the
// trace. tests are the names of every test of the unmutated run. A name is
// split at every slash, as go test matches it (a subtest name may contain
// one). A suite that shares one clone among its subtests is traced as a
// whole: it is selected by all its subtests, and for the focus by those
// whose name mentions the focused object (the access matrix names its
// subtests after the objects).
func Select(m *Mutant, trace Trace, tests []string) Selection {
	observed, focus := map[string]bool{}, map[string]bool{}
	for owner, stmts := range trace {
		if !strings.HasPrefix(owner, matrixPrefix) || !observes(m, stmts) {
			continue
		}
		objects := focused(m, stmts)
		switch strings.Count(owner, "/") {
		case 2:
			for _, t := range tests {
				if !strings.HasPrefix(t, owner+"/") || strings.Count(t, "/") < 3 {
					continue
				}
				t4 := level4(t)
				observed[t4] = true
				for _, o := range objects {
					if mentions(t4[len(owner)+1:], o) {
						focus[t4] = true
					}
				}
			}
		default:
			t := level4(owner)
			observed[t] = true
			if len(objects) > 0 {
				focus[t] = true
			}
		}
	}
	var sel Selection
	for t := range observed {
		if snap, _ := IsSnapshot(t); snap {
			if !slowSnapshot.MatchString(t + "/") {
				sel.Snapshots = append(sel.Snapshots, t)
			}
			continue
		}
		switch {
		case isCostly(t) && !m.Explain:
			sel.Costly = append(sel.Costly, t)
		case focus[t]:
			sel.Focus = append(sel.Focus, t)
		default:
			sel.Cheap = append(sel.Cheap, t)
		}
	}
	sort.Strings(sel.Focus)
	sort.Strings(sel.Cheap)
	sort.Strings(sel.Costly)
	sort.Strings(sel.Snapshots)
	return sel
}

// RunPattern returns the -test.run pattern that selects exactly the given
// level-4 tests (and everything below them). Go matches each level of the
// pattern separately, so two suites' lists combine as a cross product; a
// name that exists in both suites is the only over-selection.
func RunPattern(tests []string) string {
	suites, names := map[string]bool{}, map[string]bool{}
	for _, t := range tests {
		p := strings.SplitN(t, "/", 4)
		suites[p[2]] = true
		names[p[3]] = true
	}
	return "^TestConformance$/^matrix$/^(" + alternation(suites) + ")$/^(" + alternation(names) + ")$"
}

func alternation(set map[string]bool) string {
	var out []string
	for s := range set {
		out = append(out, regexp.QuoteMeta(s))
	}
	sort.Strings(out)
	return strings.Join(out, "|")
}
