package mutation

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Schemas whose objects are mutated.
var Schemas = []string{"public", "private"}

// APIRoles are the roles PostgREST acts as; grants to them are mutated.
var APIRoles = []string{"anon", "authenticated", "service_role"}

// tablePrivileges and columnPrivileges are those PostgreSQL grants on them.
var (
	tablePrivileges  = []string{"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"}
	columnPrivileges = []string{"SELECT", "INSERT", "UPDATE", "REFERENCES"}
)

// Generate reads the catalog of the migrated database conn is connected to
// and returns every mutant, sorted by ID, those of the Pending families only
// when pending is set. It sets search_path to ” on conn so that every name
// it prints is schema-qualified.
func Generate(ctx context.Context, conn *pgx.Conn, pending bool) ([]Mutant, error) {
	if _, err := conn.Exec(ctx, `SET search_path = ''`); err != nil {
		return nil, err
	}
	g := &generator{ctx: ctx, conn: conn}
	steps := []func() error{g.policies, g.rls, g.grants, g.checks, g.foreignKeys, g.notNulls, g.triggers, g.indexes, g.functions,
		g.schemaPrivileges, g.databasePrivileges, g.policyDefinitions, g.forceRLS, g.triggerDefinitions, g.keys, g.defaults}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	if !pending {
		kept := g.out[:0]
		for _, m := range g.out {
			if _, ok := Pending[m.Family]; !ok {
				kept = append(kept, m)
			}
		}
		g.out = kept
	}
	sort.Slice(g.out, func(i, j int) bool { return g.out[i].ID < g.out[j].ID })
	seen := map[string]bool{}
	for _, m := range g.out {
		if seen[m.ID] {
			return nil, fmt.Errorf("mutation: two mutants with ID %s", m.ID)
		}
		seen[m.ID] = true
	}
	return g.out, nil
}

type generator struct {
	ctx  context.Context
	conn *pgx.Conn
	out  []Mutant
}

func (g *generator) add(m Mutant) { g.out = append(g.out, m) }

// rows runs q with the mutated schemas as $1 and scans every row into dest
// pointers given by scan.
func (g *generator) rows(q string, scan func(pgx.CollectableRow) error, args ...any) error {
	rows, err := g.conn.Query(g.ctx, q, append([]any{Schemas}, args...)...)
	if err != nil {
		return fmt.Errorf("mutation: catalog query: %w\n%s", err, q)
	}
	_, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (struct{}, error) { return struct{}{}, scan(r) })
	if err != nil {
		return fmt.Errorf("mutation: catalog query: %w\n%s", err, q)
	}
	return nil
}

func (g *generator) policies() error {
	const q = `SELECT c.oid::regclass::text, c.relname::text, p.polname::text, p.polqual IS NOT NULL, p.polwithcheck IS NOT NULL,
			p.polcmd::text
		FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = ANY ($1)`
	return g.rows(q, func(r pgx.CollectableRow) error {
		var table, rel, name, cmd string
		var using, check bool
		if err := r.Scan(&table, &rel, &name, &using, &check, &cmd); err != nil {
			return err
		}
		obj := table + "." + name
		on := fmt.Sprintf("%s ON %s", pgx.Identifier{name}.Sanitize(), table)
		base := Mutant{Object: obj, Observers: []string{rel}, APIRoles: true,
			Focus: []Focus{{Objects: []string{rel}, Commands: policyCommands[cmd]}}}
		if using {
			m := base
			m.ID, m.Family, m.SQL = id(PolicyUsingTrue, obj), PolicyUsingTrue, "ALTER POLICY "+on+" USING (true)"
			g.add(m)
		}
		if check {
			m := base
			m.ID, m.Family, m.SQL = id(PolicyCheckTrue, obj), PolicyCheckTrue, "ALTER POLICY "+on+" WITH CHECK (true)"
			g.add(m)
		}
		m := base
		m.ID, m.Family, m.SQL = id(PolicyDrop, obj), PolicyDrop, "DROP POLICY "+on
		g.add(m)
		return nil
	})
}

