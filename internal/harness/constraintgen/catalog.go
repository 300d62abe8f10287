// Package constraintgen reads, from a migrated mentordb database, every name
// PostgreSQL can report in an error's constraint field, and writes them as Go
// constants of package db (db/constraints_gen.go). `make generate` runs it
// (cmd/gen-constraints); a conformance test (DB-ERR-1) regenerates the file
// from the test template and fails when the committed one differs, and
// checks that db turns every name into a typed error.
//
// The names are those of the catalog's constraints on the public schema
// (pg_constraint) and those the PL/pgSQL functions of the public and private
// schemas raise with RAISE ... USING CONSTRAINT = '<name>' or TG_NAME (the
// name of each trigger that calls the function). Function bodies are parsed
// under the conventions of HACKING.md; a RAISE outside them is an error here.
package constraintgen

import (
	"context"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"
)

// Querier is what Read needs of a connection or pool.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Name is one name an error can carry.
type Name struct {
	Name string
	// Sources say where it comes from, e.g. "CHECK on public.organizations"
	// or "raised by private.f()".
	Sources []string
	// Codes are the SQLSTATEs an error with this name carries.
	Codes []string
}

// Catalog is what a database raises by name, plus the SQLSTATEs its
// functions raise without a name.
type Catalog struct {
	Names []Name
	// Unnamed maps a SQLSTATE raised without CONSTRAINT to the functions
	// raising it.
	Unnamed map[string][]string
}

// Schemas whose functions are read for RAISE statements: mentordb's own. The
// platform's (auth, extensions) are not mentordb's to type.
var functionSchemas = []string{"public", "private"}

const constraintsQuery = `
SELECT con.conname::text,
       con.contype::text,
       n.nspname || '.' || coalesce(c.relname, t.typname)::text
FROM pg_constraint con
JOIN pg_namespace n ON n.oid = con.connamespace
LEFT JOIN pg_class c ON c.oid = con.conrelid
LEFT JOIN pg_type t ON t.oid = con.contypid
WHERE n.nspname = 'public'`

const functionsQuery = `
SELECT n.nspname || '.' || p.proname || '()',
       p.prosrc,
       ARRAY(SELECT tg.tgname::text FROM pg_trigger tg WHERE tg.tgfoid = p.oid AND NOT tg.tgisinternal ORDER BY 1)
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE n.nspname = ANY ($1) AND l.lanname = 'plpgsql'
ORDER BY 1`

// contypes: what each kind of declarative constraint is called and the
// SQLSTATE a violation carries. Constraint triggers ('t') carry what their
// function raises.
var contypes = map[string]struct{ label, code string }{
	"c": {"CHECK", "23514"},
	"f": {"FOREIGN KEY", "23503"},
	"p": {"PRIMARY KEY", "23505"},
	"u": {"UNIQUE", "23505"},
	"x": {"EXCLUDE", "23P01"},
	"t": {"CONSTRAINT TRIGGER", ""},
}

// Read reads the catalog of the database q is connected to.
func Read(ctx context.Context, q Querier) (*Catalog, error) {
	names := map[string]*Name{}
	add := func(name, source, code string) {
		n := names[name]
		if n == nil {
			n = &Name{Name: name}
			names[name] = n
		}
		n.Sources = appendNew(n.Sources, source)
		if code != "" {
			n.Codes = appendNew(n.Codes, code)
		}
	}

	rows, err := q.Query(ctx, constraintsQuery)
	if err != nil {
		return nil, fmt.Errorf("read constraints: %w", err)
	}
	type con struct{ name, typ, table string }
	cons, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (con, error) {
		var c con
		return c, r.Scan(&c.name, &c.typ, &c.table)
	})
	if err != nil {
		return nil, fmt.Errorf("read constraints: %w", err)
	}
	for _, c := range cons {
		k, ok := contypes[c.typ]
		if !ok {
			return nil, fmt.Errorf("constraint %s on %s: unknown kind %q", c.name, c.table, c.typ)
		}
		add(c.name, k.label+" on "+c.table, k.code)
	}

	rows, err = q.Query(ctx, functionsQuery, functionSchemas)
	if err != nil {
		return nil, fmt.Errorf("read functions: %w", err)
	}
	type fn struct {
		name, src string
		triggers  []string
	}
	fns, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (fn, error) {
		var f fn
		return f, r.Scan(&f.name, &f.src, &f.triggers)
	})
	if err != nil {
		return nil, fmt.Errorf("read functions: %w", err)
	}
	unnamed := map[string][]string{}
	for _, f := range fns {
		rs, err := raises(f.src)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
		for _, r := range rs {
			switch {
			case r.NameIsTrigger:
				if len(f.triggers) == 0 {
					return nil, fmt.Errorf("%s raises CONSTRAINT = TG_NAME but no trigger calls it", f.name)
				}
				for _, tg := range f.triggers {
					add(tg, "raised by "+f.name+" as TG_NAME", r.Code)
				}
			case r.Name != "":
				add(r.Name, "raised by "+f.name, r.Code)
			default:
				unnamed[r.Code] = appendNew(unnamed[r.Code], f.name)
			}
		}
	}

	cat := &Catalog{Unnamed: unnamed}
	for _, n := range names {
		sort.Strings(n.Sources)
		sort.Strings(n.Codes)
		cat.Names = append(cat.Names, *n)
	}
	sort.Slice(cat.Names, func(i, j int) bool { return cat.Names[i].Name < cat.Names[j].Name })
	return cat, nil
}

func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
