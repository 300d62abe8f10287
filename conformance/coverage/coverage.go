// Package coverage measures statement and branch coverage of PL/pgSQL
// functions over the whole conformance matrix (requirement PS-COV-1).
//
// plpgsql_check's profiler counts executions per statement, per database.
// Every test runs in its own database, so no single database sees the matrix:
// pgtest harvests each database's statement counts
// (plpgsql_profiler_function_statements_tb) before dropping it, and a Profile
// sums them per function. Branch coverage is then computed here, from the
// merged statement tree, the way plpgsql_check's plpgsql_coverage_branches
// computes it for one database (src/profiler.c, collect-coverage walker):
//
//   - a loop (LOOP, WHILE, FOR, FOREACH) has one branch, its body;
//   - an IF has one branch per arm (THEN, each ELSIF, ELSE); without ELSE the
//     implicit else is a branch too, executed as often as the IF ran minus
//     the executions of its arms;
//   - a CASE has one branch per WHEN and one for ELSE, which without an ELSE
//     clause is the CASE_NOT_FOUND path (the CASE ran and no WHEN did);
//   - a block with an EXCEPTION clause has a branch for its body and one per
//     handler; a block without one has none;
//   - an arm counts as executed when its first statement was.
//
// The profile lists statements only, so an arm without statements (one that
// holds only NULL;) is invisible in it. plpgsql_check counts such an arm as a
// branch that never runs; here an empty THEN, ELSIF or WHEN arm, like a
// missing ELSE, is credited with the executions of its IF or CASE that no
// visible arm took, which is exactly its count when it is the only such arm.
// An empty exception handler between two others is reported as never
// executed (it cannot be measured); a trailing one cannot be seen at all.
// None of mentordb's functions has an empty arm.
package coverage

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Stmt is one row of plpgsql_profiler_function_statements_tb.
type Stmt struct {
	ID     int    // stmtid, in natural (source) order
	Parent int    // parent_stmtid; -1 for the function's outer block
	Note   string // parent_note: "body", "then body", "elsif 2", "else body", "case when 1", "case else", "loop body", "exception 1"
	Block  int    // block_num: position among the statements of the same arm, from 1
	Line   int    // lineno in the function body; -1 for an invisible block
	Name   string // stmtname: "IF", "CASE", "LOOP", "statement block", ...
	Exec   int64  // exec_stmts, summed over every harvested database
}

// Branch is one arm of a branching statement.
type Branch struct {
	Line    int    // line of the branching statement
	Stmt    string // its kind (IF, CASE, loop name, statement block)
	Arm     string // "then", "elsif 1", "else", "implicit else", "when 2", "loop body", "body", "exception 1", ...
	ArmLine int    // line of the arm's first statement; 0 for an arm without statements
	Exec    int64
}

func (b Branch) String() string {
	arm := b.Arm
	if b.ArmLine > 0 {
		arm += fmt.Sprintf(" at line %d", b.ArmLine)
	}
	return fmt.Sprintf("line %d %s: %s (executed %d times)", b.Line, b.Stmt, arm, b.Exec)
}

// Function is the coverage of one function.
type Function struct {
	Signature          string // oid::regprocedure::text
	Statements         int
	ExecutedStatements int
	Branches           []Branch
}

// ExecutedBranches counts the branches that ran at least once.
func (f Function) ExecutedBranches() int {
	n := 0
	for _, b := range f.Branches {
		if b.Exec > 0 {
			n++
		}
	}
	return n
}

// Uncovered lists the branches that never ran.
func (f Function) Uncovered() []Branch {
	var out []Branch
	for _, b := range f.Branches {
		if b.Exec == 0 {
			out = append(out, b)
		}
	}
	return out
}

// Compute returns the statement and branch coverage of one function's
// statement tree (the rows of plpgsql_profiler_function_statements_tb).
func Compute(signature string, stmts []Stmt) Function {
	f := Function{Signature: signature}
	// arms[parent][note] are the statements of one arm, in block order.
	arms := map[int]map[string][]Stmt{}
	for _, s := range stmts {
		if s.Line != -1 { // plpgsql_check does not count invisible blocks
			f.Statements++
			if s.Exec > 0 {
				f.ExecutedStatements++
			}
		}
		if arms[s.Parent] == nil {
			arms[s.Parent] = map[string][]Stmt{}
		}
		arms[s.Parent][s.Note] = append(arms[s.Parent][s.Note], s)
	}
	// first returns an arm's first statement, and whether the arm has
	// statements at all.
	first := func(parent int, note string) (Stmt, bool) {
		ss := arms[parent][note]
		if len(ss) == 0 {
			return Stmt{}, false
		}
		return slices.MinFunc(ss, func(a, b Stmt) int { return cmp.Compare(a.Block, b.Block) }), true
	}
	sorted := slices.Clone(stmts)
	slices.SortFunc(sorted, func(a, b Stmt) int { return cmp.Compare(a.ID, b.ID) })
	for _, s := range sorted {
		add := func(arm string, first Stmt, exec int64) {
			f.Branches = append(f.Branches, Branch{Line: s.Line, Stmt: s.Name, Arm: arm, ArmLine: first.Line, Exec: exec})
		}
		switch {
		case isLoop(s.Name):
			n, _ := first(s.ID, "loop body")
			add("loop body", n, n.Exec)
		case s.Name == "IF":
			conditional(s, arms[s.ID], "then body", "elsif ", "else body", "then", "elsif ", "else", first, add)
		case s.Name == "CASE":
			conditional(s, arms[s.ID], "", "case when ", "case else", "", "when ", "else", first, add)
		case s.Name == "statement block":
			handlers := maxNumbered(arms[s.ID], "exception ")
			if handlers == 0 {
				continue
			}
			n, _ := first(s.ID, "body")
			add("body", n, n.Exec)
			for i := 1; i <= handlers; i++ {
				n, ok := first(s.ID, "exception "+strconv.Itoa(i))
				arm := "exception " + strconv.Itoa(i)
				if !ok {
					arm += " (empty handler: give it a statement to measure it)"
				}
				add(arm, n, n.Exec)
			}
		}
	}
	return f
}