// policyCommands are the statements a policy applies to, by pg_policy's
// polcmd; ALL ('*') is any.
var policyCommands = map[string][]string{"r": {"SELECT"}, "a": {"INSERT"}, "w": {"UPDATE"}, "d": {"DELETE"}}

// privilegeCommands are the statements that use a privilege; REFERENCES
// is used only by DDL, which any command may be.
var privilegeCommands = map[string][]string{
	"SELECT": {"SELECT"}, "INSERT": {"INSERT"}, "UPDATE": {"UPDATE"}, "DELETE": {"DELETE"},
	"TRUNCATE": {"TRUNCATE"}, "TRIGGER": {"CREATE"},
}

// writeCommands are the statements a CHECK or NOT NULL can refuse.
var writeCommands = []string{"INSERT", "UPDATE", "COPY"}

func (g *generator) rls() error {
	const q = `SELECT c.oid::regclass::text, c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = ANY ($1) AND c.relkind IN ('r', 'p') AND c.relrowsecurity`
	return g.rows(q, func(r pgx.CollectableRow) error {
		var table, rel string
		if err := r.Scan(&table, &rel); err != nil {
			return err
		}
		g.add(Mutant{ID: id(RLSDisable, table), Family: RLSDisable, Object: table,
			SQL: "ALTER TABLE " + table + " DISABLE ROW LEVEL SECURITY", Observers: []string{rel}, APIRoles: true,
			// Without RLS every row shows: reads are where it is seen first.
			Focus: []Focus{{Objects: []string{rel}, Commands: []string{"SELECT"}}}})
		return nil
	})
}

// grants widens every API role's table privileges by one missing privilege
// (and, where a role holds a privilege on some columns only, by one missing
// column), and narrows them by one granted privilege or column grant.
func (g *generator) grants() error {
	const tables = `SELECT c.oid::regclass::text, c.relname::text, r.role, p.priv,
			has_table_privilege(r.role, c.oid, p.priv),
			EXISTS (SELECT 1 FROM aclexplode(c.relacl) a WHERE a.grantee = r.role::regrole AND a.privilege_type = p.priv)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		CROSS JOIN unnest($2::text[]) AS r(role) CROSS JOIN unnest($3::text[]) AS p(priv)
		WHERE n.nspname = ANY ($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`
	err := g.rows(tables, func(r pgx.CollectableRow) error {
		var table, rel, role, priv string
		var holds, granted bool
		if err := r.Scan(&table, &rel, &role, &priv, &holds, &granted); err != nil {
			return err
		}
		obj := table
		switch {
		case !holds:
			g.add(Mutant{ID: id(GrantWiden, obj, role, priv), Family: GrantWiden, Object: obj,
				SQL: fmt.Sprintf("GRANT %s ON %s TO %s", priv, table, role), Observers: []string{rel}, APIRoles: true,
				Focus: grantFocus(rel, role, priv)})
		case granted:
			g.add(Mutant{ID: id(GrantNarrow, obj, role, priv), Family: GrantNarrow, Object: obj,
				SQL: fmt.Sprintf("REVOKE %s ON %s FROM %s", priv, table, role), Observers: []string{rel}, APIRoles: true,
				Focus: grantFocus(rel, role, priv)})
		}
		return nil
	}, APIRoles, tablePrivileges)
	if err != nil {
		return err
	}
	const columns = `SELECT c.oid::regclass::text, c.relname::text, a.attname::text, r.role, p.priv,
			has_column_privilege(r.role, c.oid, a.attnum, p.priv),
			EXISTS (SELECT 1 FROM aclexplode(a.attacl) x WHERE x.grantee = r.role::regrole AND x.privilege_type = p.priv),
			has_table_privilege(r.role, c.oid, p.priv),
			EXISTS (SELECT 1 FROM pg_attribute o WHERE o.attrelid = c.oid AND o.attnum > 0 AND NOT o.attisdropped
				AND has_column_privilege(r.role, c.oid, o.attnum, p.priv))
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		CROSS JOIN unnest($2::text[]) AS r(role) CROSS JOIN unnest($3::text[]) AS p(priv)
		WHERE n.nspname = ANY ($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`
	return g.rows(columns, func(r pgx.CollectableRow) error {
		var table, rel, col, role, priv string
		var holds, granted, tableLevel, someColumn bool
		if err := r.Scan(&table, &rel, &col, &role, &priv, &holds, &granted, &tableLevel, &someColumn); err != nil {
			return err
		}
		obj := table + "." + col
		colSQL := pgx.Identifier{col}.Sanitize()
		switch {
		case !holds && someColumn && !tableLevel:
			g.add(Mutant{ID: id(GrantWiden, obj, role, priv), Family: GrantWiden, Object: obj,
				SQL:       fmt.Sprintf("GRANT %s (%s) ON %s TO %s", priv, colSQL, table, role),
				Observers: []string{rel}, APIRoles: true, Focus: grantFocus(rel, role, priv)})
		case granted:
			g.add(Mutant{ID: id(GrantNarrow, obj, role, priv), Family: GrantNarrow, Object: obj,
				SQL:       fmt.Sprintf("REVOKE %s (%s) ON %s FROM %s", priv, colSQL, table, role),
				Observers: []string{rel}, APIRoles: true, Focus: grantFocus(rel, role, priv)})
		}
		return nil
	}, APIRoles, columnPrivileges)
}

