package mutation

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const body = `
DECLARE
  v_claim text := 'it''s; a literal';
BEGIN
  -- a comment with a ; and a quote ' that is not code
  IF v_org IS NULL THEN
    RAISE EXCEPTION 'claim missing; say so'
      USING ERRCODE = 'MD004', CONSTRAINT = 'peer_mentor_status_org_claim';
  END IF;
  PERFORM pg_advisory_xact_lock(1296302081, hashtext(p_peer_mentor_id::text));
  /* RAISE EXCEPTION 'not code'; */
  IF NOT v_is_mentor THEN
    RAISE EXCEPTION 'not a mentor' USING ERRCODE = 'MD001';
  END IF;
  RETURN v_org;
END
`

func TestDropGuardsReplacesEachRaiseOutsideCommentsAndLiterals(t *testing.T) {
	got := dropGuards(body)
	require.Len(t, got, 2)
	require.NotContains(t, got[0], "claim missing")
	require.Contains(t, got[0], "THEN\n    NULL;\n  END IF;")
	require.Contains(t, got[0], "not a mentor")
	require.Contains(t, got[1], "claim missing")
	require.NotContains(t, got[1], "'not a mentor'")
	for _, g := range got {
		require.Contains(t, g, "it''s; a literal", "a literal is never cut")
		require.Contains(t, g, "/* RAISE EXCEPTION 'not code'; */")
	}
}

func TestDropAdvisoryLocks(t *testing.T) {
	got := dropAdvisoryLocks(body)
	require.Len(t, got, 1)
	require.NotContains(t, got[0], "pg_advisory_xact_lock")
	require.Equal(t, strings.Replace(body, "PERFORM pg_advisory_xact_lock(1296302081, hashtext(p_peer_mentor_id::text));", "NULL;", 1), got[0])
	require.Empty(t, dropAdvisoryLocks("BEGIN RETURN 1; END"))
}

func TestInsertBeforeTail(t *testing.T) {
	require.Equal(t, "FOREIGN KEY (a) REFERENCES t(id) ON DELETE CASCADE NOT VALID",
		insertBeforeTail("FOREIGN KEY (a) REFERENCES t(id) NOT VALID", " ON DELETE CASCADE"))
	require.Equal(t, "FOREIGN KEY (a) REFERENCES t(id) ON DELETE SET NULL",
		insertBeforeTail(onDelete.ReplaceAllString("FOREIGN KEY (a) REFERENCES t(id) ON DELETE SET NULL (a)", ""), " ON DELETE SET NULL"))
}

func TestMentionsWholeWordsOnly(t *testing.T) {
	require.True(t, mentions(`SELECT count(*) FROM public.chapters WHERE id = $1`, "chapters"))
	require.True(t, mentions(`DELETE FROM ONLY "public"."chapters" WHERE x`, "chapters"))
	require.False(t, mentions(`SELECT * FROM public.chapter_members`, "chapters"))
	require.False(t, mentions(`SELECT * FROM public.chapter_members`, "chapter"))
	require.True(t, mentions(`chapter_members`, "chapter_members"))
}

func TestParseOutputCountsOnlyTestsThatFailedThemselves(t *testing.T) {
	out := `=== RUN   TestConformance
--- FAIL: TestConformance (1.00s)
    --- FAIL: TestConformance/matrix (0.00s)
        --- FAIL: TestConformance/matrix/Pause (0.00s)
            --- FAIL: TestConformance/matrix/Pause/PS-RLS-1_a (0.12s)
            --- PASS: TestConformance/matrix/Pause/PS-RLS-2_b (0.12s)
            --- SKIP: TestConformance/matrix/Pause/PS-RLS-3_c (0.00s)
FAIL
`
	o := parseOutput([]byte(out))
	require.Equal(t, []string{"TestConformance/matrix/Pause/PS-RLS-1_a"}, o.failed)
	require.Equal(t, "PASS", o.results["TestConformance/matrix/Pause/PS-RLS-2_b"])

	timeout := `panic: test timed out after 3m0s
running tests:
	TestConformance (3m0s)
	TestConformance/matrix/Pause/PS-RPC-3_x (2m59s)
`
	require.Equal(t, []string{"TestConformance/matrix/Pause/PS-RPC-3_x"}, parseOutput([]byte(timeout)).failed)
}

func TestRunPatternSelectsExactlyTheNamedTests(t *testing.T) {
	p := RunPattern([]string{
		"TestConformance/matrix/Pause/PS-RPC-6_anon_gets_a_PostgreSQL_error_(42501)",
		"TestConformance/matrix/Access/proxy_activities",
	})
	require.Equal(t, `^TestConformance$/^matrix$/^(Access|Pause)$/^(PS-RPC-6_anon_gets_a_PostgreSQL_error_\(42501\)|proxy_activities)$`, p)
	// Each element matches one level, as go test applies it.
	elems := strings.Split(p, "/")
	require.Regexp(t, regexp.MustCompile(elems[3]), "PS-RPC-6_anon_gets_a_PostgreSQL_error_(42501)")
	require.NotRegexp(t, regexp.MustCompile(elems[3]), "PS-RPC-6_anon_gets_a_PostgreSQL_error_(42501)_and_more")
}

