// Package access is mentordb's access matrix: who may do what to every object
// the Data API exposes, declared once (spec.go) and nowhere else.
//
// The conformance suite (conformance/access_test.go) is its generator: it
// builds the fixture world the spec names, runs every cell as a
// PostgREST-equivalent request (db.DB.As) and rolls it back, compares the
// spec's grants and policies with pg_catalog in both directions, and renders
// docs/access-matrix.md from the spec and the results of that run (Render).
//
// This package holds no database code, so the spec's own consistency
// (Validate) is checked by the unit tier too.
package access

import (
	"fmt"
	"slices"
	"strings"
)

// Op is an operation on an object.
type Op string

const (
	Select   Op = "SELECT"
	Insert   Op = "INSERT"
	Update   Op = "UPDATE"
	Delete   Op = "DELETE"
	Truncate Op = "TRUNCATE"
	Execute  Op = "EXECUTE"
)

// TableOps are the operations every table's spec covers; functions have
// Execute only.
var TableOps = []Op{Select, Insert, Update, Delete, Truncate}

// Role is a Data API role (a JWT role claim).
type Role string

const (
	Anon          Role = "anon"
	Authenticated Role = "authenticated"
	ServiceRole   Role = "service_role"
)

// APIRoles are the roles whose privileges the spec declares completely.
var APIRoles = []Role{Anon, Authenticated, ServiceRole}

// ActorKey names an actor; it is the last segment of a cell's subtest name.
type ActorKey string

// Actor is one caller relation. The generator turns it into claims: the role,
// sub = the fixture user User, and user_metadata.organization_id = the
// fixture org Claim (none when empty).
type Actor struct {
	Key   ActorKey
	Label string // who, in the reviewers' words
	Role  Role
	User  Ref // fixture user; empty for anon and service_role
	Claim Ref // fixture org of the organization_id claim; empty for none
	// Revoked: the user is a fresh coordinator of org A (chapter A1) per
	// cell, whose first request proves coordinator access; then the
	// org_members row is deleted and the cell runs as a second request with
	// the same, unchanged claims.
	Revoked bool
}

// Ref names a fixture of the world the generator builds (World lists them).
type Ref string

// Self is the calling user (for INSERTs that must name the caller). For an
// actor without a user (anon, service_role) it is the probe's OnBehalfOf.
const Self Ref = "self"

// Fixture is one named row of the world, described for reviewers.
type Fixture struct {
	Ref   Ref
	About string
}

// Kind is the kind of an outcome.
type Kind int

const (
	// Allowed: the statement succeeded and returned or affected Rows rows
	// (Rows > 0).
	Allowed Kind = iota + 1
	// ZeroRows: the statement succeeded and RLS left it nothing to return or
	// affect.
	ZeroRows
	// Denied: the statement failed with SQLSTATE; Rule says what refused it.
	Denied
)

// Rules of a denial other than a constraint name.
const (
	// RulePrivilege: "permission denied for <kind> <object>" naming the
	// object the statement is on — the role lacks the grant on it.
	RulePrivilege = "no privilege"
	// RulePolicy: "new row violates row-level security policy" — a policy's
	// WITH CHECK refused the row.
	RulePolicy = "RLS WITH CHECK"
)

// Outcome is the expected or observed result of one cell.
type Outcome struct {
	Kind     Kind
	Rows     int
	SQLState string
	// Rule is RulePrivilege, RulePolicy, or the constraint name a function
	// or trigger reported (RAISE ... USING CONSTRAINT).
	Rule string
}

// Rows is success with n rows returned or affected.
func Rows(n int) Outcome { return Outcome{Kind: Allowed, Rows: n} }

// Raise is a denial raised by a function or trigger with a documented
// SQLSTATE and constraint name.
func Raise(sqlstate, constraint string) Outcome {
	return Outcome{Kind: Denied, SQLState: sqlstate, Rule: constraint}
}

