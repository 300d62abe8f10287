package conformance

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/conformance/supabasecli"
	"github.com/mentordb/mentordb/db/migrate"
	"github.com/mentordb/mentordb/db/platform"
)

// Another team's migrations, as a project that embeds mentordb has them: one
// older than all of mentordb's, one between two of mentordb's, one newer
// than all. They touch only their own schema, so they apply with or without
// mentordb's.
var theirs = map[string]string{
	"20200101000000_theirs_before.sql":  "CREATE SCHEMA IF NOT EXISTS theirs;\nCREATE TABLE theirs.before_t (id int PRIMARY KEY);\n",
	"20261120500000_theirs_between.sql": "CREATE SCHEMA IF NOT EXISTS theirs;\nCREATE TABLE theirs.between_t (id int PRIMARY KEY);\n",
	"20991231000000_theirs_after.sql":   "CREATE SCHEMA IF NOT EXISTS theirs;\nCREATE TABLE theirs.after_t (id int PRIMARY KEY);\n",
}

func theirSource() migrate.Source {
	fsys := fstest.MapFS{}
	for name, body := range theirs {
		fsys[name] = &fstest.MapFile{Data: []byte(body)}
	}
	return migrate.Source{Migrations: fsys}
}

// historyRows is the whole shared history, every column, in version order.
func historyRows(t *testing.T, d *pgtest.DB) [][3]any {
	t.Helper()
	rows, err := d.Pool.Query(pgtest.Ctx(t), `SELECT version, name, statements FROM supabase_migrations.schema_migrations ORDER BY version`)
	require.NoError(t, err)
	defer rows.Close()
	var out [][3]any
	for rows.Next() {
		var v, n string
		var s []string
		require.NoError(t, rows.Scan(&v, &n, &s))
		out = append(out, [3]any{v, n, s})
	}
	require.NoError(t, rows.Err())
	return out
}

// sharedHistory is a platform database whose history holds the other
// team's three versions (applied by the same runner with their source, as
// another service would) and all of mentordb's.
func sharedHistory(t *testing.T) *pgtest.DB {
	t.Helper()
	d := pgtest.NewEmpty(t)
	applyPlatform(t, d)
	ctx := pgtest.Ctx(t)
	done, err := migrate.New(openSQL(t, d.URL), theirSource()).Up(ctx)
	require.NoError(t, err)
	require.Len(t, done, len(theirs))
	done, err = migrate.New(openSQL(t, d.URL), migrate.Default()).Up(ctx)
	require.NoError(t, err)
	require.Len(t, done, len(migrationFiles(t)))
	return d
}

