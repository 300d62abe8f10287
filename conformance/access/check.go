package access

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/mentordb/mentordb/conformance/report"
)

// Validate checks the spec against itself, before any database is involved:
//   - every table has probes for every table operation, every function has
//     EXECUTE probes only, and every probe has an expectation for exactly
//     every actor;
//   - every expectation agrees with the declared grants: an actor whose role
//     lacks the privilege expects NoGrant, and one whose role holds it does
//     not;
//   - both directions: a probe of a privilege some role holds has at least
//     one allowed and one refused cell;
//   - every fixture reference is in the world, every requirement ID is one of
//     DESIGN.md's, and names are unique.
func (s *Spec) Validate() error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	actors := map[ActorKey]bool{}
	for _, a := range s.Actors {
		if actors[a.Key] {
			fail("actor %s declared twice", a.Key)
		}
		actors[a.Key] = true
		if !slices.Contains(APIRoles, a.Role) {
			fail("actor %s: role %q is not an API role", a.Key, a.Role)
		}
		if a.Role == Authenticated && a.User == "" && !a.Revoked {
			fail("actor %s: signed in without a user", a.Key)
		}
		if a.Role != Authenticated && (a.User != "" || a.Claim != "") {
			fail("actor %s: %s carries no user or claim", a.Key, a.Role)
		}
	}
	world := map[Ref]bool{Self: true}
	for _, f := range s.World {
		if world[f.Ref] {
			fail("fixture %q declared twice", f.Ref)
		}
		world[f.Ref] = true
	}
	for _, a := range s.Actors {
		for _, r := range []Ref{a.User, a.Claim} {
			if r != "" && !world[r] {
				fail("actor %s: unknown fixture %q", a.Key, r)
			}
		}
	}
	known := map[string]bool{}
	for _, r := range report.Requirements {
		known[r.ID] = true
	}

	objects := map[string]bool{}
	for i := range s.Objects {
		o := &s.Objects[i]
		if objects[o.Name] {
			fail("object %s declared twice", o.Name)
		}
		objects[o.Name] = true
		for role, grants := range o.Grants {
			if !slices.Contains(APIRoles, role) {
				fail("%s: grants to %q, not an API role", o.Name, role)
			}
			for _, g := range grants {
				if o.Kind == Function && g != "EXECUTE" || o.Kind == Table && g == "EXECUTE" {
					fail("%s: grant %q to %s does not apply to a %s", o.Name, g, role, o.Kind)
				}
			}
		}
		ops := map[Op]bool{}
		titles := map[string]bool{}
		for j := range o.Probes {
			p := &o.Probes[j]
			where := o.Name + "/" + p.Title()
			ops[p.Op] = true
			if titles[p.Title()] {
				fail("%s: probe declared twice", where)
			}
			titles[p.Title()] = true
			if o.Kind == Function && p.Op != Execute || o.Kind == Table && p.Op == Execute {
				fail("%s: %s does not apply to a %s", where, p.Op, o.Kind)
			}
			if p.SQL == "" || p.Target == "" {
				fail("%s: needs SQL and a target", where)
			}
			if !strings.Contains(p.SQL, "public."+o.Name) {
				fail("%s: the statement does not name public.%s", where, o.Name)
			}
			if p.Counts() != strings.HasPrefix(p.SQL, "SELECT count(*) FROM ") {
				fail("%s: SELECT and EXECUTE probes are SELECT count(*) FROM ..., others are not", where)
			}
			for _, r := range append(slices.Clone(p.Args), p.Behalf()) {
				if !world[r] {
					fail("%s: unknown fixture %q", where, r)
				}
			}
			for _, id := range p.IDs {
				if !known[id] {
					fail("%s: unknown requirement ID %s", where, id)
				}
			}
			for k, list := range p.CellIDs {
				if !actors[k] {
					fail("%s: IDs for unknown actor %s", where, k)
				}
				for _, id := range list {
					if !known[id] {
						fail("%s/%s: unknown requirement ID %s", where, k, id)
					}
				}
			}
			for k := range p.Expect {
				if !actors[k] {
					fail("%s: expectation for unknown actor %s", where, k)
				}
			}
			allowed, refused := 0, 0
			for _, a := range s.Actors {
				e, ok := p.Expect[a.Key]
				if !ok {
					fail("%s: no expectation for actor %s", where, a.Key)
					continue
				}
				switch e.Kind {
				case Allowed:
					allowed++
					if e.Rows < 1 {
						fail("%s/%s: allowed with %d rows; use Zero", where, a.Key, e.Rows)
					}
				case ZeroRows:
					refused++
				case Denied:
					refused++
					if len(e.SQLState) != 5 || e.Rule == "" {
						fail("%s/%s: a denial needs a SQLSTATE and a rule", where, a.Key)
					}
				default:
					fail("%s/%s: no outcome", where, a.Key)
				}
				holds := o.HoldsFor(a.Role, p.Op, p.Columns)
				if !holds && e != NoGrant {
					fail("%s/%s: %s holds no %s on %s, so the cell must expect %v, not %v", where, a.Key, a.Role, p.Op, o.Name, NoGrant, e)
				}
				if holds && e == NoGrant {
					fail("%s/%s: %s holds %s on %s, so the cell cannot expect %v", where, a.Key, a.Role, p.Op, o.Name, e)
				}
			}
			anyHolds := false
			for _, r := range APIRoles {
				anyHolds = anyHolds || o.HoldsFor(r, p.Op, p.Columns)
			}
			switch {
			case p.NobodyMay != "" && allowed > 0:
				fail("%s: declared NobodyMay, yet %d cells are allowed", where, allowed)
			case p.NobodyMay == "" && anyHolds && (allowed == 0 || refused == 0):
				fail("%s: a privilege some role holds needs both directions (allowed %d, refused %d)", where, allowed, refused)
			}
		}
		switch o.Kind {
		case Table:
			for _, op := range TableOps {
				if !ops[op] {
					fail("%s: no %s probe", o.Name, op)
				}
			}
			if len(o.Policies) > 0 && !o.RLS {
				fail("%s: policies without RLS", o.Name)
			}
		case Function:
			if !ops[Execute] {
				fail("%s: no EXECUTE probe", o.Name)
			}
			if o.Args == "" {
				fail("%s: a function needs its identity arguments", o.Name)
			}
		default:
			fail("%s: unknown kind %q", o.Name, o.Kind)
		}
	}
	return errors.Join(errs...)
}

