package mutation

import (
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Definition mutants: each rewrites one clause of a policy, trigger, key or
// column default as the catalog prints it (pg_policies, pg_get_triggerdef,
// pg_get_constraintdef, pg_get_expr), and recreates the object with it.

// policyDefinitions widens each policy's role list by each API role that the
// policy could admit to a row: one RLS applies to (a role with BYPASSRLS
// never meets a policy) and that holds the privilege of the policy's
// command on the table (without it, the statement is refused before any
// policy is read); and, where there is such a role, by PUBLIC. It
// recreates each policy with the other kind (permissive, restrictive).
func (g *generator) policyDefinitions() error {
	const q = `SELECT c.oid::regclass::text, c.relname::text, p.policyname::text, p.permissive, p.roles::text[], p.cmd,
			p.qual, p.with_check,
			ARRAY(SELECT r.rolname::text FROM pg_roles r WHERE r.rolname = ANY ($2) AND NOT r.rolbypassrls
				AND NOT r.rolname = ANY (p.roles)
				AND has_table_privilege(r.rolname, c.oid, CASE p.cmd WHEN 'ALL' THEN 'SELECT, INSERT, UPDATE, DELETE' ELSE p.cmd END)
				ORDER BY 1)
		FROM pg_policies p JOIN pg_namespace n ON n.nspname = p.schemaname
		JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = p.tablename
		WHERE p.schemaname = ANY ($1)`
	return g.rows(q, func(r pgx.CollectableRow) error {
		var table, rel, name, kind, cmd string
		var roles, widen []string
		var qual, check *string
		if err := r.Scan(&table, &rel, &name, &kind, &roles, &cmd, &qual, &check, &widen); err != nil {
			return err
		}
		obj := table + "." + name
		on := fmt.Sprintf("%s ON %s", pgx.Identifier{name}.Sanitize(), table)
		commands := []string{cmd}
		if cmd == "ALL" {
			commands = nil
		}
		quoted := make([]string, len(roles))
		for i, role := range roles {
			if role == "public" {
				quoted[i] = "PUBLIC"
			} else {
				quoted[i] = pgx.Identifier{role}.Sanitize()
			}
		}
		base := Mutant{Object: obj, Observers: []string{rel}, APIRoles: true}
		if len(widen) > 0 && !slices.Contains(roles, "public") {
			for _, role := range append(widen, "PUBLIC") {
				m := base
				to := "PUBLIC"
				if role != "PUBLIC" {
					to = strings.Join(append(slices.Clone(quoted), pgx.Identifier{role}.Sanitize()), ", ")
				}
				m.ID, m.Family, m.SQL = id(PolicyRolesWiden, obj, role), PolicyRolesWiden, "ALTER POLICY "+on+" TO "+to
				// The widened role's statements see it first; PUBLIC's
				// newcomer among the API roles is anon.
				seen := role
				if role == "PUBLIC" {
					seen = "anon"
				}
				m.Focus = []Focus{{Objects: []string{rel}, Commands: commands, Roles: []string{seen}}}
				g.add(m)
			}
		}
		other := "RESTRICTIVE"
		if kind == "RESTRICTIVE" {
			other = "PERMISSIVE"
		}
		def := fmt.Sprintf("CREATE POLICY %s AS %s FOR %s TO %s", on, other, cmd, strings.Join(quoted, ", "))
		if qual != nil {
			def += " USING (" + *qual + ")"
		}
		if check != nil {
			def += " WITH CHECK (" + *check + ")"
		}
		m := base
		m.ID, m.Family, m.SQL = id(PolicyKindFlip, obj, strings.ToLower(other)), PolicyKindFlip, "DROP POLICY "+on+";\n"+def
		m.Focus = []Focus{{Objects: []string{rel}, Commands: commands}}
		g.add(m)
		return nil
	}, APIRoles)
}

// forceRLS forces row level security on each table that enables it and does
// not force it: the table's owner, and the SECURITY DEFINER functions it
// owns, become subject to the policies (unless the owner bypasses RLS).
func (g *generator) forceRLS() error {
	const q = `SELECT c.oid::regclass::text, c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = ANY ($1) AND c.relkind IN ('r', 'p') AND c.relrowsecurity AND NOT c.relforcerowsecurity`
	return g.rows(q, func(r pgx.CollectableRow) error {
		var table, rel string
		if err := r.Scan(&table, &rel); err != nil {
			return err
		}
		g.add(Mutant{ID: id(RLSForce, table), Family: RLSForce, Object: table,
			SQL: "ALTER TABLE " + table + " FORCE ROW LEVEL SECURITY", Observers: []string{rel}})
		return nil
	})
}

// enableClause restores a recreated trigger's firing mode (CREATE TRIGGER
// makes it ENABLE, 'O').
var enableClause = map[string]string{"A": "ENABLE ALWAYS", "R": "ENABLE REPLICA", "D": "DISABLE"}

// triggerDefinitions switches each trigger's firing mode (origin, always,
// replica; always to origin is TriggerOrigin), and recreates it from
// pg_get_triggerdef with its timing switched (BEFORE and AFTER, not for
// constraint triggers, which are AFTER only), one column dropped from an
// UPDATE OF list of two or more, or its WHEN removed.
func (g *generator) triggerDefinitions() error {
	const q = `SELECT c.oid::regclass::text, c.relname::text, t.tgname::text, t.tgenabled::text, t.tgtype::int,
			t.tgconstraint <> 0, pg_get_triggerdef(t.oid), quote_ident(t.tgname)
		FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = ANY ($1) AND NOT t.tgisinternal`
	return g.rows(q, func(r pgx.CollectableRow) error {
		var table, rel, name, enabled, def, quoted string
		var tgtype int
		var constraint bool
		if err := r.Scan(&table, &rel, &name, &enabled, &tgtype, &constraint, &def, &quoted); err != nil {
			return err
		}
		obj := table + "." + name
		obs := []string{rel}
		focus := []Focus{{Objects: obs, Commands: triggerEvents(tgtype)}}
		modes := map[string]string{"O": "ENABLE", "A": "ENABLE ALWAYS", "R": "ENABLE REPLICA"}
		for _, to := range []string{"O", "A", "R"} {
			if to == enabled || enabled == "D" || (enabled == "A" && to == "O") {
				continue
			}
			g.add(Mutant{ID: id(TriggerEnableMode, obj, strings.ToLower(strings.TrimPrefix(modes[to], "ENABLE "))), Family: TriggerEnableMode,
				Object: obj, SQL: fmt.Sprintf("ALTER TABLE %s %s TRIGGER %s", table, modes[to], quoted), Observers: obs, Focus: focus})
		}
		recreate := func(fam Family, detail, newDef string) {
			sql := fmt.Sprintf("DROP TRIGGER %s ON %s;\n%s", quoted, table, newDef)
			if c, ok := enableClause[enabled]; ok {
				sql += fmt.Sprintf(";\nALTER TABLE %s %s TRIGGER %s", table, c, quoted)
			}
			g.add(Mutant{ID: id(fam, obj, detail), Family: fam, Object: obj, SQL: sql, Observers: obs, Focus: focus})
		}
		prefix := "CREATE TRIGGER " + quoted + " "
		if !constraint && strings.HasPrefix(def, prefix) {
			rest := def[len(prefix):]
			switch {
			case strings.HasPrefix(rest, "BEFORE "):
				recreate(TriggerTiming, "after", prefix+"AFTER "+strings.TrimPrefix(rest, "BEFORE "))
			case strings.HasPrefix(rest, "AFTER "):
				recreate(TriggerTiming, "before", prefix+"BEFORE "+strings.TrimPrefix(rest, "AFTER "))
			}
		}
		for _, col := range updateOfColumns(def) {
			recreate(TriggerUpdateOf, col.name, col.without)
		}
		// A WHEN is removed. Adding one needs a condition that skips some
		// firing the trigger matters for, which the catalog does not say.
		exec := strings.LastIndex(def, " EXECUTE FUNCTION ")
		if w := strings.Index(def, " WHEN ("); w >= 0 && exec > w {
			recreate(TriggerWhen, "removed", def[:w]+def[exec:])
		}
		return nil
	})
}

type droppedColumn struct{ name, without string }

// updateOfColumns returns, for a trigger definition with an UPDATE OF list
// of two or more columns, the definition without each one.
func updateOfColumns(def string) []droppedColumn {
	const marker = " UPDATE OF "
	i := strings.Index(def, marker)
	if i < 0 {
		return nil
	}
	start := i + len(marker)
	end := len(def)
	for _, stop := range []string{" OR ", " ON "} {
		if j := strings.Index(def[start:], stop); j >= 0 && start+j < end {
			end = start + j
		}
	}
	cols := strings.Split(def[start:end], ", ")
	if len(cols) < 2 {
		return nil
	}
	var out []droppedColumn
	for k, c := range cols {
		kept := append(slices.Clone(cols[:k]), cols[k+1:]...)
		out = append(out, droppedColumn{strings.Trim(c, `"`), def[:start] + strings.Join(kept, ", ") + def[end:]})
	}
	return out
}

// keys drops each UNIQUE and PRIMARY KEY constraint (with the foreign keys
// that need it) and each foreign key, and narrows each foreign key of two or
// more columns by one column where the parent has a key on the rest.
func (g *generator) keys() error {
	const q = `SELECT c.oid::regclass::text, c.relname::text, coalesce(f.relname::text, ''), con.conname::text, con.contype::text,
			pg_get_constraintdef(con.oid),
			ARRAY(SELECT quote_ident(a.attname) FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
				JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i),
			ARRAY(SELECT quote_ident(a.attname) FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
				JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i),
			coalesce(con.confrelid::regclass::text, ''),
			ARRAY(SELECT array_to_string(ARRAY(SELECT quote_ident(a.attname) FROM unnest(u.conkey) n
				JOIN pg_attribute a ON a.attrelid = u.conrelid AND a.attnum = n ORDER BY 1), ',')
				FROM pg_constraint u WHERE u.conrelid = con.confrelid AND u.contype IN ('p', 'u'))
		FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_class f ON f.oid = con.confrelid
		WHERE n.nspname = ANY ($1) AND con.contype IN ('p', 'u', 'f')`
	return g.rows(q, func(r pgx.CollectableRow) error {
		var table, rel, parent, name, kind, def, parentTable string
		var cols, refCols, parentKeys []string
		if err := r.Scan(&table, &rel, &parent, &name, &kind, &def, &cols, &refCols, &parentTable, &parentKeys); err != nil {
			return err
		}
		obj := table + "." + name
		con := pgx.Identifier{name}.Sanitize()
		writes := Focus{Objects: []string{rel}, Commands: writeCommands}
		if kind != "f" {
			g.add(Mutant{ID: id(KeyDrop, obj), Family: KeyDrop, Object: obj,
				SQL: fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT %s CASCADE", table, con), Observers: []string{rel}, Focus: []Focus{writes}})
			return nil
		}
		obs := []string{rel, parent}
		focus := []Focus{writes, {Objects: []string{parent}, Commands: []string{"DELETE", "TRUNCATE"}}}
		g.add(Mutant{ID: id(FKDrop, obj), Family: FKDrop, Object: obj,
			SQL: fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT %s", table, con), Observers: obs, Focus: focus})
		if len(cols) < 2 || len(cols) != len(refCols) {
			return nil
		}
		// The clauses after the referenced column list (actions,
		// deferrability) stay as they are.
		ref := strings.Index(def, " REFERENCES ")
		if ref < 0 {
			return nil
		}
		close := strings.Index(def[ref:], ")")
		if close < 0 {
			return nil
		}
		tail := def[ref+close+1:]
		for k := range cols {
			kept := append(slices.Clone(cols[:k]), cols[k+1:]...)
			keptRef := append(slices.Clone(refCols[:k]), refCols[k+1:]...)
			sorted := slices.Clone(keptRef)
			slices.Sort(sorted)
			if !slices.Contains(parentKeys, strings.Join(sorted, ",")) || mentionsColumnList(tail, cols[k]) {
				continue
			}
			newDef := fmt.Sprintf("FOREIGN KEY (%s) REFERENCES %s(%s)%s", strings.Join(kept, ", "), parentTable, strings.Join(keptRef, ", "), tail)
			g.add(Mutant{ID: id(FKNarrow, obj, strings.Trim(cols[k], `"`)), Family: FKNarrow, Object: obj,
				SQL:       fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT %s, ADD CONSTRAINT %s %s", table, con, con, newDef),
				Observers: obs, Focus: focus})
		}
		return nil
	})
}

// mentionsColumnList reports whether an action's column list (ON DELETE SET
// NULL (a, b)) in tail names col, which a narrowed key could not keep.
func mentionsColumnList(tail, col string) bool {
	i := strings.Index(tail, " (")
	return i >= 0 && mentions(tail[i:], strings.Trim(col, `"`))
}

// defaults drops each column default, and changes it by its type's
// category: a boolean negated, a date or time a day earlier, a string with a
// suffix, a number plus one.
func (g *generator) defaults() error {
	const q = `SELECT c.oid::regclass::text, c.relname::text, a.attname::text, pg_get_expr(d.adbin, d.adrelid),
			format_type(a.atttypid, a.atttypmod), t.typcategory::text
		FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
		JOIN pg_class c ON c.oid = d.adrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_type t ON t.oid = a.atttypid
		WHERE n.nspname = ANY ($1) AND c.relkind IN ('r', 'p') AND a.attgenerated = '' AND NOT a.attisdropped`
	return g.rows(q, func(r pgx.CollectableRow) error {
		var table, rel, col, expr, typ, category string
		if err := r.Scan(&table, &rel, &col, &expr, &typ, &category); err != nil {
			return err
		}
		obj := table + "." + col
		alter := fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s ", table, pgx.Identifier{col}.Sanitize())
		focus := []Focus{{Objects: []string{rel}, Commands: []string{"INSERT", "COPY"}}}
		g.add(Mutant{ID: id(DefaultDrop, obj), Family: DefaultDrop, Object: obj, SQL: alter + "DROP DEFAULT",
			Observers: []string{rel}, Focus: focus})
		changed := map[string]string{
			"B": "NOT (%s)",
			"D": "((%s) - interval '1 day')::%s",
			"S": "((%s) || '-mutated')::%s",
			"N": "((%s) + 1)::%s",
		}[category]
		if changed == "" {
			return nil
		}
		if category == "B" {
			changed = fmt.Sprintf(changed, expr)
		} else {
			changed = fmt.Sprintf(changed, expr, typ)
		}
		g.add(Mutant{ID: id(DefaultChange, obj), Family: DefaultChange, Object: obj, SQL: alter + "SET DEFAULT " + changed,
			Observers: []string{rel}, Focus: focus})
		return nil
	})
}