var (
	// Zero is success with zero rows: RLS hides the target.
	Zero = Outcome{Kind: ZeroRows}
	// NoGrant is 42501 from the privilege system: the role lacks the grant.
	NoGrant = Outcome{Kind: Denied, SQLState: "42501", Rule: RulePrivilege}
	// RLSCheck is 42501 from a policy's WITH CHECK.
	RLSCheck = Outcome{Kind: Denied, SQLState: "42501", Rule: RulePolicy}
)

// Observe classifies a database error (SQLSTATE, constraint name, message)
// of a statement on o as an outcome. A privilege denial is NoGrant only when
// it names o itself. One that names another object (a trigger or function
// reading a table the role may not read) means the role got past o's own
// grants: it is a denial of its own, which says the object it names.
func Observe(o *Object, sqlstate, constraint, message string) Outcome {
	switch {
	case sqlstate == "42501" && constraint == "" && strings.HasPrefix(message, "permission denied for "):
		on := strings.TrimPrefix(message, "permission denied for ")
		if on == string(o.Kind)+" "+o.Name {
			return NoGrant
		}
		return Outcome{Kind: Denied, SQLState: sqlstate, Rule: RulePrivilege + " on " + on}
	case sqlstate == "42501" && constraint == "" && strings.Contains(message, "violates row-level security policy"):
		return RLSCheck
	}
	return Raise(sqlstate, constraint)
}

// Succeeded is the outcome of a statement that succeeded with n rows.
func Succeeded(n int) Outcome {
	if n == 0 {
		return Zero
	}
	return Rows(n)
}

func (o Outcome) String() string {
	switch o.Kind {
	case Allowed:
		if o.Rows == 1 {
			return "1 row"
		}
		return fmt.Sprintf("%d rows", o.Rows)
	case ZeroRows:
		return "0 rows"
	case Denied:
		return o.SQLState + " " + o.Rule
	}
	return "?"
}

// ObjectKind is a table or a function.
type ObjectKind string

const (
	Table    ObjectKind = "table"
	Function ObjectKind = "function"
)

// Policy is one row of pg_policies, as declared.
type Policy struct {
	Name  string
	Cmd   string // SELECT, INSERT, UPDATE, DELETE or ALL
	Roles []string
}

// Object is one exposed object in schema public: a table or a function.
type Object struct {
	Name string
	Kind ObjectKind
	// Args are a function's identity arguments
	// (pg_get_function_identity_arguments).
	Args string
	// SecurityDefiner: a function that runs as its owner (bypassing RLS).
	SecurityDefiner bool
	About           string
	// RLS: row level security is enabled (tables).
	RLS      bool
	Policies []Policy
	// Grants are every privilege each API role holds, as has_*_privilege
	// reports it: "SELECT", or column-level "INSERT(a, b)" (columns in table
	// order). A role not listed holds nothing.
	Grants map[Role][]string
	Probes []Probe
}

// QualifiedName is schema-qualified, with a function's identity arguments.
func (o *Object) QualifiedName() string {
	if o.Kind == Function {
		return "public." + o.Name + "(" + o.Args + ")"
	}
	return "public." + o.Name
}

// Holds reports whether role holds op on the object (at table or column
// level).
func (o *Object) Holds(role Role, op Op) bool { return o.HoldsFor(role, op, nil) }

// HoldsFor reports whether role may run op on the given columns: a table-wide
// grant, or a column grant that lists every one of them (any column grant
// when columns is empty).
func (o *Object) HoldsFor(role Role, op Op, columns []string) bool {
	for _, g := range o.Grants[role] {
		if g == string(op) {
			return true
		}
		list, ok := strings.CutPrefix(g, string(op)+"(")
		if !ok {
			continue
		}
		granted := map[string]bool{}
		for _, c := range strings.Split(strings.TrimSuffix(list, ")"), ",") {
			granted[strings.TrimSpace(c)] = true
		}
		all := true
		for _, c := range columns {
			all = all && granted[c]
		}
		if all {
			return true
		}
	}
	return false
}

