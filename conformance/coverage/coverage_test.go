package coverage

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// g is plpgsql_profiler_function_statements_tb of this function after
// SELECT g(1), g(7), g(0), on which plpgsql_check 2.3 reports
// plpgsql_coverage_branches = 8/13 and plpgsql_coverage_statements = 15/20:
//
//	DECLARE r int := 0; a int[] := ARRAY[1,2]; i int;
//	BEGIN
//	  IF x > 10 THEN r := 10; ELSIF x > 5 THEN r := 5; ELSE r := 0; END IF;
//	  IF x < 0 THEN RETURN -1; END IF;
//	  CASE WHEN x = 1 THEN r := r + 1; WHEN x = 2 THEN r := r + 2; ELSE r := r + 3; END CASE;
//	  WHILE r < 0 LOOP r := r + 1; END LOOP;
//	  FOREACH i IN ARRAY a LOOP r := r + i; END LOOP;
//	  BEGIN r := r / x;
//	  EXCEPTION WHEN division_by_zero THEN r := -2; WHEN others THEN r := -3;
//	  END;
//	  RETURN r;
//	END
var g = []Stmt{
	{0, -1, "", 1, 3, "statement block", 3},
	{1, 0, "body", 1, 4, "IF", 3},
	{2, 1, "then body", 1, 5, "assignment", 0},
	{3, 1, "elsif 1", 1, 7, "assignment", 1},
	{4, 1, "else body", 1, 9, "assignment", 2},
	{5, 0, "body", 2, 11, "IF", 3},
	{6, 5, "then body", 1, 12, "RETURN", 0},
	{7, 0, "body", 3, 14, "CASE", 3},
	{8, 7, "case when 1", 1, 14, "assignment", 1},
	{9, 7, "case when 2", 1, 15, "assignment", 0},
	{10, 7, "case else", 1, 16, "assignment", 2},
	{11, 0, "body", 4, 18, "WHILE", 3},
	{12, 11, "loop body", 1, 18, "assignment", 0},
	{13, 0, "body", 5, 19, "FOREACH over array", 3},
	{14, 13, "loop body", 1, 19, "assignment", 6},
	{15, 0, "body", 6, 20, "statement block", 3},
	{16, 15, "body", 1, 21, "assignment", 3},
	{17, 15, "exception 1", 1, 23, "assignment", 1},
	{18, 15, "exception 2", 1, 24, "assignment", 0},
	{19, 0, "body", 7, 26, "RETURN", 3},
}

func TestComputeMatchesPlpgsqlCheck(t *testing.T) {
	f := Compute("g(integer)", g)
	require.Equal(t, 20, f.Statements)
	require.Equal(t, 15, f.ExecutedStatements)
	require.Len(t, f.Branches, 13)
	require.Equal(t, 8, f.ExecutedBranches())
	require.Equal(t, []Branch{
		{4, "IF", "then", 5, 0},
		{11, "IF", "then", 12, 0},
		{14, "CASE", "when 2", 15, 0},
		{18, "WHILE", "loop body", 18, 0},
		{20, "statement block", "exception 2", 24, 0},
	}, f.Uncovered())
	require.Contains(t, f.Branches, Branch{11, "IF", "implicit else", 0, 3}, "the IF ran 3 times, its THEN never")
}

func TestImplicitElse(t *testing.T) {
	tree := func(ifExec, thenExec int64) []Stmt {
		return []Stmt{
			{0, -1, "", 1, 1, "statement block", ifExec},
			{1, 0, "body", 1, 2, "IF", ifExec},
			{2, 1, "then body", 1, 3, "RAISE", thenExec},
			{3, 0, "body", 2, 5, "RETURN", ifExec - thenExec},
		}
	}
	f := Compute("f()", tree(2, 2))
	require.Equal(t, []Branch{{2, "IF", "implicit else", 0, 0}}, f.Uncovered(), "the THEN always ran: the condition was never false")
	f = Compute("f()", tree(2, 0))
	require.Equal(t, []Branch{{2, "IF", "then", 3, 0}}, f.Uncovered())
	require.Empty(t, Compute("f()", tree(3, 1)).Uncovered())
	require.Equal(t, []Branch{{2, "IF", "then", 3, 0}, {2, "IF", "implicit else", 0, 0}}, Compute("f()", tree(0, 0)).Uncovered())
}

