package review

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/mutation"
	"github.com/mentordb/mentordb/internal/harness/schemadump"
)

// The gate's selection, on the mutation generator's IDs: what a delta adds
// or changes, and nothing else.
func TestGatePattern(t *testing.T) {
	d := &CatalogDelta{
		Added: []schemadump.Entry{
			{Type: "POLICY", Schema: "public", Name: "proxy_activities proxy_activities_select_anon"},
			{Type: "TABLE", Schema: "public", Name: "mentor_notes"},
			{Type: "FUNCTION", Schema: "private", Name: "proxy_activities_refuse_truncate()"},
		},
		Changed: []Changed{{Type: "TABLE", Schema: "public", Name: "proxy_activities",
			Base: "CREATE TABLE public.proxy_activities (\n    id uuid NOT NULL,\n    CONSTRAINT proxy_activities_duration_minutes_max_check CHECK ((duration_minutes <= 1440))\n);",
			Head: "CREATE TABLE public.proxy_activities (\n    id uuid NOT NULL,\n    CONSTRAINT proxy_activities_duration_minutes_max_check CHECK ((duration_minutes <= 10080))\n);"}},
	}
	p := GatePattern(d)
	require.NotNil(t, p)
	for _, id := range []string{
		"policy-drop:public.proxy_activities.proxy_activities_select_anon",
		"policy-using-true:public.proxy_activities.proxy_activities_select_anon",
		"rls-disable:public.mentor_notes",
		"grant-widen:public.mentor_notes:anon:SELECT",
		"not-null-drop:public.mentor_notes.body",
		"function-execute-anon:private.proxy_activities_refuse_truncate()",
		"function-guard-drop:private.proxy_activities_refuse_truncate():2",
		"check-drop:public.proxy_activities.proxy_activities_duration_minutes_max_check",
	} {
		require.True(t, p.MatchString(id), "%s should be selected by %s", id, p)
	}
	for _, id := range []string{
		"policy-drop:public.proxy_activities.proxy_activities_select_coordinator",
		"rls-disable:public.proxy_activities",
		"grant-widen:public.mentor_notes_archive:anon:SELECT",
		"check-drop:public.proxy_activities.proxy_activities_duration_minutes_check",
		"function-execute-anon:private.proxy_activities_refuse_truncate_later()",
	} {
		require.False(t, p.MatchString(id), "%s should not be selected by %s", id, p)
	}
	require.Nil(t, GatePattern(&CatalogDelta{Added: []schemadump.Entry{{Type: "COMMENT", Schema: "public", Name: "COLUMN proxy_activities.notes"}}}),
		"a comment has no mutants")
}

// REV-1's gate verdict: a surviving or snapshot-only mutant of a new object
// fails the review, a killed one does not, a runner error warns.
func TestGateVerdict(t *testing.T) {
	r := &Report{}
	run := &mutation.Run{Results: []mutation.Result{
		{Mutant: mutation.Mutant{ID: "policy-drop:public.t.p"}, Status: mutation.Killed, KilledBy: []string{"TestConformance/matrix/Access/t"}},
		{Mutant: mutation.Mutant{ID: "policy-using-true:public.t.p", SQL: "ALTER POLICY p ON public.t USING (true)"}, Status: mutation.Survived},
		{Mutant: mutation.Mutant{ID: "rls-disable:public.t"}, Status: mutation.SnapshotOnly},
		{Mutant: mutation.Mutant{ID: "index-drop:public.i"}, Status: mutation.RunnerError, Error: "did not apply"},
	}}
	g := judgeGate(run, GatePattern(&CatalogDelta{Added: []schemadump.Entry{{Type: "TABLE", Schema: "public", Name: "t"}}}), r)
	require.Len(t, g.Mutants, 4)
	require.Equal(t, []string{"mutant-survived policy-using-true:public.t.p", "mutant-survived rls-disable:public.t"}, judged(r, Fail))
	require.Equal(t, []string{"not-run index-drop:public.i"}, judged(r, Warn))
	require.Equal(t, "ALTER POLICY p ON public.t USING (true)", r.Find(RuleMutantSurvived, "policy-using-true:public.t.p")[0].SQL)
}
