package conformance

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
	schema "github.com/mentordb/mentordb/sql"
)

// proxySchemaCases prove the catalog: the migration, columns, keys, indexes.
func proxySchemaCases(t *testing.T) {
	t.Run("PA-MIG-1 a dual-attribution comment block sits directly above CREATE TABLE proxy_activities", func(t *testing.T) {
		t.Parallel()
		body, err := fs.ReadFile(schema.Migrations, "migrations/"+proxyMigrationFile)
		require.NoError(t, err)
		lines := strings.Split(string(body), "\n")
		at := -1
		for i, l := range lines {
			if regexp.MustCompile(`^CREATE TABLE (public\.)?proxy_activities\b`).MatchString(l) {
				require.Equal(t, -1, at, "proxy_activities is created once")
				at = i
			}
		}
		require.NotEqual(t, -1, at, "CREATE TABLE proxy_activities not found")
		var block []string
		for i := at - 1; i >= 0 && strings.HasPrefix(strings.TrimSpace(lines[i]), "--"); i-- {
			block = append([]string{lines[i]}, block...)
		}
		require.GreaterOrEqual(t, len(block), 10, "a comment block, with no blank line, directly above the table")
		var words []string
		for _, l := range block {
			words = append(words, strings.Fields(strings.TrimPrefix(strings.TrimSpace(l), "--"))...)
		}
		text := strings.ToLower(strings.Join(words, " "))
		for _, want := range []string{"dual attribution", "coordinator_id", "attributed_mentor_id", "bufdir",
			"audit", "access control", "never", "proxy_audit_log"} {
			require.Contains(t, text, want)
		}
	})

	t.Run("PA-MIG-1 the two attribution columns carry COMMENT ON COLUMN in the catalog", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		var coord, mentor *string
		require.NoError(t, d.Pool.QueryRow(ctx, `SELECT
			col_description('public.proxy_activities'::regclass, (SELECT attnum FROM pg_attribute WHERE attrelid = 'public.proxy_activities'::regclass AND attname = 'coordinator_id')),
			col_description('public.proxy_activities'::regclass, (SELECT attnum FROM pg_attribute WHERE attrelid = 'public.proxy_activities'::regclass AND attname = 'attributed_mentor_id'))`).
			Scan(&coord, &mentor))
		require.NotNil(t, coord)
		require.NotNil(t, mentor)
		require.Contains(t, strings.ToLower(*coord), "audit")
		require.Contains(t, strings.ToLower(*coord), "access control")
		require.Contains(t, *mentor, "Bufdir")
		require.Contains(t, *mentor, "peer_mentor")
	})

	t.Run("PA-MIG-1 the migration was applied by the Go runner and recorded in the history with the file's statements", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		requireRecorded(t, d, proxyMigrationFile)
		var n int
		require.NoError(t, d.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_class WHERE oid IN (
			'public.recurring_activity_templates'::regclass, 'public.proxy_activities'::regclass, 'public.proxy_audit_log'::regclass)
			AND relrowsecurity`).Scan(&n))
		require.Equal(t, 3, n, "the three tables exist with RLS on")
	})

	t.Run("PA-COL-1 columns, types, nullability and defaults are exactly the seed's, plus the accepted id DEFAULT gen_random_uuid()", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		rows, err := d.Pool.Query(ctx, `SELECT a.attname || ' ' || format_type(a.atttypid, a.atttypmod) ||
				CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE ' NULL' END ||
				coalesce(' DEFAULT ' || pg_get_expr(ad.adbin, ad.adrelid), '') ||
				CASE WHEN a.attidentity <> '' OR a.attgenerated <> '' THEN ' GENERATED' ELSE '' END
			FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
			WHERE a.attrelid = 'public.proxy_activities'::regclass AND a.attnum > 0 AND NOT a.attisdropped
			ORDER BY a.attnum`)
		require.NoError(t, err)
		cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		require.Equal(t, []string{
			"id uuid NOT NULL DEFAULT gen_random_uuid()", // the default is our accepted addition
			"coordinator_id uuid NOT NULL",
			"attributed_mentor_id uuid NOT NULL",
			"org_id uuid NOT NULL",
			"activity_type text NOT NULL",
			"date date NOT NULL",
			"duration_minutes integer NOT NULL",
			"notes text NULL",
			"is_recurring boolean NOT NULL DEFAULT false",
			"template_id uuid NULL",
			"created_at timestamp with time zone NULL DEFAULT now()",
			"updated_at timestamp with time zone NULL DEFAULT now()",
		}, cols, "exactly these columns, in this order, and no other")

		// information_schema agrees (what reviewers and supabase tools read).
		rows, err = d.Pool.Query(ctx, `SELECT column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '-')
			FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'proxy_activities' ORDER BY ordinal_position`)
		require.NoError(t, err)
		info, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		require.Equal(t, []string{
			"id uuid NO gen_random_uuid()", "coordinator_id uuid NO -", "attributed_mentor_id uuid NO -", "org_id uuid NO -",
			"activity_type text NO -", "date date NO -", "duration_minutes integer NO -", "notes text YES -",
			"is_recurring boolean NO false", "template_id uuid YES -",
			"created_at timestamp with time zone YES now()", "updated_at timestamp with time zone YES now()",
		}, info)

		var pk, chk string
		require.NoError(t, d.Pool.QueryRow(ctx, `SELECT pg_get_constraintdef(oid) FROM pg_constraint
			WHERE conrelid = 'public.proxy_activities'::regclass AND contype = 'p'`).Scan(&pk))
		require.Equal(t, "PRIMARY KEY (id)", pk)
		require.NoError(t, d.Pool.QueryRow(ctx, `SELECT pg_get_constraintdef(oid) FROM pg_constraint
			WHERE conrelid = 'public.proxy_activities'::regclass AND conname = $1`, db.ConstraintProxyActivitiesDurationMinutesCheck).Scan(&chk))
		require.Equal(t, "CHECK ((duration_minutes > 0))", chk)
		require.NoError(t, d.Pool.QueryRow(ctx, `SELECT pg_get_constraintdef(oid) FROM pg_constraint
			WHERE conrelid = 'public.proxy_activities'::regclass AND conname = $1`, db.ConstraintProxyActivitiesNoSelfAttributionCheck).Scan(&chk))
		require.Equal(t, "CHECK ((coordinator_id <> attributed_mentor_id))", chk)
	})

	t.Run("PA-FK-1 PA-FK-2 PA-ORG-2 the catalog's foreign keys: RESTRICT on both people and the org, SET NULL on the template", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		rows, err := d.Pool.Query(ctx, `SELECT conname || ' ' || pg_get_constraintdef(oid) || ' del=' || confdeltype::text || ' upd=' || confupdtype::text
			FROM pg_constraint WHERE conrelid = 'public.proxy_activities'::regclass AND contype = 'f' ORDER BY conname`)
		require.NoError(t, err)
		fks, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		require.Equal(t, []string{
			"proxy_activities_attributed_mentor_id_fkey FOREIGN KEY (attributed_mentor_id) REFERENCES auth.users(id) ON DELETE RESTRICT del=r upd=a",
			"proxy_activities_coordinator_id_fkey FOREIGN KEY (coordinator_id) REFERENCES auth.users(id) ON DELETE RESTRICT del=r upd=a",
			"proxy_activities_org_id_fkey FOREIGN KEY (org_id) REFERENCES organizations(id) ON DELETE RESTRICT del=r upd=a",
			"proxy_activities_template_id_fkey FOREIGN KEY (template_id) REFERENCES recurring_activity_templates(id) ON DELETE SET NULL del=n upd=a",
			"proxy_activities_template_same_org_fkey FOREIGN KEY (template_id, org_id) REFERENCES recurring_activity_templates(id, org_id) ON DELETE SET NULL (template_id) del=n upd=a",
		}, fks)
	})

	t.Run("PA-IDX-1 the seed's six indexes exist with their columns, order and method", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		rows, err := d.Pool.Query(ctx, proxyIndexKeysSQL+` WHERE i.indrelid = 'public.proxy_activities'::regclass`)
		require.NoError(t, err)
		type idx struct {
			Name, Method, Keys string
			Partial, Unique    bool
		}
		got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[idx])
		require.NoError(t, err)
		have := map[string]string{}
		for _, i := range got {
			if !i.Partial && !i.Unique {
				have[i.Method+" ("+i.Keys+")"] = i.Name
			}
		}
		for _, want := range []string{
			"btree (org_id)", "btree (coordinator_id)", "btree (attributed_mentor_id)", "btree (date DESC)",
			"btree (org_id, attributed_mentor_id)", "brin (created_at)",
		} {
			require.Contains(t, have, want, "a full, non-unique index %s; have %v", want, got)
		}
	})

	t.Run("PA-IDX-1 every foreign key of proxy_activities and recurring_activity_templates is covered by an index", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		uncovered, total := proxyUncoveredFKs(t, d, `c.conrelid IN ('public.proxy_activities'::regclass, 'public.recurring_activity_templates'::regclass)`)
		require.Equal(t, 7, total, "the FKs of the two tables")
		require.Empty(t, uncovered)
		_ = ctx
	})

	t.Run("PA-IDX-1 every foreign key of every table in schema public is covered by an index", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		uncovered, total := proxyUncoveredFKs(t, d, `c.connamespace = 'public'::regnamespace`)
		require.Greater(t, total, 7)
		require.Empty(t, uncovered)
	})
}

// proxyIndexKeysSQL lists indexes with their method and key columns in order,
// each with DESC where the index stores it descending (INCLUDE columns are
// not keys).
const proxyIndexKeysSQL = `SELECT ic.relname::text, am.amname::text,
		(SELECT string_agg(a.attname || CASE WHEN i.indoption[k.n - 1] & 1 = 1 THEN ' DESC' ELSE '' END, ', ' ORDER BY k.n)
		 FROM generate_series(1, i.indnkeyatts) AS k(n)
		 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[k.n - 1]),
		i.indpred IS NOT NULL, i.indisunique
	FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam`

// proxyUncoveredFKs returns the foreign keys matching where (on pg_constraint
// c) that no btree index covers: an index whose leading key columns are
// exactly the key's columns (in any order), either complete or partial on
// "<one of those columns> IS NOT NULL" (which every lookup by the key
// implies). It also returns how many keys it checked.
func proxyUncoveredFKs(t *testing.T, d *pgtest.DB, where string) ([]string, int) {
	t.Helper()
	ctx := pgtest.Ctx(t)
	rows, err := d.Pool.Query(ctx, `
		SELECT c.conrelid::regclass::text || '.' || c.conname,
		       NOT EXISTS (
		         SELECT 1 FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
		         WHERE i.indrelid = c.conrelid AND am.amname = 'btree'
		           AND i.indnkeyatts >= cardinality(c.conkey)
		           AND (SELECT array_agg(i.indkey[n]::int2 ORDER BY i.indkey[n]) FROM generate_series(0, cardinality(c.conkey) - 1) AS n)
		               = (SELECT array_agg(k ORDER BY k) FROM unnest(c.conkey) AS k)
		           AND (i.indpred IS NULL OR EXISTS (
		                 SELECT 1 FROM unnest(c.conkey) AS k JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k
		                 WHERE pg_get_expr(i.indpred, i.indrelid) = '(' || quote_ident(a.attname) || ' IS NOT NULL)')))
		FROM pg_constraint c WHERE c.contype = 'f' AND `+where+` ORDER BY 1`)
	require.NoError(t, err)
	var uncovered []string
	total := 0
	for rows.Next() {
		var name string
		var bad bool
		require.NoError(t, rows.Scan(&name, &bad))
		total++
		if bad {
			uncovered = append(uncovered, name)
		}
	}
	require.NoError(t, rows.Err())
	return uncovered, total
}
