package review

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/mentordb/mentordb/internal/harness/schemadump"
)

// CatalogDelta is what pg_dump shows changed between the two schemas: one
// entry per object (a table with its columns and inline CHECKs, a
// constraint, an index, a policy, the ACL of an object, a function with its
// security, search_path and body, a trigger, ...).
type CatalogDelta struct {
	Added   []schemadump.Entry `json:"added"`
	Dropped []schemadump.Entry `json:"dropped"`
	Changed []Changed          `json:"changed"`
}

// Changed is an entry both sides hold with different SQL.
type Changed struct {
	Type   string `json:"type"`
	Schema string `json:"schema"`
	Name   string `json:"name"`
	Base   string `json:"base"`
	Head   string `json:"head"`
}

// Title names the entry as schemadump.Entry.Title does.
func (c Changed) Title() string {
	return schemadump.Entry{Type: c.Type, Schema: c.Schema, Name: c.Name}.Title()
}

func (d *CatalogDelta) empty() bool {
	return d == nil || len(d.Added)+len(d.Dropped)+len(d.Changed) == 0
}

// diffEntries compares two dumps by entry key.
func diffEntries(base, head []schemadump.Entry) *CatalogDelta {
	b, h := map[string]schemadump.Entry{}, map[string]schemadump.Entry{}
	for _, e := range base {
		b[e.Key()] = e
	}
	for _, e := range head {
		h[e.Key()] = e
	}
	d := &CatalogDelta{}
	for _, e := range head {
		old, ok := b[e.Key()]
		switch {
		case !ok:
			d.Added = append(d.Added, e)
		case old.SQL != e.SQL:
			d.Changed = append(d.Changed, Changed{Type: e.Type, Schema: e.Schema, Name: e.Name, Base: old.SQL, Head: e.SQL})
		}
	}
	for _, e := range base {
		if _, ok := h[e.Key()]; !ok {
			d.Dropped = append(d.Dropped, e)
		}
	}
	return d
}

// related are the delta's entries about one object of schema public (its
// ACLs, column ACLs, policies, RLS, triggers, the object itself), as
// "added|dropped|changed <title>" lines with the head's (or base's) SQL.
func (d *CatalogDelta) related(name string, isFunction bool) []string {
	if d == nil {
		return nil
	}
	match := func(typ, schema, n string) bool {
		if schema != "public" {
			return false
		}
		if isFunction {
			return (typ == "FUNCTION" && strings.HasPrefix(n, name+"(")) || (typ == "ACL" && strings.HasPrefix(n, "FUNCTION "+name+"("))
		}
		switch typ {
		case "ACL":
			return n == "TABLE "+name || strings.HasPrefix(n, "COLUMN "+name+".")
		case "POLICY", "TRIGGER":
			return strings.HasPrefix(n, name+" ")
		case "ROW SECURITY", "TABLE":
			return n == name
		}
		return false
	}
	var out []string
	for _, e := range d.Added {
		if match(e.Type, e.Schema, e.Name) {
			out = append(out, "added "+e.Title()+": "+e.SQL)
		}
	}
	for _, e := range d.Dropped {
		if match(e.Type, e.Schema, e.Name) {
			out = append(out, "dropped "+e.Title()+" (was: "+e.SQL+")")
		}
	}
	for _, c := range d.Changed {
		if match(c.Type, c.Schema, c.Name) {
			out = append(out, "changed "+c.Title()+": "+c.Head)
		}
	}
	return out
}

// changedFunctions are the functions the delta adds, drops or changes
// outside public (the helpers policies and triggers call).
func (d *CatalogDelta) changedFunctions() []string {
	if d == nil {
		return nil
	}
	var out []string
	for _, e := range d.Added {
		if e.Type == "FUNCTION" {
			out = append(out, "added "+e.Title())
		}
	}
	for _, e := range d.Dropped {
		if e.Type == "FUNCTION" {
			out = append(out, "dropped "+e.Title())
		}
	}
	for _, c := range d.Changed {
		if c.Type == "FUNCTION" {
			out = append(out, "changed "+c.Title())
		}
	}
	return out
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// userSchemas are the schemas the checks read: not PostgreSQL's own, not
// the migration history's.
const userSchemas = `n.nspname NOT IN ('pg_catalog', 'information_schema', 'supabase_migrations') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'`

// ExposedSchemas are the schemas the Data API serves (PostgREST's
// db-schemas on Supabase: public; graphql_public holds no tables of ours).
var ExposedSchemas = []string{"public"}

// pairs runs a two-column query into a map (first column the key).
func pairs(ctx context.Context, q querier, sql string, args ...any) (map[string]string, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return nil, err
		}
		out[k] = v
	}
	return out, rows.Err()
}

