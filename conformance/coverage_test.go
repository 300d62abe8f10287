package conformance

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/coverage"
	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/internal/harness/testdb"
)

// testCoverage is PS-COV-1: the branches of every PL/pgSQL function in
// schemas public and private, measured by plpgsql_check's profiler over
// every database of the matrix (pgtest harvests each before dropping it),
// must all have run. It runs after the matrix, and only after a whole one: a
// filtered run would report gaps that the full matrix covers.
func testCoverage(t *testing.T) {
	if ok, why := matrixRanFully(); !ok {
		t.Skipf("branch coverage is measured over the whole matrix only: %s", why)
	}
	testdb.Server(t)
	p, err := pgtest.Profile()
	if err != nil {
		msg := fmt.Sprintf("PostgreSQL collects no PL/pgSQL profile: %v", err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	for _, err := range p.Errors() {
		t.Errorf("incomplete profile: %v", err)
	}
	fns := p.Functions()
	statements, executedStatements, branches, executedBranches := coverage.Total(fns)
	require.NotEmpty(t, fns, "no PL/pgSQL function was profiled: the harvest found none in public or private")
	require.NotZero(t, executedStatements, "the profiler counted no execution at all: is plpgsql_check.profiler on?")

	var uncovered []string
	for _, f := range fns {
		t.Logf("%s: branches %s, statements %s", f.Signature,
			coverage.Ratio(f.ExecutedBranches(), len(f.Branches)), coverage.Ratio(f.ExecutedStatements, f.Statements))
		for _, b := range f.Uncovered() {
			uncovered = append(uncovered, fmt.Sprintf("%s %s", f.Signature, b))
		}
	}
	d := pgtest.New(t)
	var sql []string
	d.QueryRow(t, `
		SELECT coalesce(array_agg(p.oid::regprocedure::text ORDER BY 1), '{}')
		FROM pg_proc p
		JOIN pg_language l ON l.oid = p.prolang AND l.lanname = 'sql'
		JOIN pg_namespace n ON n.oid = p.pronamespace AND n.nspname IN ('public', 'private')`).Scan(t, &sql)
	t.Logf("not measured, LANGUAGE sql (no branches; their error paths are the tests' to prove): %s", strings.Join(sql, ", "))

	t.Logf("mentordb-metric: plpgsql_branch_coverage=%s", coverage.Ratio(executedBranches, branches))
	t.Logf("mentordb-metric: plpgsql_statement_coverage=%s", coverage.Ratio(executedStatements, statements))
	t.Logf("mentordb-metric: plpgsql_functions_measured=%d", len(fns))
	if len(uncovered) > 0 {
		t.Errorf("%d of %d PL/pgSQL branches were never executed by the matrix (line 1 is the line of the opening $$):\n  %s",
			len(uncovered), branches, strings.Join(uncovered, "\n  "))
	}
}

// matrixRanFully reports whether every case of every suite ran in this
// process, and if not, why not: every suite must have started and neither
// -run nor -skip may select below TestConformance's top level.
func matrixRanFully() (bool, string) {
	if n := int(suitesRun.Load()); n < len(suites) {
		return false, fmt.Sprintf("%d of %d suites ran", n, len(suites))
	}
	if f := flag.Lookup("test.run"); f != nil && strings.Contains(f.Value.String(), "/") {
		return false, fmt.Sprintf("-run %q selects part of the matrix", f.Value.String())
	}
	if f := flag.Lookup("test.skip"); f != nil && f.Value.String() != "" {
		return false, fmt.Sprintf("-skip %q leaves part of the matrix out", f.Value.String())
	}
	return true, ""
}