// conditional adds the branches of an IF or a CASE: an optional leading arm
// (THEN), numbered arms (ELSIF n, WHEN n) and the else arm. Arms without
// statements, the missing else included, share the executions that no arm
// with statements accounts for.
func conditional(s Stmt, arms map[string][]Stmt, leadNote, numNote, elseNote, leadArm, numArm, elseArm string,
	first func(int, string) (Stmt, bool), add func(string, Stmt, int64)) {
	type arm struct {
		name  string
		first Stmt
		seen  bool
	}
	var all []arm
	if leadNote != "" {
		n, ok := first(s.ID, leadNote)
		all = append(all, arm{leadArm, n, ok})
	}
	for i := 1; i <= maxNumbered(arms, numNote); i++ {
		n, ok := first(s.ID, numNote+strconv.Itoa(i))
		all = append(all, arm{numArm + strconv.Itoa(i), n, ok})
	}
	if n, ok := first(s.ID, elseNote); ok {
		all = append(all, arm{elseArm, n, true})
	} else {
		all = append(all, arm{"implicit " + elseArm, Stmt{}, false})
	}
	residual := s.Exec
	for _, a := range all {
		if a.seen {
			residual -= a.first.Exec
		}
	}
	residual = max(residual, 0)
	for _, a := range all {
		switch {
		case a.seen:
			add(a.name, a.first, a.first.Exec)
		case strings.HasPrefix(a.name, "implicit "):
			add(a.name, a.first, residual)
		default:
			add(a.name+" (empty)", a.first, residual)
		}
	}
}

// maxNumbered returns the highest n of the notes prefix+n.
func maxNumbered(arms map[string][]Stmt, prefix string) int {
	n := 0
	for note := range arms {
		if rest, ok := strings.CutPrefix(note, prefix); ok {
			if i, err := strconv.Atoi(rest); err == nil {
				n = max(n, i)
			}
		}
	}
	return n
}

// isLoop reports whether a stmtname names a loop (plpgsql_check's is_cycle):
// LOOP, WHILE, FOR with integer loop variable, FOR over SELECT rows, FOR over
// cursor, FOR over EXECUTE statement, FOREACH over array.
func isLoop(name string) bool {
	return name == "LOOP" || name == "WHILE" || strings.HasPrefix(name, "FOR ") || strings.HasPrefix(name, "FOREACH ")
}

// Profile sums statement executions per function over many databases. It
// is safe for concurrent use: test databases are harvested in parallel.
type Profile struct {
	mu   sync.Mutex
	fns  map[key]*entry
	errs []error
}

// AddError records a database whose profile could not be read: the
// coverage is then incomplete, and PS-COV-1 must say so.
func (p *Profile) AddError(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.errs = append(p.errs, err)
}

// Errors returns the errors recorded by AddError.
func (p *Profile) Errors() []error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.errs)
}

// key identifies one version of a function: the same signature with another
// body (a migration test's older version, say) has another statement tree.
type key struct{ signature, source string }

type entry struct {
	stmts   map[int]Stmt
	current bool
}

// Add merges one database's statement rows of one function. source tells
// versions of a function apart (md5 of prosrc); current marks the version in
// the migrated schema, the one whose coverage Functions reports.
func (p *Profile) Add(signature, source string, current bool, stmts []Stmt) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fns == nil {
		p.fns = map[key]*entry{}
	}
	k := key{signature, source}
	e := p.fns[k]
	if e == nil {
		e = &entry{stmts: map[int]Stmt{}}
		p.fns[k] = e
	}
	e.current = e.current || current
	for _, s := range stmts {
		old, ok := e.stmts[s.ID]
		if ok {
			if old.Parent != s.Parent || old.Note != s.Note || old.Block != s.Block || old.Line != s.Line || old.Name != s.Name {
				return fmt.Errorf("coverage: %s statement %d differs between databases: %+v and %+v", signature, s.ID, old, s)
			}
			s.Exec += old.Exec
		}
		e.stmts[s.ID] = s
	}
	return nil
}

// Known reports whether Add has seen this version of a function already,
// as current if current: its statement tree is known, and a database where
// it did not run adds nothing to it.
func (p *Profile) Known(signature, source string, current bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.fns[key{signature, source}]
	return e != nil && (e.current || !current)
}

// Functions returns the coverage of every current function, by signature.
func (p *Profile) Functions() []Function {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Function
	for k, e := range p.fns {
		if !e.current {
			continue
		}
		stmts := make([]Stmt, 0, len(e.stmts))
		for _, s := range e.stmts {
			stmts = append(stmts, s)
		}
		out = append(out, Compute(k.signature, stmts))
	}
	slices.SortFunc(out, func(a, b Function) int { return cmp.Compare(a.Signature, b.Signature) })
	return out
}

// Total sums the coverage of fns.
func Total(fns []Function) (statements, executedStatements, branches, executedBranches int) {
	for _, f := range fns {
		statements += f.Statements
		executedStatements += f.ExecutedStatements
		branches += len(f.Branches)
		executedBranches += f.ExecutedBranches()
	}
	return
}

// Ratio formats covered/total with a percentage, e.g. "12/12 (100.0%)".
func Ratio(covered, total int) string {
	pct := 100.0
	if total > 0 {
		pct = 100 * float64(covered) / float64(total)
	}
	return fmt.Sprintf("%d/%d (%.1f%%)", covered, total, pct)
}