// requireForeignAlone asserts Status lists exactly the other team's versions
// as foreign and every one of mentordb's as applied and unchanged.
func requireForeignAlone(t *testing.T, ctx context.Context, d *pgtest.DB) {
	t.Helper()
	st, err := migrate.New(openSQL(t, d.URL), migrate.Default()).Status(ctx)
	require.NoError(t, err)
	var foreign []string
	own := 0
	for _, s := range st {
		require.True(t, s.Applied, "%+v", s)
		require.False(t, s.Changed || s.Retired || s.Pending, "%+v", s)
		if s.Foreign {
			foreign = append(foreign, s.Version+"_"+s.Name+".sql")
			require.Empty(t, s.File)
		} else {
			own++
		}
	}
	require.ElementsMatch(t, keys(theirs), foreign)
	require.Equal(t, len(migrationFiles(t)), own)
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func testSharedHistory(t *testing.T) {
	t.Parallel()

	t.Run("DB-MIG-1 the runner applies its own versions around foreign ones before, between and after, and leaves theirs alone", func(t *testing.T) {
		t.Parallel()
		ctx := pgtest.Ctx(t)
		d := pgtest.NewEmpty(t)
		applyPlatform(t, d)
		_, err := migrate.New(openSQL(t, d.URL), theirSource()).Up(ctx)
		require.NoError(t, err)
		before := historyRows(t, d)
		require.Len(t, before, len(theirs))

		// Every one of mentordb's versions is older than theirs_after, some
		// are older than theirs_between: applied all the same, in order.
		done, err := migrate.New(openSQL(t, d.URL), migrate.Default()).Up(ctx)
		require.NoError(t, err)
		require.Len(t, done, len(migrationFiles(t)))
		for i, m := range done {
			require.Equal(t, migrationFiles(t)[i], m.File)
			requireRecorded(t, d, m.File)
		}

		after := historyRows(t, d)
		var kept [][3]any
		for _, r := range after {
			if _, ok := theirs[r[0].(string)+"_"+r[1].(string)+".sql"]; ok {
				kept = append(kept, r)
			}
		}
		require.Equal(t, before, kept, "their rows are untouched")
		var n int
		require.NoError(t, d.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'theirs'`).Scan(&n))
		require.Equal(t, 3, n, "their tables are untouched")
		requireForeignAlone(t, ctx, d)

		again, err := migrate.New(openSQL(t, d.URL), migrate.Default()).Up(ctx)
		require.NoError(t, err)
		require.Empty(t, again)
		// The other team's runner, in turn, takes mentordb's versions as foreign.
		again, err = migrate.New(openSQL(t, d.URL), theirSource()).Up(ctx)
		require.NoError(t, err)
		require.Empty(t, again)
	})

	t.Run("DB-MIG-1 a changed migration of mentordb's among foreign versions is refused with ErrChanged and nothing changes", func(t *testing.T) {
		t.Parallel()
		ctx := pgtest.Ctx(t)
		d := sharedHistory(t)
		before := historyRows(t, d)
		src := copySource(t, migrate.Default())
		first := migrationFiles(t)[0]
		src.Migrations.(fstest.MapFS)[first].Data = append(src.Migrations.(fstest.MapFS)[first].Data, []byte("\nCREATE TABLE public.sneaky (id int);\n")...)
		src.Migrations.(fstest.MapFS)["20991231500000_next.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE public.next_t (id int);\n")}

		done, err := migrate.New(openSQL(t, d.URL), src).Up(ctx)
		require.ErrorIs(t, err, migrate.ErrChanged)
		var me *migrate.Error
		require.ErrorAs(t, err, &me)
		require.Equal(t, first[:14], me.Version)
		require.Empty(t, done)
		require.Equal(t, before, historyRows(t, d))
		require.False(t, exists(t, d, `SELECT to_regclass('public.next_t') IS NOT NULL`), "the pending migration was not applied")
	})

	t.Run("DB-MIG-1 a recorded version mentordb shipped but no longer ships is refused with ErrRetired and nothing changes", func(t *testing.T) {
		t.Parallel()
		ctx := pgtest.Ctx(t)
		d := sharedHistory(t)
		before := historyRows(t, d)
		src := copySource(t, migrate.Default())
		files := migrationFiles(t)
		last := files[len(files)-1]
		delete(src.Migrations.(fstest.MapFS), last)
		src.Migrations.(fstest.MapFS)["20991231500000_next.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE public.next_t (id int);\n")}

		done, err := migrate.New(openSQL(t, d.URL), src).Up(ctx)
		require.ErrorIs(t, err, migrate.ErrRetired)
		var me *migrate.Error
		require.ErrorAs(t, err, &me)
		require.Equal(t, last[:14], me.Version)
		require.NotContains(t, err.Error(), "theirs", "foreign versions are no error")
		require.Empty(t, done)
		require.Equal(t, before, historyRows(t, d))
		require.False(t, exists(t, d, `SELECT to_regclass('public.next_t') IS NOT NULL`))

		st, err := migrate.New(openSQL(t, d.URL), src).Status(ctx)
		require.NoError(t, err)
		for _, s := range st {
			if s.Version == last[:14] {
				require.True(t, s.Retired && !s.Foreign, "%+v", s)
			}
		}
	})

	t.Run("DB-MIG-1 Down rolls back only mentordb's versions, and one whose objects a foreign migration uses fails and stays applied", func(t *testing.T) {
		t.Parallel()
		ctx := pgtest.Ctx(t)
		d := sharedHistory(t)
		uses := migrate.Source{Migrations: fstest.MapFS{
			"20991231700000_theirs_uses_orgs.sql": {Data: []byte("CREATE TABLE theirs.org_notes (org_id uuid REFERENCES public.organizations (id));\n")},
		}}
		_, err := migrate.New(openSQL(t, d.URL), uses).Up(ctx)
		require.NoError(t, err)

		files := migrationFiles(t)
		done, err := migrate.New(openSQL(t, d.URL), migrate.Default()).Down(ctx, "0")
		require.Error(t, err, "the foundation's rollback cannot drop organizations while their table references it")
		var me *migrate.Error
		require.ErrorAs(t, err, &me)
		require.Equal(t, files[0][:14], me.Version)
		var pgErr *pgconn.PgError
		require.ErrorAs(t, err, &pgErr)
		require.Equal(t, "2BP01", pgErr.Code, "dependent_objects_still_exist: rollbacks do not CASCADE")
		require.Len(t, done, len(files)-1, "every later migration of mentordb's was rolled back")

		var left []string
		for _, r := range historyRows(t, d) {
			left = append(left, r[0].(string)+"_"+r[1].(string)+".sql")
		}
		require.ElementsMatch(t, append(append(keys(theirs), "20991231700000_theirs_uses_orgs.sql"), files[0]), left,
			"their versions stay recorded; the foundation stays applied")
		require.True(t, exists(t, d, `SELECT to_regclass('theirs.org_notes') IS NOT NULL`))
		require.True(t, exists(t, d, `SELECT to_regclass('public.organizations') IS NOT NULL`))
	})

	t.Run("DB-MIG-1 on a plain PostgreSQL without schema auth migrate fails with a PlatformError naming it, changing nothing; db/platform prepares it", func(t *testing.T) {
		t.Parallel()
		ctx := pgtest.Ctx(t)
		d := pgtest.NewEmpty(t)
		sqlDB := openSQL(t, d.URL)
		done, err := migrate.New(sqlDB, migrate.Default()).Up(ctx)
		require.ErrorIs(t, err, migrate.ErrPlatformMissing)
		var pe *migrate.PlatformError
		require.ErrorAs(t, err, &pe)
		require.Contains(t, pe.Missing, "schema auth")
		require.Contains(t, err.Error(), "db/platform")
		require.Empty(t, done)
		require.False(t, exists(t, d, `SELECT to_regnamespace('supabase_migrations') IS NOT NULL`), "not even the history schema was created")

		require.NoError(t, platform.Apply(ctx, sqlDB))
		require.NoError(t, platform.Apply(ctx, sqlDB), "idempotent")
		done, err = migrate.New(sqlDB, migrate.Default()).Up(ctx)
		require.NoError(t, err)
		require.Len(t, done, len(migrationFiles(t)))
	})

	t.Run("DB-MIG-1 Go runner path: the real Supabase CLI accepts the history the runner wrote among the project's own versions", func(t *testing.T) {
		t.Parallel()
		cli := supabaseCLI(t)
		ctx := cliCtx(t)
		project := theirProject(t)
		d := pgtest.NewEmpty(t)
		applyPlatform(t, d)

		applied, err := cli.DBPush(ctx, d.URL, project, false)
		require.NoError(t, err)
		require.ElementsMatch(t, keys(theirs), applied)
		done, err := migrate.New(openSQL(t, d.URL), migrate.Default()).Up(ctx)
		require.NoError(t, err)
		require.Len(t, done, len(migrationFiles(t)))

		// Their folder gets mentordb's files; the CLI matches every version
		// the runner recorded and has nothing to push.
		written, err := migrate.Export(migrate.Default(), project)
		require.NoError(t, err)
		require.Equal(t, migrationFiles(t), written)
		rows, err := cli.MigrationList(ctx, d.URL, project)
		require.NoError(t, err)
		require.Len(t, rows, len(theirs)+len(migrationFiles(t)))
		for _, r := range rows {
			require.Equal(t, r.Local, r.Remote, "%+v", r)
		}
		// Their next migration goes through as usual, and alone.
		next := "20991231600000_theirs_next.sql"
		require.NoError(t, os.WriteFile(filepath.Join(project, next), []byte("CREATE TABLE theirs.next_t (id int PRIMARY KEY);\n"), 0o644))
		applied, err = cli.DBPush(ctx, d.URL, project, false)
		require.NoError(t, err)
		require.Equal(t, []string{next}, applied)
	})

	t.Run("DB-MIG-1 export path: supabase db push applies the exported files with the project's own (--include-all for the older ones) and the runner recognises them", func(t *testing.T) {
		t.Parallel()
		cli := supabaseCLI(t)
		ctx := cliCtx(t)
		project := theirProject(t)
		d := pgtest.NewEmpty(t)
		applyPlatform(t, d)
		applied, err := cli.DBPush(ctx, d.URL, project, false)
		require.NoError(t, err)
		require.Len(t, applied, len(theirs))

		// mentordb added to a project whose history is already newer: the
		// CLI refuses without --include-all (the precedent the runner's
		// own rule departs from, see migrate.Up), and applies nothing.
		_, err = migrate.Export(migrate.Default(), project)
		require.NoError(t, err)
		before := historyRows(t, d)
		_, err = cli.DBPush(ctx, d.URL, project, false)
		var cliErr *supabasecli.Error
		require.ErrorAs(t, err, &cliErr)
		require.Contains(t, cliErr.Error(), "--include-all")
		require.Equal(t, before, historyRows(t, d))

		applied, err = cli.DBPush(ctx, d.URL, project, true)
		require.NoError(t, err)
		require.Equal(t, migrationFiles(t), applied)
		for _, f := range migrationFiles(t) {
			requireRecorded(t, d, f)
		}

		done, err := migrate.New(openSQL(t, d.URL), migrate.Default()).Up(ctx)
		require.NoError(t, err)
		require.Empty(t, done, "the runner takes the CLI's records of its files as its own")
		requireForeignAlone(t, ctx, d)
		// Same bytes, same schema as the runner builds (their tables aside).
		d.Exec(t, `DROP SCHEMA theirs CASCADE`)
		require.Equal(t, catalog(t, pgtest.New(t)), catalog(t, d))
	})
}

// theirProject is a Supabase project's supabase/migrations folder holding
// the other team's migrations.
func theirProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range theirs {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	return dir
}

// copySource copies src's migrations into a MapFS that a test may edit;
// Shipped is kept.
func copySource(t *testing.T, src migrate.Source) migrate.Source {
	t.Helper()
	out := fstest.MapFS{}
	for _, f := range migrationFiles(t) {
		b, err := fs.ReadFile(src.Migrations, f)
		require.NoError(t, err)
		out[f] = &fstest.MapFile{Data: b}
	}
	return migrate.Source{Migrations: out, Shipped: src.Shipped}
}

func exists(t *testing.T, d *pgtest.DB, query string) bool {
	t.Helper()
	var ok bool
	d.QueryRow(t, query).Scan(t, &ok)
	return ok
}

// cliCtx bounds a test that runs the Supabase CLI several times: each call
// starts a native binary that connects on its own, which on a loaded
// machine takes far longer than a query.
func cliCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
