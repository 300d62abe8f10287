package conformance

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db/migrate"
	"github.com/mentordb/mentordb/internal/harness/provision"
	"github.com/mentordb/mentordb/internal/harness/testdb"
)

func testHarness(t *testing.T) {
	t.Parallel()

	t.Run("CONF-1 each test gets its own clone of one template per migration hash", func(t *testing.T) {
		t.Parallel()
		ctx := pgtest.Ctx(t)
		a, b := pgtest.New(t), pgtest.New(t)
		require.NotEqual(t, a.Name, b.Name)

		hash, err := provision.Hash()
		require.NoError(t, err)
		tmpl := testdb.Template(t)
		require.True(t, strings.HasSuffix(tmpl, hash), "template %s is named by the migration hash %s", tmpl, hash)

		var isTemplate, allowConn bool
		require.NoError(t, a.Pool.QueryRow(ctx, `SELECT datistemplate, datallowconn FROM pg_database WHERE datname = $1`, tmpl).
			Scan(&isTemplate, &allowConn))
		require.True(t, isTemplate)
		require.False(t, allowConn, "nobody may connect to the template, so clones never wait")

		var templates int
		require.NoError(t, a.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, tmpl).Scan(&templates))
		require.Equal(t, 1, templates)

		// Both clones hold every migration, recorded, and are independent.
		st, err := migrate.New(openSQL(t, a.URL), migrate.Default()).Status(ctx)
		require.NoError(t, err)
		require.NotEmpty(t, st)
		for _, s := range st {
			require.True(t, s.Applied, s.Version)
		}
		a.NewOrg(t)
		var n int
		require.NoError(t, b.Pool.QueryRow(ctx, `SELECT count(*) FROM organizations`).Scan(&n))
		require.Zero(t, n, "a write in one test's database is invisible in another's")
	})

	t.Run("GEN-1 gen/ is what sqlc generates from sql/ (sqlc diff)", func(t *testing.T) {
		t.Parallel()
		out, err := sqlcCommand(context.Background(), "diff").CombinedOutput()
		require.NoError(t, err, "gen/ is stale; run make generate:\n%s", out)
	})
}

var sqlcBuilt sync.Once

// sqlcCommand runs the pinned sqlc in the repository root: its modfile,
// tools/go.mod, is outside the workspace, so the go command runs it with
// GOWORK=off. The first call builds sqlc (go tool caches the binary) with no
// deadline: on an empty build cache that takes minutes (it compiles
// libpg_query), which a caller's deadline is not meant to cover.
func sqlcCommand(ctx context.Context, args ...string) *exec.Cmd {
	sqlcBuilt.Do(func() {
		cmd := exec.Command("go", "tool", "-modfile=tools/go.mod", "sqlc", "version")
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), "GOWORK=off")
		_ = cmd.Run() // a failure shows again, with its output, in the caller's own run
	})
	cmd := exec.CommandContext(ctx, "go", append([]string{"tool", "-modfile=tools/go.mod", "sqlc"}, args...)...)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "GOWORK=off")
	return cmd
}