// Probe is one column of an object's matrix: one statement against a named
// target, run by every actor.
type Probe struct {
	Op Op
	// Name is the column heading and the subtest segment; Op when empty.
	Name   string
	Target string // the fixture rows the statement touches, for reviewers
	// SQL is the statement. SELECT and EXECUTE probes return one count (the
	// rows the caller gets); the others are counted by rows affected.
	SQL  string
	Args []Ref
	// Columns are the columns the statement writes, where column grants
	// decide whether a role holds the privilege at all.
	Columns []string
	// ReadOnly runs the request READ ONLY, as PostgREST runs GET requests
	// and STABLE functions. SELECT probes always are.
	ReadOnly bool
	// OnBehalfOf is what Self means for actors without a user (anon,
	// service_role); UserCA1 when empty.
	OnBehalfOf Ref
	// NobodyMay says why no actor may succeed although roles hold the
	// privilege (the refusing direction is then the only one).
	NobodyMay string
	// IDs are the requirement IDs every cell of the probe proves; CellIDs
	// add IDs for single actors.
	IDs     []string
	CellIDs map[ActorKey][]string
	Expect  Expectations
}

// Title is the probe's column heading.
func (p *Probe) Title() string {
	if p.Name != "" {
		return p.Name
	}
	return string(p.Op)
}

// IsReadOnly reports whether the generator runs the probe READ ONLY.
func (p *Probe) IsReadOnly() bool { return p.ReadOnly || p.Op == Select }

// Counts reports whether the probe's statement returns a count (rather than
// being measured by rows affected).
func (p *Probe) Counts() bool { return p.Op == Select || p.Op == Execute }

// Behalf is what Self resolves to for actors without a user.
func (p *Probe) Behalf() Ref {
	if p.OnBehalfOf != "" {
		return p.OnBehalfOf
	}
	return UserCA1
}

// CellIDsOf are the requirement IDs of one cell, probe-wide first.
func (p *Probe) CellIDsOf(a ActorKey) []string {
	ids := slices.Clone(p.IDs)
	for _, id := range p.CellIDs[a] {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// Expectations map every actor to the outcome of its cell.
type Expectations map[ActorKey]Outcome

// everyone expects o of every actor; refine it with set.
func everyone(o Outcome) Expectations {
	e := Expectations{}
	for _, a := range Actors {
		e[a.Key] = o
	}
	return e
}

// set expects o of the given actors.
func (e Expectations) set(o Outcome, keys ...ActorKey) Expectations {
	for _, k := range keys {
		e[k] = o
	}
	return e
}

// Helper is a function in the unexposed schema private that an API role may
// execute (policies and RPCs call it as the caller). PostgREST does not
// expose the schema, so helpers get no cells, but their grants are declared
// and checked against the catalog like every other privilege.
type Helper struct {
	Name   string
	Args   string
	Grants map[Role][]string
	About  string
}

// Schema declares the API roles' privileges on a schema.
type Schema struct {
	Name   string
	Grants map[Role][]string
}

// Spec is the whole matrix.
type Spec struct {
	Actors  []Actor
	World   []Fixture
	Objects []Object
	Helpers []Helper
	Schemas []Schema
}

// CellLeaf is the last segment of a cell's subtest name: the actor and the
// requirement IDs the cell proves.
func CellLeaf(p *Probe, a *Actor) string {
	ids := p.CellIDsOf(a.Key)
	if len(ids) == 0 {
		return string(a.Key)
	}
	return string(a.Key) + " " + strings.Join(ids, " ")
}

// CellKey identifies a cell in Results: "<object>/<probe>/<actor>".
func CellKey(o *Object, p *Probe, a *Actor) string {
	return o.Name + "/" + p.Title() + "/" + string(a.Key)
}

// Cells counts the cells of the spec.
func (s *Spec) Cells() int {
	n := 0
	for _, o := range s.Objects {
		n += len(o.Probes) * len(s.Actors)
	}
	return n
}