// guarantees are the head's facts that fail a review wherever they hold:
// tables of an exposed schema without RLS, SECURITY DEFINER functions
// without a search_path of their own.
func guarantees(ctx context.Context, q querier, r *Report) error {
	noRLS, err := pairs(ctx, q, `SELECT format('%I.%I', n.nspname, c.relname), pg_get_userbyid(c.relowner)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY ($1) AND NOT c.relrowsecurity`, ExposedSchemas)
	if err != nil {
		return fmt.Errorf("tables without RLS: %w", err)
	}
	for _, t := range sortedKeys(noRLS) {
		r.add(Finding{Level: Fail, Rule: RuleNoRLS, Section: "catalog", Object: t,
			Message: fmt.Sprintf("%s is in an exposed schema and has row level security disabled: any grant on it gives the API roles every row", t),
			SQL:     "ALTER TABLE " + t + " ENABLE ROW LEVEL SECURITY;"})
	}
	definers, err := pairs(ctx, q, `SELECT format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)), coalesce(array_to_string(p.proconfig, ', '), '')
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE p.prosecdef AND `+userSchemas+`
		  AND NOT EXISTS (SELECT 1 FROM unnest(coalesce(p.proconfig, '{}')) AS c(setting) WHERE c.setting LIKE 'search_path=%')`)
	if err != nil {
		return fmt.Errorf("security definer functions: %w", err)
	}
	for _, f := range sortedKeys(definers) {
		r.add(Finding{Level: Fail, Rule: RuleSearchPath, Section: "catalog", Object: f,
			Message: fmt.Sprintf("%s is SECURITY DEFINER without a search_path of its own: it resolves names through its caller's search_path, with its owner's rights", f),
			SQL:     "ALTER FUNCTION " + f + " SET search_path = pg_catalog, pg_temp;"})
	}
	return nil
}

const checksQuery = `SELECT format('%I.%I %I', n.nspname, c.relname, con.conname), pg_get_constraintdef(con.oid)
	FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE con.contype = 'c' AND ` + userSchemas

const indexesQuery = `SELECT format('%I.%I', n.nspname, c.relname), pg_get_indexdef(i.indexrelid)
	FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE ` + userSchemas

// shape is what the warnings compare: every CHECK and every index.
type shape struct{ checks, indexes map[string]string }

func readShape(ctx context.Context, q querier) (shape, error) {
	checks, err := pairs(ctx, q, checksQuery)
	if err != nil {
		return shape{}, fmt.Errorf("checks: %w", err)
	}
	indexes, err := pairs(ctx, q, indexesQuery)
	if err != nil {
		return shape{}, fmt.Errorf("indexes: %w", err)
	}
	return shape{checks, indexes}, nil
}

// shapeWarnings: a dropped or redefined index, a dropped or redefined CHECK.
func shapeWarnings(base, head shape, r *Report) {
	for _, name := range sortedKeys(base.indexes) {
		def := base.indexes[name]
		now, ok := head.indexes[name]
		switch {
		case !ok:
			r.add(Finding{Level: Warn, Rule: RuleIndexDropped, Section: "catalog", Object: name,
				Message: "index " + name + " is dropped: the queries that used it plan without it", SQL: def + ";"})
		case now != def:
			r.add(Finding{Level: Warn, Rule: RuleIndexDropped, Section: "catalog", Object: name,
				Message: "index " + name + " is redefined (was: " + def + ")", SQL: now + ";"})
		}
	}
	for _, name := range sortedKeys(base.checks) {
		def := base.checks[name]
		now, ok := head.checks[name]
		switch {
		case !ok:
			r.add(Finding{Level: Warn, Rule: RuleCheckChanged, Section: "catalog", Object: name,
				Message: "CHECK " + name + " is dropped (was: " + def + ")", SQL: def})
		case now != def:
			r.add(Finding{Level: Warn, Rule: RuleCheckChanged, Section: "catalog", Object: name,
				Message: "CHECK " + name + " changed from " + def + " to " + now, SQL: now})
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