// grantFocus is the statements that use priv on rel as role.
func grantFocus(rel, role, priv string) []Focus {
	return []Focus{{Objects: []string{rel}, Commands: privilegeCommands[priv], Roles: []string{role}}}
}

func (g *generator) checks() error {
	const q = `SELECT c.oid::regclass::text, c.relname::text, con.conname::text
		FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = ANY ($1) AND con.contype = 'c'`
	return g.rows(q, func(r pgx.CollectableRow) error {
		var table, rel, name string
		if err := r.Scan(&table, &rel, &name); err != nil {
			return err
		}
		obj := table + "." + name
		g.add(Mutant{ID: id(CheckDrop, obj), Family: CheckDrop, Object: obj,
			SQL: fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT %s", table, pgx.Identifier{name}.Sanitize()), Observers: []string{rel},
			Focus: []Focus{{Objects: []string{rel}, Commands: writeCommands}}})
		return nil
	})
}

// onDelete matches the ON DELETE clause of pg_get_constraintdef.
var onDelete = regexp.MustCompile(` ON DELETE (RESTRICT|CASCADE|NO ACTION|SET NULL|SET DEFAULT)( \([^)]*\))?`)

// fkActions are the actions a foreign key's ON DELETE is switched between.
var fkActions = []string{"RESTRICT", "CASCADE", "SET NULL"}

func (g *generator) foreignKeys() error {
	const q = `SELECT c.oid::regclass::text, c.relname::text, f.relname::text, con.conname::text, pg_get_constraintdef(con.oid),
			con.confdeltype::text
		FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_class f ON f.oid = con.confrelid
		WHERE n.nspname = ANY ($1) AND con.contype = 'f'`
	return g.rows(q, func(r pgx.CollectableRow) error {
		var table, rel, parent, name, def, action string
		if err := r.Scan(&table, &rel, &parent, &name, &def, &action); err != nil {
			return err
		}
		current := map[string]string{"a": "RESTRICT", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}[action]
		base := onDelete.ReplaceAllString(def, "")
		for _, to := range fkActions {
			if to == current {
				continue
			}
			newDef := insertBeforeTail(base, " ON DELETE "+to)
			obj := table + "." + name
			g.add(Mutant{ID: id(FKOnDelete, obj, strings.ReplaceAll(strings.ToLower(to), " ", "-")), Family: FKOnDelete, Object: obj,
				SQL: fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT %s, ADD CONSTRAINT %s %s", table,
					pgx.Identifier{name}.Sanitize(), pgx.Identifier{name}.Sanitize(), newDef),
				Observers: []string{rel, parent},
				// The action runs when a parent row goes.
				Focus: []Focus{{Objects: []string{parent}, Commands: []string{"DELETE", "TRUNCATE"}}}})
		}
		return nil
	})
}

