package mutation

import (
	"os"
	"path"
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
	sel := Select(policy, trace, tests)
	require.Equal(t, []string{"TestConformance/matrix/Pause/PS-RLS-1_a"}, sel.Cheap, "the owner's statements and snapshot tests do not count")
	require.Equal(t, []string{"TestConformance/matrix/Plans/GEN-2_y", "TestConformance/matrix/Plans/PA-PLAN-1_x"}, sel.Costly)
	require.Equal(t, []string{"TestConformance/matrix/Pause/PS-MIG-1_c"}, sel.Snapshots)
	require.Empty(t, sel.Focus, "no focus, no focus stage")

	check := &Mutant{Observers: []string{"peer_mentor_status"}}
	sel = Select(check, trace, tests)
	require.Equal(t, []string{"TestConformance/matrix/Pause/PS-LOG-1_b", "TestConformance/matrix/Pause/PS-RLS-1_a"}, sel.Cheap)

	index := &Mutant{Observers: []string{"peer_mentor_status"}, Explain: true}
	sel = Select(index, trace, tests)
	require.Equal(t, []string{"TestConformance/matrix/Plans/GEN-2_y", "TestConformance/matrix/Plans/PA-PLAN-1_x"}, sel.Cheap, "index mutants run the plan tests first")
	require.Empty(t, sel.Costly)

	org := &Mutant{Observers: []string{"organizations"}, APIRoles: true}
	sel = Select(org, trace, tests)
	require.Equal(t, []string{"TestConformance/matrix/Access/organizations"}, sel.Cheap, "a suite sharing one clone is selected by its subtests")
}

func TestSelectFocusRunsFirstAndAlone(t *testing.T) {
	trace := Trace{
		"TestConformance/matrix/ProxyActivities/PA-FK-1_fk": {{Role: "postgres", Query: "DELETE FROM public.organizations WHERE id = $1"}},
		"TestConformance/matrix/ProxyActivities/PA-RLS-1_x": {{Role: "authenticated", Query: "SELECT * FROM public.organizations"}},
		"TestConformance/matrix/Access": {
			{Role: "service_role", Query: "UPDATE public.chapters SET name = $1"},
			{Role: "authenticated", Query: "UPDATE public.organizations SET name = $1"},
		},
	}
	tests := []string{"TestConformance/matrix/Access/chapters/UPDATE/service_role", "TestConformance/matrix/Access/organizations/UPDATE/coordinator"}

	fk := &Mutant{Observers: []string{"chapters", "organizations"},
		Focus: []Focus{{Objects: []string{"organizations"}, Commands: []string{"DELETE", "TRUNCATE"}}}}
	sel := Select(fk, trace, tests)
	require.Equal(t, []string{"TestConformance/matrix/ProxyActivities/PA-FK-1_fk"}, sel.Focus, "only the test that deletes a parent row")
	require.Equal(t, []string{"TestConformance/matrix/Access/chapters", "TestConformance/matrix/Access/organizations",
		"TestConformance/matrix/ProxyActivities/PA-RLS-1_x"}, sel.Cheap, "the rest of the observers, without the focus")

	grant := &Mutant{Observers: []string{"chapters"}, APIRoles: true,
		Focus: []Focus{{Objects: []string{"chapters"}, Commands: []string{"UPDATE"}, Roles: []string{"service_role"}}}}
	sel = Select(grant, trace, tests)
	require.Equal(t, []string{"TestConformance/matrix/Access/chapters"}, sel.Focus, "a shared-clone suite's subtest named after the object")
	require.Equal(t, []string{"TestConformance/matrix/Access/organizations"}, sel.Cheap)

	other := &Mutant{Observers: []string{"chapters"}, APIRoles: true,
		Focus: []Focus{{Objects: []string{"chapters"}, Commands: []string{"UPDATE"}, Roles: []string{"anon"}}}}
	require.Empty(t, Select(other, trace, tests).Focus, "another role's statements are not the focus")
}

