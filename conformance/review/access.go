package review

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mentordb/mentordb/conformance/access"
)

// AccessDelta is what changed for the API callers: the access matrix's
// cells (actor × operation × object, as conformance/access declares them)
// run on both sides, and the API roles' privileges read from the catalog
// on both sides.
type AccessDelta struct {
	Cells    int          `json:"cells"`   // cells run on each side
	Changed  []CellChange `json:"changed"` // cells whose outcome differs
	Grants   []FactChange `json:"grants"`  // privilege, policy and RLS facts that differ
	Unknown  []string     `json:"unknown"` // exposed objects of the head that the access spec has no row for
	NotBuilt []string     `json:"not_run"` // sides whose fixture world could not be built, and why
}

// CellChange is one cell whose outcome differs between the sides.
type CellChange struct {
	Object string `json:"object"`
	Probe  string `json:"probe"`
	Actor  string `json:"actor"`
	Role   string `json:"role"`
	Target string `json:"target"`
	Base   string `json:"base"`
	Head   string `json:"head"`
	// Change is "widened" (the head allows more: a denial became rows, or
	// more rows), "narrowed", or "changed" (another denial).
	Change string `json:"change"`
	// Declared: the head's access spec expects exactly the head's outcome
	// (the branch changed the spec with the schema: intended).
	Declared    bool     `json:"declared"`
	Responsible []string `json:"responsible"`
}

// FactChange is a catalog fact (access.Spec.Facts' form) on one side only.
type FactChange struct {
	Fact     string `json:"fact"`
	Change   string `json:"change"` // "gained" or "lost"
	Declared bool   `json:"declared"`
}

func (a *AccessDelta) empty() bool {
	return a == nil || len(a.Changed)+len(a.Grants)+len(a.Unknown)+len(a.NotBuilt) == 0
}

type side struct {
	name string
	pool *pgxpool.Pool
	// cached, when not nil, holds the side's cells from an earlier run
	// (Cache) and stores them after this one.
	cached *cachedCells
}

// runCells runs every cell of spec on one side: key → outcome text.
func runCells(ctx context.Context, pool *pgxpool.Pool, spec *access.Spec) (map[string]string, error) {
	w, err := buildWorld(ctx, pool, spec)
	if err != nil {
		return nil, err
	}
	type job struct {
		o *access.Object
		p *access.Probe
		a *access.Actor
	}
	jobs := make(chan job)
	out := map[string]string{}
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				got, err := w.run(ctx, j.o, j.p, j.a)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("%s: %w", access.CellKey(j.o, j.p, j.a), err)
				}
				out[access.CellKey(j.o, j.p, j.a)] = got.String()
				mu.Unlock()
			}
		}()
	}
	for i := range spec.Objects {
		o := &spec.Objects[i]
		ok, err := exists(ctx, pool, o)
		if err != nil {
			close(jobs)
			wg.Wait()
			return nil, err
		}
		for j := range o.Probes {
			p := &o.Probes[j]
			for k := range spec.Actors {
				a := &spec.Actors[k]
				if !ok {
					mu.Lock()
					out[access.CellKey(o, p, a)] = "absent"
					mu.Unlock()
					continue
				}
				jobs <- job{o, p, a}
			}
		}
	}
	close(jobs)
	wg.Wait()
	return out, firstErr
}

// rank orders outcomes by how much they allow: a denial or absence, zero
// rows, rows (then by count).
func rank(outcome string) (int, int) {
	switch {
	case outcome == "0 rows":
		return 1, 0
	case strings.HasSuffix(outcome, " row"), strings.HasSuffix(outcome, " rows"):
		var n int
		fmt.Sscanf(outcome, "%d", &n)
		return 2, n
	}
	return 0, 0
}

func classify(base, head string) string {
	bk, bn := rank(base)
	hk, hn := rank(head)
	switch {
	case hk > bk || (hk == bk && hk == 2 && hn > bn):
		return "widened"
	case hk < bk || (hk == bk && hk == 2 && hn < bn):
		return "narrowed"
	}
	return "changed"
}

