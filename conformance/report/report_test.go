package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIDs(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"PA-RLS-2"}, IDs("TestProxy/PA-RLS-2_coordinator_sees_own_org"))
	require.Equal(t, []string{"DB-1", "PS-RPC-3"}, IDs("TestX_DB-1/PS-RPC-3_serialize"))
	require.Empty(t, IDs("TestXPA-RLS-2")) // glued to a word: not an ID
	require.Equal(t, []string{"CONF-1"}, IDs("TestHarness/CONF-1"))
	require.Equal(t, []string{"DB-MIG-1", "DB-3"}, IDs("TestX/DB-MIG-1_DB-3_shared_history"))
	require.Equal(t, []string{"REV-1"}, IDs("TestReview/REV-1_a_policy_widened_to_anon_fails"))
}

func stream(lines ...string) *strings.Reader { return strings.NewReader(strings.Join(lines, "\n")) }

func TestReport(t *testing.T) {
	t.Parallel()
	t.Run("CONF-2 every requirement with its tests and verdict, from the go test stream", testBuild)
}

func testBuild(t *testing.T) {
	rep, err := Build(stream(
		`{"Action":"run","Package":"p","Test":"TestA"}`,
		`{"Action":"pass","Package":"p","Test":"TestA/PA-CHK-1_insert"}`,
		`{"Action":"output","Package":"p","Test":"TestA/PA-CHK-1_update","Output":"boom\n"}`,
		`{"Action":"fail","Package":"p","Test":"TestA/PA-CHK-1_update"}`,
		`{"Action":"pass","Package":"p","Test":"TestA/PA-CHK-2_positive"}`,
		`{"Action":"skip","Package":"p","Test":"TestA/PS-RLS-1_own"}`,
		`{"Action":"output","Package":"p","Test":"TestCov","Output":"    cov_test.go:9: mentordb-metric: plpgsql_branch_coverage=12/12\n"}`,
		`{"Action":"pass","Package":"p","Test":"TestA/PA-XYZ-9_typo"}`,
		`not json is ignored`,
	))
	require.NoError(t, err)
	got := map[string]string{}
	for _, r := range rep.Rows {
		got[r.ID] = r.Result
	}
	require.Equal(t, Fail, got["PA-CHK-1"], "one failing test fails the requirement")
	require.Equal(t, Pass, got["PA-CHK-2"])
	require.Equal(t, Skip, got["PS-RLS-1"], "a skip proves nothing")
	require.Equal(t, Missing, got["GEN-1"])
	require.Equal(t, "12/12", rep.Metrics["plpgsql_branch_coverage"])
	require.Equal(t, []string{"PA-XYZ-9"}, rep.Unknown)
	require.False(t, rep.OK())
	require.Equal(t, map[string]int{Pass: 3, Fail: 1, Skip: 1}, rep.Tests)
	require.Equal(t, []Failure{{Package: "p", Test: "TestA/PA-CHK-1_update", Output: "boom\n"}}, rep.Failures)
	require.Len(t, rep.Rows, len(Requirements))

	var md bytes.Buffer
	require.NoError(t, rep.Markdown(&md))
	require.Contains(t, md.String(), "| PA-CHK-1 | **FAIL** |")
	require.Contains(t, md.String(), "| PA-CHK-2 | PASS |")
}

func TestMutation(t *testing.T) {
	t.Parallel()
	t.Run("CONF-2 CONF-4 is not run without the mutation run, and judged by it when given", func(t *testing.T) {
		t.Parallel()
		build := func() *Report {
			rep, err := Build(stream(`{"Action":"pass","Package":"p","Test":"TestA/CONF-4_generator"}`))
			require.NoError(t, err)
			return rep
		}
		row := func(rep *Report) Row {
			for _, r := range rep.Rows {
				if r.ID == "CONF-4" {
					return r
				}
			}
			t.Fatal("no CONF-4 row")
			return Row{}
		}
		rep := build()
		require.Equal(t, NotRun, row(rep).Result, "a passing generator test does not prove the gate")
		require.Contains(t, row(rep).Note, "make mutants")
		require.Equal(t, 1, rep.NotRun)
		missing := rep.Missing

		rep = build()
		rep.AttachMutation(&Mutation{Killed: 150, Survived: 1, Survivors: []Mutant{{ID: "check-drop:x", SQL: "ALTER TABLE x DROP CONSTRAINT c"}}})
		require.Equal(t, Fail, row(rep).Result)
		require.Equal(t, 0, rep.NotRun)
		require.Equal(t, missing, rep.Missing)
		var md bytes.Buffer
		require.NoError(t, rep.Markdown(&md))
		require.Contains(t, md.String(), "## Mutation testing (CONF-4)")
		require.Contains(t, md.String(), "ALTER TABLE x DROP CONSTRAINT c")

		rep = build()
		rep.AttachMutation(&Mutation{Killed: 150, SnapshotOnly: 1})
		require.Equal(t, Fail, row(rep).Result, "a snapshot-only kill is not a kill")

		rep = build()
		rep.AttachMutation(&Mutation{Killed: 150, Equivalent: 3, Pending: []string{"fk-drop: not yet judged"}})
		require.Equal(t, Pass, row(rep).Result, "a family not in the gate does not fail it")
		md.Reset()
		require.NoError(t, rep.Markdown(&md))
		require.Contains(t, md.String(), "- fk-drop: not yet judged", "the report names the families left out of the gate")
	})
}
