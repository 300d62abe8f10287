package supabasecli

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// EnvE2EDatabaseURL opts in to TestEndToEnd: the URL of an empty database on
// which sql/platform has been applied. The conformance matrix proves EXT-1 on
// its own server; this test is the package's smoke test against the real CLI.
const EnvE2EDatabaseURL = "SUPABASECLI_E2E_DATABASE_URL"

func TestEndToEnd(t *testing.T) {
	dbURL := os.Getenv(EnvE2EDatabaseURL)
	if dbURL == "" {
		t.Skip(EnvE2EDatabaseURL + " not set")
	}
	cli, err := Find()
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	v, err := cli.Version(ctx)
	require.NoError(t, err)
	require.Equal(t, Version, v)

	root, err := moduleRoot()
	require.NoError(t, err)
	migrations := filepath.Join(root, "sql", "migrations")
	entries, err := filepath.Glob(filepath.Join(migrations, "*.sql"))
	require.NoError(t, err)

	start := time.Now()
	require.NoError(t, cli.MigrationUp(ctx, dbURL, migrations))
	t.Logf("migration up: %s", time.Since(start))

	start = time.Now()
	rows, err := cli.MigrationList(ctx, dbURL, migrations)
	require.NoError(t, err)
	t.Logf("migration list: %s", time.Since(start))
	require.Len(t, rows, len(entries))
	for _, r := range rows {
		require.True(t, r.Applied() && r.Local == r.Remote, "%+v", r)
	}

	conn, err := pgx.Connect(ctx, dbURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var n, empty int
	require.NoError(t, conn.QueryRow(ctx,
		`SELECT count(*), count(*) FILTER (WHERE coalesce(cardinality(statements), 0) = 0 OR name = '')
		 FROM supabase_migrations.schema_migrations`).Scan(&n, &empty))
	require.Equal(t, len(entries), n)
	require.Zero(t, empty)

	start = time.Now()
	adv, err := cli.Advisors(ctx, dbURL)
	require.NoError(t, err)
	t.Logf("db advisors: %s", time.Since(start))
	for _, f := range adv {
		t.Logf("advisor: %s", f)
	}
	require.Empty(t, SchemaFindings(adv), "EXT-1 advisors")

	start = time.Now()
	lint, err := cli.Lint(ctx, dbURL)
	require.NoError(t, err)
	t.Logf("db lint: %s", time.Since(start))
	require.Empty(t, lint, "EXT-1 lint")
}
