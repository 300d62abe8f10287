package conformance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/internal/harness/pgserver"
	"github.com/mentordb/mentordb/internal/harness/schemadump"
)

// pgDumpOrSkip: the schema checks need PostgreSQL 15's pg_dump (installed
// with the server binaries, package postgresql-client-15). Outside CI a
// machine without it skips, saying so; in CI it fails.
func pgDumpOrSkip(t *testing.T) {
	t.Helper()
	if _, err := pgserver.Tool("pg_dump"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("REV-2 needs pg_dump: %v (install postgresql-client-15 or set PG_BINDIR)", err)
		}
		t.Skipf("REV-2 not run: %v (install postgresql-client-15 or set PG_BINDIR)", err)
	}
}

// testSchema proves REV-2: sql/schema.sql is the normalised dump of the
// migrated database (what make generate writes), so a stale file fails.
func testSchema(t *testing.T) {
	t.Parallel()

	t.Run("REV-2 sql/schema.sql is what make generate writes from the migrated database", func(t *testing.T) {
		t.Parallel()
		pgDumpOrSkip(t)
		ctx := pgtest.Ctx(t)
		platform := pgtest.NewEmpty(t)
		applyPlatform(t, platform)
		d := pgtest.New(t)
		want, err := schemadump.Schema(ctx, platform.URL, d.URL)
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join("..", schemadump.File))
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), "%s is stale: run make generate and commit it", schemadump.File)
	})

	// The check above can fail: a schema change shows in the dump as
	// exactly the entry it changes, and the platform shim's objects never do.
	t.Run("REV-2 a change to the schema changes its entry in the dump, and the platform's objects stay out", func(t *testing.T) {
		t.Parallel()
		pgDumpOrSkip(t)
		ctx := pgtest.Ctx(t)
		platform := pgtest.NewEmpty(t)
		applyPlatform(t, platform)
		d := pgtest.New(t)
		before, err := schemadump.Schema(ctx, platform.URL, d.URL)
		require.NoError(t, err)
		require.False(t, strings.Contains(string(before), "; Schema: auth\n"), "the platform's auth functions are left out")
		require.True(t, strings.Contains(string(before), "-- Name: proxy_activities proxy_activities_select_coordinator; Type: POLICY; Schema: public\n"))
		d.Exec(t, `ALTER POLICY proxy_activities_select_coordinator ON proxy_activities TO authenticated, anon`)
		after, err := schemadump.Schema(ctx, platform.URL, d.URL)
		require.NoError(t, err)
		require.NotEqual(t, string(before), string(after))
		var changed []string
		b, a := strings.Split(string(before), "\n"), strings.Split(string(after), "\n")
		require.Len(t, a, len(b))
		for i := range b {
			if b[i] != a[i] {
				changed = append(changed, a[i])
			}
		}
		require.Len(t, changed, 1)
		require.Contains(t, changed[0], "CREATE POLICY proxy_activities_select_coordinator ON public.proxy_activities FOR SELECT TO anon, authenticated ")
	})
}
