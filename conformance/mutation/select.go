package mutation

import (
	"bufio"
	"encoding/json"
	"os"
	"regexp"
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

// Select returns the matrix tests, one level below the suites, that can
// observe m according to the trace: the behavioural ones split into cheap
// and costly, and apart from them the snapshot tests (those of external
// tools left out). tests are the names of every test of the
// unmutated run. A name is split at every slash, as go test matches it (a
// subtest name may contain one).
func Select(m *Mutant, trace Trace, tests []string) (cheap, costly, snapshots []string) {
	level4 := map[string]bool{}
	for owner, stmts := range trace {
		if !strings.HasPrefix(owner, matrixPrefix) || !observes(m, stmts) {
			continue
		}
		parts := strings.Split(owner, "/")
		switch {
		case len(parts) >= 4:
			level4[strings.Join(parts[:4], "/")] = true
		case len(parts) == 3:
			// A suite that shares one clone among its subtests.
			for _, t := range tests {
				if p := strings.Split(t, "/"); len(p) >= 4 && strings.HasPrefix(t, owner+"/") {
					level4[strings.Join(p[:4], "/")] = true
				}
			}
		}
	}
	for t := range level4 {
		if snap, _ := IsSnapshot(t); snap {
			if !slowSnapshot.MatchString(t + "/") {
				snapshots = append(snapshots, t)
			}
			continue
		}
		if isCostly(t) && !m.Explain {
			costly = append(costly, t)
		} else {
			cheap = append(cheap, t)
		}
	}
	sort.Strings(cheap)
	sort.Strings(costly)
	sort.Strings(snapshots)
	return cheap, costly, snapshots
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