// compareAccess runs the matrix on both sides and judges every change.
func compareAccess(ctx context.Context, spec *access.Spec, base, head side, delta *CatalogDelta, r *Report) (*AccessDelta, error) {
	d := &AccessDelta{Cells: spec.Cells()}
	results := map[string]map[string]string{}
	for _, s := range []side{base, head} {
		res, err := s.cached.get(func() (map[string]string, error) { return runCells(ctx, s.pool, spec) })
		if err != nil {
			d.NotBuilt = append(d.NotBuilt, s.name+": "+err.Error())
			r.add(Finding{Level: Warn, Rule: RuleNotRun, Section: "access", Object: s.name,
				Message: "the access matrix did not run on the " + s.name + ": " + err.Error()})
			continue
		}
		results[s.name] = res
	}
	if b, h := results[base.name], results[head.name]; b != nil && h != nil {
		for i := range spec.Objects {
			o := &spec.Objects[i]
			for j := range o.Probes {
				p := &o.Probes[j]
				for k := range spec.Actors {
					a := &spec.Actors[k]
					key := access.CellKey(o, p, a)
					if b[key] == h[key] {
						continue
					}
					c := CellChange{Object: o.QualifiedName(), Probe: p.Title(), Actor: string(a.Key), Role: string(a.Role),
						Target: p.Target, Base: b[key], Head: h[key], Change: classify(b[key], h[key]),
						Declared: p.Expect[a.Key].String() == h[key]}
					c.Responsible = delta.related(o.Name, o.Kind == access.Function)
					if len(c.Responsible) == 0 {
						c.Responsible = delta.changedFunctions()
					}
					d.Changed = append(d.Changed, c)
					cell := fmt.Sprintf("%s / %s / %s", o.QualifiedName(), p.Title(), a.Key)
					msg := fmt.Sprintf("%s: %s %s → %s (%s)", cell, c.Change, c.Base, c.Head, a.Label)
					switch {
					case c.Declared:
						r.add(Finding{Level: Info, Rule: RuleAccessIntended, Section: "access", Object: cell, Message: msg + "; the head's access spec declares it"})
					case c.Change == "widened":
						r.add(Finding{Level: Fail, Rule: RuleAccessWidened, Section: "access", Object: cell,
							Message: msg + "; the head's access spec expects " + p.Expect[a.Key].String(), SQL: strings.Join(c.Responsible, "\n")})
					default:
						r.add(Finding{Level: Warn, Rule: RuleAccessChanged, Section: "access", Object: cell,
							Message: msg + "; the head's access spec expects " + p.Expect[a.Key].String(), SQL: strings.Join(c.Responsible, "\n")})
					}
				}
			}
		}
	}

	// Privileges, policies and RLS, for every object, specified or not.
	bf, err := catalogFacts(ctx, base.pool)
	if err != nil {
		return nil, err
	}
	hf, err := catalogFacts(ctx, head.pool)
	if err != nil {
		return nil, err
	}
	declared := spec.Facts()
	lost, gained := access.Diff(bf, hf)
	for _, f := range gained {
		fc := FactChange{Fact: f, Change: "gained", Declared: slices.Contains(declared, f)}
		d.Grants = append(d.Grants, fc)
		switch {
		case fc.Declared:
			r.add(Finding{Level: Info, Rule: RuleAccessIntended, Section: "access", Object: f, Message: "gained, as the head's access spec declares: " + f})
		case strings.HasPrefix(f, "grant "):
			r.add(Finding{Level: Fail, Rule: RuleAccessWidened, Section: "access", Object: factObject(f), Message: "gained, and the head's access spec does not declare it: " + f})
		default:
			r.add(Finding{Level: Warn, Rule: RuleAccessChanged, Section: "access", Object: factObject(f), Message: "new, and the head's access spec does not declare it: " + f})
		}
	}
	for _, f := range lost {
		fc := FactChange{Fact: f, Change: "lost", Declared: !slices.Contains(declared, f)}
		d.Grants = append(d.Grants, fc)
		if !fc.Declared {
			r.add(Finding{Level: Warn, Rule: RuleAccessChanged, Section: "access", Object: factObject(f), Message: "lost, though the head's access spec still declares it: " + f})
		}
	}
	// Exposed objects the spec has no row for.
	known := map[string]bool{}
	for _, o := range spec.Objects {
		known[o.QualifiedName()] = true
	}
	for _, f := range hf {
		obj := factObject(f)
		if (strings.HasPrefix(f, "table public.") || strings.HasPrefix(f, "function public.") || strings.HasPrefix(f, "relation public.")) && !known[obj] {
			d.Unknown = append(d.Unknown, obj)
			r.add(Finding{Level: Warn, Rule: RuleUnspecified, Section: "access", Object: obj,
				Message: obj + " is exposed (schema public) and has no row in the access spec (conformance/access/spec.go): no cell says who may do what to it"})
		}
	}
	return d, nil
}

