package pgtest

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
)

// catalogQueries describe every user-visible part of a schema by name, never
// by OID, so two databases with the same schema give the same lines. Access
// lists are compared by meaning: a NULL ACL is the owner's default, which a
// GRANT then REVOKE spells out explicitly without changing any privilege. They are
// what "a rollback restores the previous catalog" is measured by.
var catalogQueries = map[string]string{
	"schema": `SELECT nspname || ' owner=' || pg_get_userbyid(nspowner) || ' acl=' || coalesce(nspacl, acldefault('n', nspowner))::text
		FROM pg_namespace WHERE ` + userSchema("nspname"),
	"relation": `SELECT n.nspname || '.' || c.relname || ' kind=' || c.relkind::text || ' rls=' || c.relrowsecurity ||
			' force=' || c.relforcerowsecurity || ' acl=' || coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner))::text ||
			' comment=' || coalesce(obj_description(c.oid, 'pg_class'), '') ||
			' opts=' || coalesce(c.reloptions::text, '')
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ` + userSchema("n.nspname"),
	"column": `SELECT n.nspname || '.' || c.relname || '.' || a.attname || ' #' || a.attnum || ' ' ||
			format_type(a.atttypid, a.atttypmod) || ' notnull=' || a.attnotnull ||
			' default=' || coalesce(pg_get_expr(d.adbin, d.adrelid), '') || ' identity=' || a.attidentity::text ||
			' generated=' || a.attgenerated::text || ' acl=' || coalesce(nullif(a.attacl, '{}'), '{}')::text ||
			' comment=' || coalesce(col_description(c.oid, a.attnum), '')
		FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
		WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind::text IN ('r', 'v', 'm', 'p', 'f') AND ` + userSchema("n.nspname"),
	"constraint": `SELECT n.nspname || '.' || coalesce(c.relname, t.typname, '') || ' ' || con.conname || ' ' || pg_get_constraintdef(con.oid) ||
			' deferrable=' || con.condeferrable
		FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
		LEFT JOIN pg_class c ON c.oid = con.conrelid LEFT JOIN pg_type t ON t.oid = con.contypid
		WHERE ` + userSchema("n.nspname"),
	"index": `SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ` + userSchema("n.nspname"),
	"policy": `SELECT schemaname || '.' || tablename || ' ' || policyname || ' ' || permissive || ' ' || roles::text || ' ' || cmd ||
			' using=' || coalesce(qual, '') || ' check=' || coalesce(with_check, '')
		FROM pg_policies WHERE ` + userSchema("schemaname"),
	"function": `SELECT n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ') returns ' ||
			pg_get_function_result(p.oid) || ' kind=' || p.prokind::text || ' lang=' || l.lanname || ' secdef=' || p.prosecdef ||
			' volatile=' || p.provolatile::text || ' strict=' || p.proisstrict || ' config=' || coalesce(p.proconfig::text, '') ||
			' acl=' || coalesce(p.proacl, acldefault('f', p.proowner))::text || ' owner=' || pg_get_userbyid(p.proowner) ||
			' src=' || md5(p.prosrc) || ' comment=' || coalesce(obj_description(p.oid, 'pg_proc'), '')
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
		WHERE ` + userSchema("n.nspname"),
	"trigger": `SELECT pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text FROM pg_trigger t
		JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE NOT t.tgisinternal AND ` + userSchema("n.nspname"),
	"type": `SELECT n.nspname || '.' || t.typname || ' ' || t.typtype::text || ' ' ||
			coalesce((SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid), '')
		FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
		WHERE t.typtype::text IN ('e', 'd', 'c') AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind::text <> 'c')
		AND ` + userSchema("n.nspname"),
	"default_acl": `SELECT pg_get_userbyid(defaclrole) || ' ' || coalesce(n.nspname, '*') || ' ' || defaclobjtype::text || ' ' || defaclacl::text
		FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace`,
	"extension":     `SELECT e.extname || ' ' || e.extversion || ' ' || n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace`,
	"event_trigger": `SELECT evtname || ' ' || evtevent || ' ' || evtfoid::regproc::text FROM pg_event_trigger`,
}

func userSchema(col string) string {
	return col + ` NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND ` + col + ` NOT LIKE 'pg_temp%' AND ` + col + ` NOT LIKE 'pg_toast_temp%'`
}

// Catalog returns a sorted description of the schema of the database conn is
// connected to. Two equal catalogs mean two equal schemas.
func Catalog(ctx context.Context, conn interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) ([]string, error) {
	var out []string
	for kind, q := range catalogQueries {
		rows, err := conn.Query(ctx, q+` ORDER BY 1`)
		if err != nil {
			return nil, fmt.Errorf("catalog %s: %w", kind, err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, fmt.Errorf("catalog %s: %w", kind, err)
		}
		for _, l := range lines {
			out = append(out, kind+": "+strings.Join(strings.Fields(l), " "))
		}
	}
	sort.Strings(out)
	return out, nil
}
