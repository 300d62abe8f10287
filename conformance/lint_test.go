package conformance

import (
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
)

// testLint runs plpgsql_check over every PL/pgSQL function, trigger
// functions included: `supabase db lint` skips functions returning trigger,
// and most of the schema's rules live in triggers.
func testLint(t *testing.T) {
	t.Parallel()
	t.Run("EXT-1 plpgsql_check finds nothing in any PL/pgSQL function, triggers included", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		var available bool
		require.NoError(t, d.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'plpgsql_check')`).Scan(&available))
		if !available {
			if os.Getenv("CI") == "true" {
				t.Fatal("plpgsql_check is not installed (Debian: postgresql-15-plpgsql-check)")
			}
			t.Skip("plpgsql_check is not installed (Debian: postgresql-15-plpgsql-check)")
		}
		d.Exec(t, `CREATE EXTENSION plpgsql_check`)
		// One row per function and, for trigger functions, per table whose
		// trigger calls it: plpgsql_check needs the relation to type NEW/OLD.
		rows, err := d.Pool.Query(ctx, `
			SELECT p.oid::regprocedure::text, coalesce(t.tgrelid, 0)::oid
			FROM pg_proc p
			JOIN pg_language l ON l.oid = p.prolang AND l.lanname = 'plpgsql'
			JOIN pg_namespace n ON n.oid = p.pronamespace AND n.nspname IN ('public', 'private', 'auth')
			LEFT JOIN pg_trigger t ON t.tgfoid = p.oid AND NOT t.tgisinternal
			ORDER BY 1, 2`)
		require.NoError(t, err)
		type target struct {
			fn  string
			rel uint32
		}
		targets, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (target, error) {
			var tg target
			return tg, r.Scan(&tg.fn, &tg.rel)
		})
		require.NoError(t, err)
		require.NotEmpty(t, targets)
		checked := 0
		for _, tg := range targets {
			rows, err := d.Pool.Query(ctx, `SELECT * FROM plpgsql_check_function($1::regprocedure, $2::oid, fatal_errors => false, extra_warnings => true, performance_warnings => true)`, tg.fn, tg.rel)
			require.NoError(t, err, tg.fn)
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			require.NoError(t, err, tg.fn)
			require.Empty(t, lines, "plpgsql_check on %s (relation %d)", tg.fn, tg.rel)
			checked++
		}
		t.Logf("mentordb-metric: plpgsql_check_functions_checked=%d", checked)
	})
}
