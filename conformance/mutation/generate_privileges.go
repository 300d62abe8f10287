package mutation

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Privilege mutants beyond the tables': on the mutated schemas, on the
// database, and EXECUTE on functions. Each differs from today's privileges:
// a grantee that lacks a privilege gets it, one that holds it by a grant of
// its own loses it (a privilege held only through PUBLIC is PUBLIC's to
// lose). Grantees are the API roles and PUBLIC.

// grantees are the API roles and PUBLIC.
func grantees() []string { return append(append([]string{}, APIRoles...), "PUBLIC") }

// aclHolds is SQL for "grantee $g holds privilege $p in ACL acl (NULL:
// acldefault(kind, owner))": for PUBLIC its own entry, for a role the
// privilege check function has (its own grants and PUBLIC's).
const aclEntry = `EXISTS (SELECT 1 FROM aclexplode(coalesce(%[1]s, acldefault('%[2]s', %[3]s))) a
	WHERE a.privilege_type = p.priv AND a.grantee = CASE WHEN g.grantee = 'PUBLIC' THEN 0
		ELSE (SELECT r.oid FROM pg_roles r WHERE r.rolname = g.grantee) END)`

// schemaPrivileges grants USAGE and CREATE on each mutated schema to each
// grantee that lacks it, and revokes each that a grantee holds by its own
// grant.
func (g *generator) schemaPrivileges() error {
	q := `SELECT n.nspname::text, g.grantee, p.priv,
			CASE WHEN g.grantee = 'PUBLIC' THEN ` + fmt.Sprintf(aclEntry, "n.nspacl", "n", "n.nspowner") + `
				ELSE has_schema_privilege(g.grantee, n.oid, p.priv) END,
			` + fmt.Sprintf(aclEntry, "n.nspacl", "n", "n.nspowner") + `,
			ARRAY(SELECT c.relname::text FROM pg_class c WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
				UNION SELECT f.proname::text FROM pg_proc f WHERE f.pronamespace = n.oid)
		FROM pg_namespace n CROSS JOIN unnest($2::text[]) AS g(grantee) CROSS JOIN unnest(ARRAY['USAGE', 'CREATE']) AS p(priv)
		WHERE n.nspname = ANY ($1)`
	return g.rows(q, func(r pgx.CollectableRow) error {
		var schema, grantee, priv string
		var holds, granted bool
		var objects []string
		if err := r.Scan(&schema, &grantee, &priv, &holds, &granted, &objects); err != nil {
			return err
		}
		focus := Focus{Objects: []string{schema}}
		if priv == "CREATE" {
			focus.Commands = []string{"CREATE"}
		}
		if grantee != "PUBLIC" {
			focus.Roles = []string{grantee}
		}
		m := Mutant{Family: SchemaPrivilege, Object: schema, Observers: append([]string{schema}, objects...), APIRoles: true,
			Focus: []Focus{focus}}
		switch {
		case !holds:
			m.ID, m.SQL = id(SchemaPrivilege, schema, grantee, priv, "grant"), fmt.Sprintf("GRANT %s ON SCHEMA %s TO %s", priv, pgx.Identifier{schema}.Sanitize(), grantee)
		case granted:
			m.ID, m.SQL = id(SchemaPrivilege, schema, grantee, priv, "revoke"), fmt.Sprintf("REVOKE %s ON SCHEMA %s FROM %s", priv, pgx.Identifier{schema}.Sanitize(), grantee)
		default:
			return nil
		}
		g.add(m)
		return nil
	}, grantees())
}