// insertBeforeTail puts clause before a foreign key definition's trailing
// DEFERRABLE / NOT VALID options, where PostgreSQL's grammar wants it.
func insertBeforeTail(def, clause string) string {
	cut := len(def)
	for _, tail := range []string{" DEFERRABLE", " NOT DEFERRABLE", " INITIALLY", " NOT VALID"} {
		if i := strings.Index(def, tail); i >= 0 && i < cut {
			cut = i
		}
	}
	return def[:cut] + clause + def[cut:]
}

func (g *generator) notNulls() error {
	const q = `SELECT c.oid::regclass::text, c.relname::text, a.attname::text
		FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = ANY ($1) AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped AND a.attnotnull
			AND a.attidentity = ''
			AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p' AND a.attnum = ANY (k.conkey))`
	return g.rows(q, func(r pgx.CollectableRow) error {
		var table, rel, col string
		if err := r.Scan(&table, &rel, &col); err != nil {
			return err
		}
		obj := table + "." + col
		g.add(Mutant{ID: id(NotNullDrop, obj), Family: NotNullDrop, Object: obj,
			SQL: fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s DROP NOT NULL", table, pgx.Identifier{col}.Sanitize()), Observers: []string{rel},
			Focus: []Focus{{Objects: []string{rel}, Commands: writeCommands}}})
		return nil
	})
}

func (g *generator) triggers() error {
	const q = `SELECT c.oid::regclass::text, c.relname::text, t.tgname::text, t.tgenabled::text, t.tgtype::int
		FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = ANY ($1) AND NOT t.tgisinternal`
	return g.rows(q, func(r pgx.CollectableRow) error {
		var table, rel, name, enabled string
		var tgtype int
		if err := r.Scan(&table, &rel, &name, &enabled, &tgtype); err != nil {
			return err
		}
		obj := table + "." + name
		trg := pgx.Identifier{name}.Sanitize()
		obs := []string{rel}
		focus := []Focus{{Objects: obs, Commands: triggerEvents(tgtype)}}
		g.add(Mutant{ID: id(TriggerDrop, obj), Family: TriggerDrop, Object: obj,
			SQL: fmt.Sprintf("DROP TRIGGER %s ON %s", trg, table), Observers: obs, Focus: focus})
		if enabled != "D" {
			g.add(Mutant{ID: id(TriggerDisable, obj), Family: TriggerDisable, Object: obj,
				SQL: fmt.Sprintf("ALTER TABLE %s DISABLE TRIGGER %s", table, trg), Observers: obs, Focus: focus})
		}
		if enabled == "A" {
			// ENABLE ALWAYS fires under session_replication_role = replica
			// too; plain ENABLE does not.
			g.add(Mutant{ID: id(TriggerOrigin, obj), Family: TriggerOrigin, Object: obj,
				SQL: fmt.Sprintf("ALTER TABLE %s ENABLE TRIGGER %s", table, trg), Observers: obs, Focus: focus})
		}
		return nil
	})
}

// triggerEvents are the statements that fire a trigger of pg_trigger's
// tgtype (the TRIGGER_TYPE_* bits of PostgreSQL's pg_trigger.h).
func triggerEvents(tgtype int) []string {
	var out []string
	for _, e := range []struct {
		bit int
		cmd string
	}{{4, "INSERT"}, {8, "DELETE"}, {16, "UPDATE"}, {32, "TRUNCATE"}} {
		if tgtype&e.bit != 0 {
			out = append(out, e.cmd)
		}
	}
	if tgtype&4 != 0 {
		out = append(out, "COPY")
	}
	return out
}

// withOptions matches an index definition's storage parameters, which are
// specific to its access method.
var withOptions = regexp.MustCompile(` WITH \([^)]*\)`)

