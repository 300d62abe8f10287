package mutation

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// catalogQuery digests what the mutants change: the mutated schemas'
// relations (RLS flags, ACLs), columns (NOT NULL, defaults, ACLs),
// constraints, indexes, policies, triggers (definition and firing mode),
// functions (definition, ACL, settings), the schemas' ACLs and the
// database's.
const catalogQuery = `SELECT md5(concat_ws(E'\n',
	(SELECT string_agg(concat_ws(' ', c.oid::regclass, c.relkind, c.relrowsecurity, c.relforcerowsecurity, c.relacl), E'\n' ORDER BY c.oid::regclass::text)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY ($1)),
	(SELECT string_agg(concat_ws(' ', a.attrelid::regclass, a.attname, a.attnotnull, a.attacl, pg_get_expr(d.adbin, d.adrelid)), E'\n'
			ORDER BY a.attrelid::regclass::text, a.attnum)
		FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
		WHERE n.nspname = ANY ($1) AND a.attnum > 0 AND NOT a.attisdropped),
	(SELECT string_agg(concat_ws(' ', k.conrelid::regclass, k.conname, pg_get_constraintdef(k.oid)), E'\n' ORDER BY k.conrelid::regclass::text, k.conname)
		FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace WHERE n.nspname = ANY ($1)),
	(SELECT string_agg(pg_get_indexdef(i.indexrelid), E'\n' ORDER BY i.indexrelid::regclass::text)
		FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY ($1)),
	(SELECT string_agg(concat_ws(' ', p.schemaname, p.tablename, p.policyname, p.permissive, p.roles, p.cmd, p.qual, p.with_check), E'\n'
			ORDER BY p.schemaname, p.tablename, p.policyname)
		FROM pg_policies p WHERE p.schemaname = ANY ($1)),
	(SELECT string_agg(concat_ws(' ', pg_get_triggerdef(t.oid), t.tgenabled), E'\n' ORDER BY t.tgrelid::regclass::text, t.tgname)
		FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = ANY ($1) AND NOT t.tgisinternal),
	(SELECT string_agg(concat_ws(' ', pg_get_functiondef(p.oid), p.proacl), E'\n' ORDER BY p.oid::regprocedure::text)
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = ANY ($1) AND p.prokind = 'f'),
	(SELECT string_agg(concat_ws(' ', n.nspname, n.nspacl), E'\n' ORDER BY n.nspname) FROM pg_namespace n WHERE n.nspname = ANY ($1)),
	(SELECT coalesce(d.datacl::text, 'default') FROM pg_database d WHERE d.datname = current_database())))`

// distinct keeps, of mutants (sorted by ID), those that change the catalog
// (catalogQuery) and whose changed catalog no earlier mutant produced. Each
// is applied in a transaction on conn, which is rolled back. A mutant that
// does not apply is kept: the run reports it as its own error.
func distinct(ctx context.Context, conn *pgx.Conn, mutants []Mutant) ([]Mutant, error) {
	digest := func(q pgx.Tx) (string, error) {
		var s string
		err := q.QueryRow(ctx, catalogQuery, Schemas).Scan(&s)
		return s, err
	}
	var base string
	if err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) (err error) { base, err = digest(tx); return err }); err != nil {
		return nil, fmt.Errorf("mutation: catalog digest: %w", err)
	}
	seen := map[string]string{base: "the unmutated schema"}
	var out []Mutant
	for _, m := range mutants {
		var sum string
		var applied bool
		tx, err := conn.Begin(ctx)
		if err != nil {
			return nil, err
		}
		if _, err := tx.Exec(ctx, "SAVEPOINT mutant"); err != nil {
			_ = tx.Rollback(ctx)
			return nil, err
		}
		if _, err := tx.Exec(ctx, m.SQL); err == nil {
			applied = true
			if sum, err = digest(tx); err != nil {
				_ = tx.Rollback(ctx)
				return nil, fmt.Errorf("mutation: catalog digest after %s: %w", m.ID, err)
			}
		}
		if err := tx.Rollback(ctx); err != nil {
			return nil, err
		}
		if applied {
			if _, dup := seen[sum]; dup {
				continue
			}
			seen[sum] = m.ID
		}
		out = append(out, m)
	}
	return out, nil
}
