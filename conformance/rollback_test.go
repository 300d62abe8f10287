package conformance

import (
	"database/sql"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db/migrate"
	"github.com/mentordb/mentordb/internal/harness/provision"
)

// rollbackIDs names the requirement each migration's rollback proves.
var rollbackIDs = map[string]string{
	"foundation":                        "foundation",
	"proxy_activities":                  "PA-MIG-2",
	"peer_mentor_status":                "PS-MIG-2 tables",
	"pause_rls_and_rpcs":                "PS-MIG-2 RLS and RPCs",
	"input_bounds":                      "PA-IN-1 PS-IN-1 PA-ORG-3",
	"input_bounds_validate":             "PA-IN-1 PS-IN-1 validation",
	"membership_helper_scope":           "membership helper scope",
	"owner_guarantees":                  "PS-LOG-2",
	"proxy_activities_membership_check": "PA-ORG-1 PA-ORG-3",
}

// upTo returns the embedded source cut after version (inclusive), so a test
// can stand the schema at any point of its history.
func upTo(t *testing.T, version string) migrate.Source {
	t.Helper()
	full := migrate.Default()
	cut := func(src fs.FS) fs.FS {
		out := fstest.MapFS{}
		entries, err := fs.ReadDir(src, ".")
		require.NoError(t, err)
		for _, e := range entries {
			if e.Name()[:14] <= version {
				b, err := fs.ReadFile(src, e.Name())
				require.NoError(t, err)
				out[e.Name()] = &fstest.MapFile{Data: b}
			}
		}
		return out
	}
	return migrate.Source{Migrations: cut(full.Migrations), Rollbacks: cut(full.Rollbacks)}
}

// migrationFiles lists the embedded migrations in order.
func migrationFiles(t *testing.T) []string {
	t.Helper()
	entries, err := fs.ReadDir(migrate.Default().Migrations, ".")
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func openSQL(t *testing.T, url string) *sql.DB {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	require.NoError(t, err)
	sqlDB := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { sqlDB.Close() })
	return sqlDB
}

func applyPlatform(t *testing.T, d *pgtest.DB) {
	t.Helper()
	require.NoError(t, provision.Apply(pgtest.Ctx(t), d.URL))
}

func catalog(t *testing.T, d *pgtest.DB) []string {
	t.Helper()
	c, err := pgtest.Catalog(pgtest.Ctx(t), d.Pool)
	require.NoError(t, err)
	return c
}

// TestRollback applies each migration on top of its predecessors, rolls it
// back with its rollback file through the runner, and compares the whole
// catalog with the one before: a rollback must restore the previous schema
// exactly, then let the migration apply again to the same schema.
func testRollback(t *testing.T) {
	t.Parallel()
	files := migrationFiles(t)
	require.NotEmpty(t, files)
	for i, file := range files {
		version, name, _ := strings.Cut(strings.TrimSuffix(file, ".sql"), "_")
		prev := "00000000000000"
		if i > 0 {
			prev = files[i-1][:14]
		}
		label := rollbackIDs[name]
		t.Run(label+" rollback of "+file+" restores the previous catalog", func(t *testing.T) {
			t.Parallel()
			ctx := pgtest.Ctx(t)
			d := pgtest.NewEmpty(t)
			applyPlatform(t, d)
			sqlDB := openSQL(t, d.URL)

			_, err := migrate.New(sqlDB, upTo(t, prev)).Up(ctx)
			require.NoError(t, err)
			before := catalog(t, d)

			runner := migrate.New(sqlDB, upTo(t, version))
			applied, err := runner.Up(ctx)
			require.NoError(t, err)
			require.Len(t, applied, 1)
			after := catalog(t, d)
			require.NotEqual(t, before, after, "the migration changed nothing")

			_, err = runner.Down(ctx, prev)
			require.NoError(t, err)
			require.Equal(t, before, catalog(t, d))

			_, err = runner.Up(ctx)
			require.NoError(t, err)
			require.Equal(t, after, catalog(t, d), "re-applying after the rollback gives the same schema")
		})
	}
}