// indexes drops every index that backs no constraint (the indexes PA-IDX-1
// asks for: the seed's, the covering ones and one for every foreign key),
// and rebuilds every BRIN index as a btree on the same columns.
func (g *generator) indexes() error {
	const q = `SELECT i.indexrelid::regclass::text, c.relname::text, am.amname::text, pg_get_indexdef(i.indexrelid)
		FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
		WHERE n.nspname = ANY ($1) AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)`
	return g.rows(q, func(r pgx.CollectableRow) error {
		var index, rel, am, def string
		if err := r.Scan(&index, &rel, &am, &def); err != nil {
			return err
		}
		g.add(Mutant{ID: id(IndexDrop, index), Family: IndexDrop, Object: index,
			SQL: "DROP INDEX " + index, Observers: []string{rel}, Explain: true})
		if am == "brin" {
			btree := withOptions.ReplaceAllString(strings.Replace(def, " USING brin ", " USING btree ", 1), "")
			g.add(Mutant{ID: id(BRINToBtree, index), Family: BRINToBtree, Object: index,
				SQL: "DROP INDEX " + index + ";\n" + btree, Observers: []string{rel}, Explain: true})
		}
		return nil
	})
}

type function struct {
	sig, name, lang, src, def string
	secdef, searchPath        bool
	anonExec, publicExec      bool
	trigger                   bool
	volatility                string
	// lacking are the API roles (anon aside, see ExecuteAnon) that may not
	// execute it; granted the grantees (API roles, PUBLIC) of its ACL.
	lacking, granted []string
}

func (g *generator) functions() error {
	const q = `SELECT p.oid::regprocedure::text, p.proname::text, l.lanname::text, p.prosrc, pg_get_functiondef(p.oid), p.prosecdef,
			coalesce(EXISTS (SELECT 1 FROM unnest(p.proconfig) s WHERE s LIKE 'search_path=%'), false),
			has_function_privilege('anon', p.oid, 'EXECUTE'),
			EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a WHERE a.grantee = 0),
			p.prorettype = 'trigger'::regtype, p.provolatile::text,
			ARRAY(SELECT r FROM unnest($2::text[]) r WHERE r <> 'anon' AND NOT has_function_privilege(r, p.oid, 'EXECUTE') ORDER BY r),
			ARRAY(SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)::text END
				FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
				WHERE a.privilege_type = 'EXECUTE' AND (a.grantee = 0 OR pg_get_userbyid(a.grantee) = ANY ($2)) ORDER BY 1)
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
		WHERE n.nspname = ANY ($1) AND p.prokind = 'f'`
	var fns []function
	err := g.rows(q, func(r pgx.CollectableRow) error {
		var f function
		if err := r.Scan(&f.sig, &f.name, &f.lang, &f.src, &f.def, &f.secdef, &f.searchPath, &f.anonExec, &f.publicExec, &f.trigger,
			&f.volatility, &f.lacking, &f.granted); err != nil {
			return err
		}
		fns = append(fns, f)
		return nil
	}, APIRoles)
	if err != nil {
		return err
	}
	observers, focuses, err := g.functionObservers(fns)
	if err != nil {
		return err
	}
	for _, f := range fns {
		obs, focus := observers[f.name], focuses[f.name]
		// Granting EXECUTE to anon is seen first by anon's calls.
		anonFocus := make([]Focus, len(focus))
		for i, fc := range focus {
			fc.Roles = []string{"anon"}
			anonFocus[i] = fc
		}
		flip := "SECURITY DEFINER"
		if f.secdef {
			flip = "SECURITY INVOKER"
		}
		g.add(Mutant{ID: id(SecurityFlip, f.sig), Family: SecurityFlip, Object: f.sig,
			SQL: fmt.Sprintf("ALTER FUNCTION %s %s", f.sig, flip), Observers: obs, Focus: focus})
		if f.searchPath {
			g.add(Mutant{ID: id(SearchPathReset, f.sig), Family: SearchPathReset, Object: f.sig,
				SQL: fmt.Sprintf("ALTER FUNCTION %s RESET search_path", f.sig), Observers: obs, Focus: focus})
		}
		if !f.anonExec {
			g.add(Mutant{ID: id(ExecuteAnon, f.sig), Family: ExecuteAnon, Object: f.sig,
				SQL: fmt.Sprintf("GRANT EXECUTE ON FUNCTION %s TO anon", f.sig), Observers: obs, Focus: anonFocus})
		}
		if !f.publicExec {
			g.add(Mutant{ID: id(ExecutePublic, f.sig), Family: ExecutePublic, Object: f.sig,
				SQL: fmt.Sprintf("GRANT EXECUTE ON FUNCTION %s TO PUBLIC", f.sig), Observers: obs, Focus: focus})
		}
		g.functionGrants(f, obs, focus)
		g.functionSettings(f, obs, focus)
		if f.lang != "plpgsql" {
			continue
		}
		for i, body := range dropAdvisoryLocks(f.src) {
			g.addBody(AdvisoryLockDrop, f, i, body, obs, focus)
		}
		for i, body := range dropGuards(f.src) {
			g.addBody(GuardDrop, f, i, body, obs, focus)
		}
	}
	return nil
}