func TestSelectByTraceRoleAndSnapshot(t *testing.T) {
	trace := Trace{
		"TestConformance/matrix/Pause/PS-RLS-1_a": {{Role: "authenticated", Query: "SELECT * FROM public.peer_mentor_status"}},
		"TestConformance/matrix/Pause/PS-LOG-1_b": {{Role: "postgres", Query: "UPDATE public.peer_mentor_status SET x"}},
		"TestConformance/matrix/Pause/PS-MIG-1_c": {{Role: "authenticated", Query: "SELECT * FROM public.peer_mentor_status"}},
		"TestConformance/matrix/Plans":            {{Role: "authenticated", Query: "EXPLAIN SELECT * FROM public.peer_mentor_status"}},
		"TestConformance/matrix/Access":           {{Role: "anon", Query: "SELECT count(*) FROM public.organizations"}},
	}
	tests := []string{"TestConformance/matrix/Plans/PA-PLAN-1_x", "TestConformance/matrix/Plans/GEN-2_y", "TestConformance/matrix/Access/organizations/SELECT/anon"}

	policy := &Mutant{Observers: []string{"peer_mentor_status"}, APIRoles: true}
	cheap, costly, snaps := Select(policy, trace, tests)
	require.Equal(t, []string{"TestConformance/matrix/Pause/PS-RLS-1_a"}, cheap, "the owner's statements and snapshot tests do not count")
	require.Equal(t, []string{"TestConformance/matrix/Plans/GEN-2_y", "TestConformance/matrix/Plans/PA-PLAN-1_x"}, costly)
	require.Equal(t, []string{"TestConformance/matrix/Pause/PS-MIG-1_c"}, snaps)

	check := &Mutant{Observers: []string{"peer_mentor_status"}}
	cheap, _, _ = Select(check, trace, tests)
	require.Equal(t, []string{"TestConformance/matrix/Pause/PS-LOG-1_b", "TestConformance/matrix/Pause/PS-RLS-1_a"}, cheap)

	index := &Mutant{Observers: []string{"peer_mentor_status"}, Explain: true}
	cheap, costly, _ = Select(index, trace, tests)
	require.Equal(t, []string{"TestConformance/matrix/Plans/GEN-2_y", "TestConformance/matrix/Plans/PA-PLAN-1_x"}, cheap, "index mutants run the plan tests first")
	require.Empty(t, costly)

	org := &Mutant{Observers: []string{"organizations"}, APIRoles: true}
	cheap, _, _ = Select(org, trace, tests)
	require.Equal(t, []string{"TestConformance/matrix/Access/organizations"}, cheap, "a suite sharing one clone is selected by its subtests")
}

func TestEquivalentAndSnapshotListsMatch(t *testing.T) {
	require.NotEmpty(t, EquivalentReason("grant-widen:public.proxy_activities:anon:REFERENCES"))
	require.NotEmpty(t, EquivalentReason("grant-widen:public.proxy_activities.notes:authenticated:REFERENCES"))
	require.Empty(t, EquivalentReason("grant-widen:public.proxy_activities:anon:SELECT"))
	require.NotEmpty(t, EquivalentReason("function-search-path-reset:public.activate_pause(uuid,text,date)"))
	require.Empty(t, EquivalentReason("function-execute-anon:public.activate_pause(uuid,text,date)"))

	snap, _ := IsSnapshot("TestConformance/matrix/Access/catalog_drift:_every_exposed_object")
	require.True(t, snap)
	snap, _ = IsSnapshot("TestConformance/matrix/Access/proxy_activities/SELECT/anon")
	require.False(t, snap)
	for _, s := range Snapshot {
		require.NotEmpty(t, s.Reason, s.Pattern.String())
	}
	for _, e := range Equivalent {
		require.NotEmpty(t, e.Reason, e.Pattern)
	}
}

func TestReclassifyOnlyTurnsDeclaredSurvivorsEquivalent(t *testing.T) {
	run := &Run{Results: []Result{
		{Mutant: Mutant{ID: "function-search-path-reset:public.f()", Family: SearchPathReset}, Status: Survived},
		{Mutant: Mutant{ID: "function-search-path-reset:public.g()", Family: SearchPathReset}, Status: Killed},
		{Mutant: Mutant{ID: "check-drop:public.t.c", Family: CheckDrop}, Status: Survived},
		{Mutant: Mutant{ID: "check-drop:public.t.d", Family: CheckDrop}, Status: SnapshotOnly,
			SnapshotKills: []string{"TestConformance/matrix/ProxyActivities/PA-COL-1_every_NOT_NULL_column_refuses_NULL"}},
	}}
	run.Reclassify()
	require.Equal(t, IsEquivalent, run.Results[0].Status)
	require.NotEmpty(t, run.Results[0].Reason)
	require.Equal(t, Killed, run.Results[1].Status, "a kill is never undone")
	require.Equal(t, Survived, run.Results[2].Status)
	require.Equal(t, Killed, run.Results[3].Status, "a behavioural test that a run took for a snapshot test is counted again")
	require.False(t, run.OK())
	total := run.Total()
	require.Equal(t, 1, total.Equivalent)
	require.Equal(t, 1, total.Survived)
}

func TestFailedStatementsFromTheServerLog(t *testing.T) {
	dir := t.TempDir()
	log := dir + "/postgres.log"
	require.NoError(t, os.WriteFile(log, []byte(strings.Join([]string{
		"2026-12-01 05:30:00.123 UTC [42] db=t_a ERROR:  permission denied for table chapter_members",
		"2026-12-01 05:30:00.123 UTC [42] db=t_a STATEMENT:  DELETE FROM public.chapter_members",
		"2026-12-01 05:30:00.124 UTC [43] db=t_b ERROR:  boom",
		"2026-12-01 05:30:00.124 UTC [43] db=t_b STATEMENT:  UPDATE public.x",
		"\t  SET y = 1",
		"2026-12-01 05:30:00.125 UTC [44] db=postgres LOG:  checkpoint starting",
	}, "\n")+"\n"), 0o644))
	got, err := failedStatements(log)
	require.NoError(t, err)
	require.Equal(t, map[string][]string{"t_a": {"DELETE FROM public.chapter_members"}, "t_b": {"UPDATE public.x SET y = 1"}}, got)
}