// Arms that hold only NULL; have no statements and so no rows: they take
// the executions of the IF or CASE that no visible arm accounts for.
func TestEmptyArms(t *testing.T) {
	// IF a THEN NULL; ELSIF b THEN x; END IF, run 5 times, b true twice.
	f := Compute("f()", []Stmt{
		{0, -1, "", 1, 1, "statement block", 5},
		{1, 0, "body", 1, 2, "IF", 5},
		{2, 1, "elsif 1", 1, 4, "assignment", 2},
	})
	require.Equal(t, []Branch{{2, "IF", "then (empty)", 0, 3}, {2, "IF", "elsif 1", 4, 2}, {2, "IF", "implicit else", 0, 3}}, f.Branches)

	// CASE WHEN a THEN x; WHEN b THEN NULL; WHEN c THEN y; END CASE (no
	// ELSE: its arm is the CASE_NOT_FOUND error, counted like plpgsql_check).
	f = Compute("f()", []Stmt{
		{0, -1, "", 1, 1, "statement block", 4},
		{1, 0, "body", 1, 2, "CASE", 4},
		{2, 1, "case when 1", 1, 2, "assignment", 1},
		{3, 1, "case when 3", 1, 4, "assignment", 3},
	})
	require.Equal(t, []Branch{{2, "CASE", "when 1", 2, 1}, {2, "CASE", "when 2 (empty)", 0, 0}, {2, "CASE", "when 3", 4, 3}, {2, "CASE", "implicit else", 0, 0}}, f.Branches)
	require.Equal(t, 2, f.ExecutedBranches())

	// An empty handler between two others cannot be measured: reported, never credited.
	f = Compute("f()", []Stmt{
		{0, -1, "", 1, 1, "statement block", 1},
		{1, 0, "body", 1, 2, "assignment", 1},
		{2, 0, "exception 1", 1, 4, "assignment", 1},
		{3, 0, "exception 3", 1, 6, "assignment", 1},
	})
	require.Equal(t, []Branch{{1, "statement block", "exception 2 (empty handler: give it a statement to measure it)", 0, 0}}, f.Uncovered())
}

func TestInvisibleBlockIsNoStatement(t *testing.T) {
	f := Compute("f()", []Stmt{
		{0, -1, "", 1, -1, "statement block", 1},
		{1, 0, "body", 1, 2, "RETURN", 1},
	})
	require.Equal(t, 1, f.Statements)
	require.Empty(t, f.Branches)
}

func TestProfileMergesDatabases(t *testing.T) {
	// One database took the THEN, another the implicit else: together, both.
	tree := func(thenExec int64) []Stmt {
		return []Stmt{
			{0, -1, "", 1, 1, "statement block", 1},
			{1, 0, "body", 1, 2, "IF", 1},
			{2, 1, "then body", 1, 3, "RAISE", thenExec},
			{3, 0, "body", 2, 5, "RETURN", 1 - thenExec},
		}
	}
	var p Profile
	require.False(t, p.Known("private.f()", "src1", false))
	require.NoError(t, p.Add("private.f()", "src1", false, tree(1)))
	require.True(t, p.Known("private.f()", "src1", false))
	require.False(t, p.Known("private.f()", "src1", true), "seen, but not yet in the migrated schema")
	require.Empty(t, p.Functions(), "only the migrated schema's functions are reported")

	require.NoError(t, p.Add("private.f()", "src1", true, tree(0)))
	require.True(t, p.Known("private.f()", "src1", true))
	fns := p.Functions()
	require.Len(t, fns, 1)
	require.Equal(t, []Branch{{2, "IF", "then", 3, 1}, {2, "IF", "implicit else", 0, 1}}, fns[0].Branches)
	require.Equal(t, 4, fns[0].ExecutedStatements)

	// Another body under the same signature (an older migration's) is
	// another function, not reported unless it is the migrated schema's.
	require.NoError(t, p.Add("private.f()", "src0", false, tree(0)[:1]))
	require.Len(t, p.Functions(), 1)

	// The same body with another tree means a broken harvest.
	bad := tree(0)
	bad[2].Line = 9
	require.Error(t, p.Add("private.f()", "src1", false, bad))

	p.AddError(errors.New("harvest t_1: boom"))
	require.Len(t, p.Errors(), 1)

	s, es, b, eb := Total(p.Functions())
	require.Equal(t, [4]int{4, 4, 2, 2}, [4]int{s, es, b, eb})
	require.Equal(t, "2/2 (100.0%)", Ratio(eb, b))
	require.Equal(t, "0/0 (100.0%)", Ratio(0, 0))
	require.Equal(t, "1/3 (33.3%)", Ratio(1, 3))
}