// databasePrivileges does the same for CREATE, TEMPORARY and CONNECT on the
// database. Every clone is a database of its own name, so the mutant names
// it with current_database().
func (g *generator) databasePrivileges() error {
	q := `SELECT g.grantee, p.priv,
			CASE WHEN g.grantee = 'PUBLIC' THEN ` + fmt.Sprintf(aclEntry, "d.datacl", "d", "d.datdba") + `
				ELSE has_database_privilege(g.grantee, d.oid, p.priv) END,
			` + fmt.Sprintf(aclEntry, "d.datacl", "d", "d.datdba") + `
		FROM pg_database d CROSS JOIN unnest($2::text[]) AS g(grantee) CROSS JOIN unnest(ARRAY['CREATE', 'TEMPORARY', 'CONNECT']) AS p(priv)
		WHERE d.datname = current_database() AND $1::text[] IS NOT NULL`
	return g.rows(q, func(r pgx.CollectableRow) error {
		var grantee, priv string
		var holds, granted bool
		if err := r.Scan(&grantee, &priv, &holds, &granted); err != nil {
			return err
		}
		var verb, stmt string
		switch {
		case !holds:
			verb, stmt = "grant", fmt.Sprintf("GRANT %s ON DATABASE %%I TO %s", priv, grantee)
		case granted:
			verb, stmt = "revoke", fmt.Sprintf("REVOKE %s ON DATABASE %%I FROM %s", priv, grantee)
		default:
			return nil
		}
		// What uses each privilege: CREATE SCHEMA, a temporary object,
		// a new connection.
		used := map[string]Focus{
			"CREATE":    {Objects: []string{"SCHEMA"}, Commands: []string{"CREATE"}},
			"TEMPORARY": {Objects: []string{"TEMP", "TEMPORARY", "pg_temp"}},
			"CONNECT":   {Objects: Schemas},
		}[priv]
		if grantee != "PUBLIC" {
			used.Roles = []string{grantee}
		}
		g.add(Mutant{ID: id(DatabasePrivilege, grantee, priv, verb), Family: DatabasePrivilege, Object: "database",
			SQL:       fmt.Sprintf("DO $mutant$ BEGIN EXECUTE format(%s, current_database()); END $mutant$", quoteLiteral(stmt)),
			Observers: append(append([]string{}, Schemas...), used.Objects...), APIRoles: true, Focus: []Focus{used}})
		return nil
	}, grantees())
}

// functionGrants grants EXECUTE on f to each named API role that lacks it
// (anon's is ExecuteAnon) and revokes it from each grantee that holds it by
// its own grant.
func (g *generator) functionGrants(f function, obs []string, focus []Focus) {
	as := func(role string) []Focus {
		out := make([]Focus, len(focus))
		for i, fc := range focus {
			if role != "PUBLIC" {
				fc.Roles = []string{role}
			}
			out[i] = fc
		}
		return out
	}
	for _, role := range f.lacking {
		g.add(Mutant{ID: id(ExecuteGrant, f.sig, role), Family: ExecuteGrant, Object: f.sig,
			SQL: fmt.Sprintf("GRANT EXECUTE ON FUNCTION %s TO %s", f.sig, role), Observers: obs, Focus: as(role)})
	}
	for _, role := range f.granted {
		g.add(Mutant{ID: id(ExecuteRevoke, f.sig, role), Family: ExecuteRevoke, Object: f.sig,
			SQL: fmt.Sprintf("REVOKE EXECUTE ON FUNCTION %s FROM %s", f.sig, role), Observers: obs, Focus: as(role)})
	}
}

// unsafeSearchPaths are the values a function's search_path is set to:
// schemas an attacker might write to searched by name, and PostgreSQL's
// default, what a function without the setting would get.
var unsafeSearchPaths = map[string]string{"public-pg-temp": "public, pg_temp", "user-public": `"$user", public`}

// volatilities are pg_proc's provolatile codes and their keywords.
var volatilities = map[string]string{"v": "VOLATILE", "s": "STABLE", "i": "IMMUTABLE"}

// functionSettings sets f's search_path to each unsafe value (when f sets
// one) and its volatility to each other class.
func (g *generator) functionSettings(f function, obs []string, focus []Focus) {
	if f.searchPath {
		for name, value := range unsafeSearchPaths {
			g.add(Mutant{ID: id(SearchPathUnsafe, f.sig, name), Family: SearchPathUnsafe, Object: f.sig,
				SQL: fmt.Sprintf("ALTER FUNCTION %s SET search_path = %s", f.sig, value), Observers: obs, Focus: focus})
		}
	}
	for code, word := range volatilities {
		if code == f.volatility {
			continue
		}
		g.add(Mutant{ID: id(VolatilityChange, f.sig, strings.ToLower(word)), Family: VolatilityChange, Object: f.sig,
			SQL: fmt.Sprintf("ALTER FUNCTION %s %s", f.sig, word), Observers: obs, Focus: focus})
	}
}

// quoteLiteral quotes s as an SQL string literal.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