func TestCommand(t *testing.T) {
	for q, want := range map[string]string{
		"SELECT 1":                                           "SELECT",
		"  delete from public.t where x":                     "DELETE",
		"EXPLAIN (ANALYZE, BUFFERS) SELECT 1":                "SELECT",
		"EXPLAIN ANALYZE UPDATE public.t SET x":              "UPDATE",
		"WITH a AS (SELECT 1) INSERT INTO t SELECT * FROM a": "INSERT",
		"WITH a AS (SELECT 1) SELECT * FROM a":               "SELECT",
		"(SELECT 1) UNION (SELECT 2)":                        "SELECT",
		"":                                                   "",
	} {
		require.Equal(t, want, Command(q), q)
	}
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

func TestReclassifyKeepsOnlyPinnedEquivalences(t *testing.T) {
	run := &Run{Results: []Result{
		{Mutant: Mutant{ID: "function-search-path-reset:public.f()", Family: SearchPathReset}, Status: Survived},
		{Mutant: Mutant{ID: "function-search-path-reset:public.g()", Family: SearchPathReset}, Status: Killed},
		{Mutant: Mutant{ID: "check-drop:public.t.c", Family: CheckDrop}, Status: Survived},
		{Mutant: Mutant{ID: "check-drop:public.t.d", Family: CheckDrop}, Status: SnapshotOnly,
			SnapshotKills: []string{"TestConformance/matrix/ProxyActivities/PA-COL-1_every_NOT_NULL_column_refuses_NULL"}},
		{Mutant: Mutant{ID: "function-search-path-reset:public.h()", Family: SearchPathReset}, Status: IsEquivalent,
			PinnedBy: []string{"TestConformance/matrix/ThreatModel/" + pinNoCreate}},
		{Mutant: Mutant{ID: "function-search-path-reset:public.i()", Family: SearchPathReset}, Status: IsEquivalent},
		{Mutant: Mutant{ID: "check-drop:public.t.e", Family: CheckDrop}, Status: IsEquivalent,
			PinnedBy: []string{"TestConformance/matrix/X/y"}},
	}}
	run.Reclassify()
	require.Equal(t, Survived, run.Results[0].Status, "declared after the run: its pin was never checked")
	require.Equal(t, Killed, run.Results[1].Status, "a kill is never undone")
	require.Equal(t, Survived, run.Results[2].Status)
	require.Equal(t, Killed, run.Results[3].Status, "a behavioural test that a run took for a snapshot test is counted again")
	require.Equal(t, IsEquivalent, run.Results[4].Status)
	require.Equal(t, Survived, run.Results[5].Status, "an equivalence the run did not pin is a survivor")
	require.Equal(t, Survived, run.Results[6].Status, "an equivalence no longer declared is a survivor")
	require.False(t, run.OK())
	total := run.Total()
	require.Equal(t, 1, total.Equivalent)
	require.Equal(t, 4, total.Survived)
}

func TestUnpinnedEquivalences(t *testing.T) {
	t.Run("CONF-5 an equivalence counts only when its pinning tests passed in the unmutated run, behavioural unless declared static", func(t *testing.T) {
		e := &Equivalence{Pattern: "x:*", Reason: "r", Callers: []Caller{CallerAPI}, Pins: []string{"CONF-5_pin"}}
		judge := func(e *Equivalence, results map[string]string) Result {
			var r Result
			judgeEquivalence(&r, e, results)
			return r
		}
		r := judge(e, map[string]string{"TestConformance/matrix/S/CONF-5_pin_a": "PASS", "TestConformance/matrix/S/CONF-5_pin_a/sub": "PASS"})
		require.Equal(t, IsEquivalent, r.Status)
		require.Equal(t, []string{"TestConformance/matrix/S/CONF-5_pin_a"}, r.PinnedBy)
		require.Equal(t, []string{"api"}, r.Callers)
		require.Equal(t, Survived, judge(e, map[string]string{"TestConformance/matrix/S/CONF-5_pin_a": "FAIL"}).Status, "a failed pin")
		require.Equal(t, Survived, judge(e, map[string]string{"TestConformance/matrix/S/other": "PASS"}).Status, "no pin ran")
		snapshotPin := &Equivalence{Pattern: "x:*", Reason: "r", Callers: []Caller{CallerAPI}, Pins: []string{"Access/catalog_drift"}}
		snap := map[string]string{"TestConformance/matrix/Access/catalog_drift:_every_exposed_object": "PASS"}
		require.Equal(t, Survived, judge(snapshotPin, snap).Status, "a snapshot test pins no behaviour")
		snapshotPin.Static = true
		require.Equal(t, IsEquivalent, judge(snapshotPin, snap).Status, "unless the entry says its pin is static")
		require.Equal(t, Survived, judge(&Equivalence{Pattern: "x:*", Reason: "r", Pins: []string{"CONF-5_pin"}},
			map[string]string{"TestConformance/matrix/S/CONF-5_pin": "PASS"}).Status, "no caller class")
		require.Equal(t, Survived, judge(&Equivalence{Pattern: "x:*", Reason: "r", Callers: every}, nil).Status, "no pin")
	})

	t.Run("CONF-5 every declared equivalence names its reason, its caller classes and its pins", func(t *testing.T) {
		known := map[Caller]bool{CallerAPI: true, CallerService: true, CallerServiceRole: true, CallerOwner: true}
		for _, e := range Equivalent {
			require.NotEmpty(t, e.Reason, e.Pattern)
			require.NotEmpty(t, e.Callers, e.Pattern)
			require.NotEmpty(t, e.Pins, e.Pattern)
			for _, c := range e.Callers {
				require.True(t, known[c], "%s: unknown caller class %q", e.Pattern, c)
			}
		}
	})
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

func TestKillersHintTheTestsThatKilledMost(t *testing.T) {
	k := newKillers()
	stage := []string{"TestConformance/matrix/A/a", "TestConformance/matrix/A/b", "TestConformance/matrix/B/c", "TestConformance/matrix/B/d", "TestConformance/matrix/B/e"}
	require.Nil(t, k.hint(stage), "no kill yet, no hint")
	k.record([]string{"TestConformance/matrix/B/c/cell_1", "TestConformance/matrix/B/c/cell_2"})
	k.record([]string{"TestConformance/matrix/B/d"})
	k.record([]string{"TestConformance/matrix/B/d"})
	k.record([]string{"TestConformance/matrix/A/b"})
	k.record([]string{"TestConformance/matrix/A/a"})
	require.Equal(t, []string{"TestConformance/matrix/B/d", "TestConformance/matrix/A/a", "TestConformance/matrix/A/b"}, k.hint(stage),
		"most kills first (a test counts once per mutant), ties by name, at most hintSize")
	require.Nil(t, k.hint(stage[2:4]), "a hint that is the whole stage is no hint")
	require.Equal(t, []string{"TestConformance/matrix/B/e"}, without(stage, stage[:4]))
}

func TestEquivalencePatternsMatchTheirMutants(t *testing.T) {
	require.NotNil(t, EquivalenceOf("function-execute-public:private.org_ids_with_role(text[])"), "brackets in a signature are escaped")
	for _, e := range Equivalent {
		_, err := path.Match(e.Pattern, "")
		require.NoError(t, err, e.Pattern)
	}
}

func TestUpdateOfColumnsDropsOneColumnAtATime(t *testing.T) {
	def := `CREATE CONSTRAINT TRIGGER c AFTER INSERT OR UPDATE OF attributed_mentor_id, "Coordinator", org_id ON public.t NOT DEFERRABLE INITIALLY IMMEDIATE FOR EACH ROW EXECUTE FUNCTION f()`
	got := updateOfColumns(def)
	require.Len(t, got, 3)
	require.Equal(t, "Coordinator", got[1].name)
	require.Equal(t, `CREATE CONSTRAINT TRIGGER c AFTER INSERT OR UPDATE OF attributed_mentor_id, org_id ON public.t NOT DEFERRABLE INITIALLY IMMEDIATE FOR EACH ROW EXECUTE FUNCTION f()`, got[1].without)
	require.Contains(t, updateOfColumns(`CREATE TRIGGER x BEFORE UPDATE OF a, b OR DELETE ON t FOR EACH ROW EXECUTE FUNCTION f()`)[0].without, "UPDATE OF b OR DELETE ON t")
	require.Empty(t, updateOfColumns(`CREATE TRIGGER x BEFORE UPDATE OF a ON t FOR EACH ROW EXECUTE FUNCTION f()`), "one column: nothing to narrow")
	require.Empty(t, updateOfColumns(`CREATE TRIGGER x BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f()`))
}

func TestPendingFamiliesAreFamiliesWithAReason(t *testing.T) {
	for f, why := range Pending {
		require.Contains(t, Families, f)
		require.NotEmpty(t, why, f)
	}
}

func TestUpdateOfEquivalenceLeavesTheMentorColumnToTheRun(t *testing.T) {
	const check = "trigger-update-of-narrow:public.proxy_activities.proxy_activities_mentor_in_org_check:"
	require.NotNil(t, EquivalenceOf(check+"org_id"))
	require.NotNil(t, EquivalenceOf(check+"coordinator_id"))
	require.Nil(t, EquivalenceOf(check+"attributed_mentor_id"), "the mentor may change in an UPDATE: its check is observable")
}