// Facts are the spec's catalog facts, one line each, in the form the
// conformance suite derives from pg_catalog: which objects schema public
// holds, RLS, every policy, and every privilege each API role holds on
// public's objects, on private's functions and on both schemas. Equal
// facts mean the spec and the database agree; a line on one side only is
// drift.
func (s *Spec) Facts() []string {
	var out []string
	grants := func(subject string, g map[Role][]string) {
		for _, r := range APIRoles {
			for _, p := range g[r] {
				out = append(out, fmt.Sprintf("grant %s to %s: %s", subject, r, p))
			}
		}
	}
	for _, sc := range s.Schemas {
		grants("schema "+sc.Name, sc.Grants)
	}
	for i := range s.Objects {
		o := &s.Objects[i]
		switch o.Kind {
		case Table:
			out = append(out, fmt.Sprintf("table %s rls=%t", o.QualifiedName(), o.RLS))
			for _, p := range o.Policies {
				out = append(out, PolicyFact(o.Name, p.Name, true, p.Cmd, p.Roles))
			}
			grants("table "+o.QualifiedName(), o.Grants)
		case Function:
			out = append(out, fmt.Sprintf("function %s security_definer=%t", o.QualifiedName(), o.SecurityDefiner))
			grants("function "+o.QualifiedName(), o.Grants)
		}
	}
	for _, h := range s.Helpers {
		grants("function private."+h.Name+"("+h.Args+")", h.Grants)
	}
	sort.Strings(out)
	return out
}

// PolicyFact is the fact line of one policy on a table in public.
func PolicyFact(table, name string, permissive bool, cmd string, roles []string) string {
	kind := "RESTRICTIVE"
	if permissive {
		kind = "PERMISSIVE"
	}
	r := slices.Clone(roles)
	sort.Strings(r)
	return fmt.Sprintf("policy public.%s %s %s FOR %s TO %s", table, name, kind, cmd, strings.Join(r, ","))
}

// Diff returns the lines only in want (the spec) and only in got (the
// catalog).
func Diff(want, got []string) (onlySpec, onlyCatalog []string) {
	w, g := map[string]bool{}, map[string]bool{}
	for _, l := range want {
		w[l] = true
	}
	for _, l := range got {
		g[l] = true
	}
	for _, l := range want {
		if !g[l] {
			onlySpec = append(onlySpec, l)
		}
	}
	for _, l := range got {
		if !w[l] {
			onlyCatalog = append(onlyCatalog, l)
		}
	}
	return onlySpec, onlyCatalog
}
