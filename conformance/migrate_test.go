package conformance

import (
	"io/fs"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db/migrate"
)

func testMigrate(t *testing.T) {
	t.Parallel()

	setup := func(t *testing.T) *pgtest.DB {
		d := pgtest.NewEmpty(t)
		applyPlatform(t, d)
		return d
	}

	t.Run("DB-3 two runners started together apply each migration exactly once", func(t *testing.T) {
		t.Parallel()
		d := setup(t)
		ctx := pgtest.Ctx(t)
		files := migrationFiles(t)

		var wg sync.WaitGroup
		results := make([][]migrate.Migration, 2)
		errs := make([]error, 2)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Separate pools, as two service replicas would have.
				results[i], errs[i] = migrate.New(openSQL(t, d.URL), migrate.Default()).Up(ctx)
			}()
		}
		wg.Wait()
		require.NoError(t, errs[0])
		require.NoError(t, errs[1])
		require.Equal(t, len(files), len(results[0])+len(results[1]), "every migration applied once in all")
		require.True(t, len(results[0]) == 0 || len(results[1]) == 0, "the advisory lock made one runner wait for the other, which then found nothing to do")

		// Recorded as the Supabase CLI records it: version, name, statements.
		rows, err := d.Pool.Query(ctx, `SELECT version, name, statements FROM supabase_migrations.schema_migrations ORDER BY version`)
		require.NoError(t, err)
		defer rows.Close()
		i := 0
		for rows.Next() {
			var version, name string
			var stmts []string
			require.NoError(t, rows.Scan(&version, &name, &stmts))
			require.Equal(t, files[i][:14], version)
			require.Equal(t, files[i][15:len(files[i])-4], name)
			body, err := fs.ReadFile(migrate.Default().Migrations, files[i])
			require.NoError(t, err)
			require.Equal(t, migrate.Split(string(body)), stmts)
			i++
		}
		require.NoError(t, rows.Err())
		require.Equal(t, len(files), i)

		again, err := migrate.New(openSQL(t, d.URL), migrate.Default()).Up(ctx)
		require.NoError(t, err)
		require.Empty(t, again, "a second run applies nothing")
	})

	t.Run("DB-3 an applied migration whose file changed is reported, not ignored", func(t *testing.T) {
		t.Parallel()
		d := setup(t)
		ctx := pgtest.Ctx(t)
		_, err := migrate.New(openSQL(t, d.URL), migrate.Default()).Up(ctx)
		require.NoError(t, err)

		changed := fstest.MapFS{}
		files := migrationFiles(t)
		for i, f := range files {
			b, err := fs.ReadFile(migrate.Default().Migrations, f)
			require.NoError(t, err)
			if i == 0 {
				b = append(b, []byte("\nCREATE TABLE public.sneaky (id int);\n")...)
			}
			changed[f] = &fstest.MapFile{Data: b}
		}
		_, err = migrate.New(openSQL(t, d.URL), migrate.Source{Migrations: changed}).Up(ctx)
		require.ErrorIs(t, err, migrate.ErrChanged)
		var mErr *migrate.Error
		require.ErrorAs(t, err, &mErr)
		require.Equal(t, files[0][:14], mErr.Version)
	})

	t.Run("DB-3 a failing migration leaves nothing half-applied", func(t *testing.T) {
		t.Parallel()
		d := setup(t)
		ctx := pgtest.Ctx(t)
		bad := fstest.MapFS{
			"20990101000000_bad.sql": {Data: []byte("CREATE TABLE public.half (id int);\nSELECT 1/0;\n")},
		}
		_, err := migrate.New(openSQL(t, d.URL), migrate.Source{Migrations: bad}).Up(ctx)
		require.Error(t, err)
		var n int
		require.NoError(t, d.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE tablename = 'half'`).Scan(&n))
		require.Zero(t, n)
		require.NoError(t, d.Pool.QueryRow(ctx, `SELECT count(*) FROM supabase_migrations.schema_migrations`).Scan(&n))
		require.Zero(t, n)
	})
}

// requireRecorded asserts that the Go runner recorded file in the history the
// way the Supabase CLI does: its name and exactly its statements.
func requireRecorded(t *testing.T, d *pgtest.DB, file string) {
	t.Helper()
	var name string
	var stmts []string
	require.NoError(t, d.Pool.QueryRow(pgtest.Ctx(t), `SELECT name, statements FROM supabase_migrations.schema_migrations WHERE version = $1`,
		file[:14]).Scan(&name, &stmts))
	require.Equal(t, strings.TrimSuffix(file[15:], ".sql"), name)
	body, err := fs.ReadFile(migrate.Default().Migrations, file)
	require.NoError(t, err)
	require.Equal(t, migrate.Split(string(body)), stmts, "the statements recorded are the embedded file's")
}