// addBody adds a mutant that replaces f's body (prosrc) with body, through
// CREATE OR REPLACE of pg_get_functiondef, which keeps every other property.
func (g *generator) addBody(fam Family, f function, n int, body string, obs []string, focus []Focus) {
	if strings.Count(f.def, f.src) != 1 {
		// The body must appear exactly once in the definition to be rewritten.
		return
	}
	g.add(Mutant{ID: id(fam, f.sig, fmt.Sprint(n+1)), Family: fam, Object: f.sig,
		SQL: strings.Replace(f.def, f.src, body, 1), Observers: obs, Focus: focus})
}

// functionObservers returns, for every function, the objects whose use runs
// it: its own name, the functions that call it (transitively), the tables
// whose triggers or policies call any of those; and the focus: statements
// that name those functions, and the statements on those tables that fire
// the triggers or the policies.
func (g *generator) functionObservers(fns []function) (map[string][]string, map[string][]Focus, error) {
	callers := map[string]map[string]bool{}
	for _, f := range fns {
		callers[f.name] = map[string]bool{f.name: true}
	}
	for changed := true; changed; {
		changed = false
		for _, f := range fns {
			for _, caller := range fns {
				if caller.name == f.name || !mentions(caller.src, f.name) {
					continue
				}
				for n := range callers[caller.name] {
					if !callers[f.name][n] {
						callers[f.name][n] = true
						changed = true
					}
				}
			}
		}
	}
	// A use is a trigger (text: its function's name, kind: tgtype) or a
	// policy (text: its expressions, kind: polcmd).
	type use struct {
		table, text, polcmd string
		tgtype              int
	}
	var uses []use
	const q = `SELECT c.relname::text, p.proname::text, '', t.tgtype::int FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
			JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = ANY ($1) AND NOT t.tgisinternal
		UNION ALL
		SELECT c.relname::text, coalesce(pg_get_expr(p.polqual, p.polrelid), '') || ' ' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), ''),
				p.polcmd::text, 0
			FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = ANY ($1)`
	if err := g.rows(q, func(r pgx.CollectableRow) error {
		var u use
		if err := r.Scan(&u.table, &u.text, &u.polcmd, &u.tgtype); err != nil {
			return err
		}
		uses = append(uses, u)
		return nil
	}); err != nil {
		return nil, nil, err
	}
	out, focus := map[string][]string{}, map[string][]Focus{}
	for _, f := range fns {
		set := map[string]bool{}
		var names []string
		for n := range callers[f.name] {
			set[n] = true
			names = append(names, n)
			for _, u := range uses {
				if !mentions(u.text, n) {
					continue
				}
				set[u.table] = true
				cmds := policyCommands[u.polcmd]
				if u.polcmd == "" {
					cmds = triggerEvents(u.tgtype)
				}
				focus[f.name] = append(focus[f.name], Focus{Objects: []string{u.table}, Commands: cmds})
			}
		}
		sort.Strings(names)
		focus[f.name] = append([]Focus{{Objects: names}}, focus[f.name]...)
		for n := range set {
			out[f.name] = append(out[f.name], n)
		}
		sort.Strings(out[f.name])
	}
	return out, focus, nil
}

// mentions reports whether text names the identifier name as a whole word.
func mentions(text, name string) bool {
	for i := 0; ; {
		j := strings.Index(text[i:], name)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(name)
		if (start == 0 || !isIdent(text[start-1])) && (end == len(text) || !isIdent(text[end])) {
			return true
		}
		i = start + 1
	}
}

func isIdent(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