// factObject is the qualified object a fact line is about.
func factObject(f string) string {
	for _, p := range []string{"grant table ", "grant function ", "grant sequence ", "grant schema ", "table ", "function ", "relation ", "policy "} {
		if rest, ok := strings.CutPrefix(f, p); ok {
			if i := strings.Index(rest, " to "); i >= 0 && strings.HasPrefix(p, "grant ") {
				return rest[:i]
			}
			if i := strings.LastIndex(rest, " security_definer="); i >= 0 {
				return rest[:i]
			}
			name, _, _ := strings.Cut(rest, " ")
			return name
		}
	}
	return f
}

// catalogFacts are access.Spec.Facts' lines as pg_catalog gives them
// (the Access suite's catalog drift check reads the same): objects of
// public, RLS, policies, and every privilege each API role holds on the
// objects of public and private and on both schemas.
func catalogFacts(ctx context.Context, pool *pgxpool.Pool) ([]string, error) {
	const roles = `(VALUES ('anon'), ('authenticated'), ('service_role')) AS r(role)`
	queries := []string{
		`SELECT CASE WHEN c.relkind IN ('r', 'p') THEN format('table public.%s rls=%s', c.relname, c.relrowsecurity::text)
			ELSE format('relation public.%s kind=%s', c.relname, c.relkind) END
		FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`,
		`SELECT format('grant table public.%s to %s: %s', c.relname, r.role, p.priv)
		FROM pg_class c CROSS JOIN ` + roles + `
		CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) AS p(priv)
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
			AND has_table_privilege(r.role, c.oid, p.priv)`,
		`SELECT format('grant table public.%s to %s: %s(%s)', c.relname, r.role, p.priv, string_agg(a.attname, ', ' ORDER BY a.attnum))
		FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		CROSS JOIN ` + roles + `
		CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'REFERENCES']) AS p(priv)
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
			AND NOT has_table_privilege(r.role, c.oid, p.priv)
			AND has_column_privilege(r.role, c.oid, a.attnum, p.priv)
		GROUP BY c.relname, r.role, p.priv`,
		`SELECT format('grant sequence public.%s to %s: %s', c.relname, r.role, p.priv)
		FROM pg_class c CROSS JOIN ` + roles + ` CROSS JOIN unnest(ARRAY['USAGE', 'SELECT', 'UPDATE']) AS p(priv)
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'S' AND has_sequence_privilege(r.role, c.oid, p.priv)`,
		`SELECT format('function public.%s(%s) security_definer=%s', p.proname, pg_get_function_identity_arguments(p.oid), p.prosecdef::text)
		FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace`,
		`SELECT format('grant function %s.%s(%s) to %s: EXECUTE', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), r.role)
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace CROSS JOIN ` + roles + `
		WHERE n.nspname IN ('public', 'private') AND has_function_privilege(r.role, p.oid, 'EXECUTE')`,
		`SELECT format('grant schema %s to %s: %s', n.nspname, r.role, p.priv)
		FROM pg_namespace n CROSS JOIN ` + roles + ` CROSS JOIN unnest(ARRAY['USAGE', 'CREATE']) AS p(priv)
		WHERE n.nspname IN ('public', 'private') AND has_schema_privilege(r.role, n.oid, p.priv)`,
	}
	var facts []string
	for _, q := range queries {
		rows, err := pool.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("catalog facts: %w", err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, fmt.Errorf("catalog facts: %w", err)
		}
		facts = append(facts, lines...)
	}
	rows, err := pool.Query(ctx, `SELECT tablename::text, policyname::text, permissive = 'PERMISSIVE', cmd, roles::text[]
		FROM pg_policies WHERE schemaname = 'public'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var table, name, cmd string
		var permissive bool
		var pr []string
		if err := rows.Scan(&table, &name, &permissive, &cmd, &pr); err != nil {
			return nil, err
		}
		facts = append(facts, access.PolicyFact(table, name, permissive, cmd, pr))
	}
	return facts, rows.Err()
}
