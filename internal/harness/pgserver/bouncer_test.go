package pgserver

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/internal/harness/tools"
)

func TestFindBouncer(t *testing.T) {
	t.Parallel()
	execs := func(paths ...string) func(string) bool {
		return func(p string) bool {
			for _, q := range paths {
				if p == q {
					return true
				}
			}
			return false
		}
	}
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == EnvBouncer {
				return v
			}
			return ""
		}
	}
	onPath := func(p string) func(string) (string, error) {
		return func(string) (string, error) {
			if p == "" {
				return "", exec.ErrNotFound
			}
			return p, nil
		}
	}
	t.Run("PGBOUNCER wins", func(t *testing.T) {
		t.Parallel()
		p, err := findBouncer(env("/opt/pgb"), onPath("/usr/bin/pgbouncer"), execs("/opt/pgb", DefaultBouncer))
		require.NoError(t, err)
		require.Equal(t, "/opt/pgb", p)
	})
	t.Run("broken PGBOUNCER is an error, not a silent fallback", func(t *testing.T) {
		t.Parallel()
		_, err := findBouncer(env("/nope"), onPath("/usr/bin/pgbouncer"), execs(DefaultBouncer))
		require.EqualError(t, err, "PGBOUNCER=/nope: not an executable file")
	})
	t.Run("PATH before the Debian location", func(t *testing.T) {
		t.Parallel()
		p, err := findBouncer(env(""), onPath("/usr/local/bin/pgbouncer"), execs(DefaultBouncer))
		require.NoError(t, err)
		require.Equal(t, "/usr/local/bin/pgbouncer", p)
	})
	t.Run("Debian location when not on PATH", func(t *testing.T) {
		t.Parallel()
		p, err := findBouncer(env(""), onPath(""), execs(DefaultBouncer))
		require.NoError(t, err)
		require.Equal(t, DefaultBouncer, p)
	})
	t.Run("nothing found explains every step and the fix", func(t *testing.T) {
		t.Parallel()
		_, err := findBouncer(env(""), onPath(""), execs())
		require.Error(t, err)
		for _, p := range []string{"PGBOUNCER unset", "PATH: " + exec.ErrNotFound.Error(), DefaultBouncer + ": no executable", "install the Debian package pgbouncer"} {
			require.Contains(t, err.Error(), p)
		}
	})
}

func TestBouncerConfig(t *testing.T) {
	t.Parallel()
	up, err := upstreamOf("postgres://app:s3cret@db.example:6000/postgres")
	require.NoError(t, err)
	require.Equal(t, upstream{host: "db.example", port: 6000, user: "app", password: "s3cret"}, up)
	ini := bouncerConfig("/tmp/x", "127.0.0.1", 7000, 3, up, "PgBouncer 1.18.0")
	for _, line := range []string{
		"* = host=db.example port=6000 user=app password=s3cret\n",
		"pool_mode = transaction\n",
		"default_pool_size = 3\n",
		"listen_port = 7000\n",
		"listen_addr = 127.0.0.1\n",
		"logfile = /tmp/x/pgbouncer.log\n",
	} {
		require.Contains(t, ini, line)
	}
	require.NotContains(t, ini, "server_reset_query", "nothing may clean a server connection behind the suites' back")
	require.NotContains(t, ini, "max_prepared_statements", "PgBouncer 1.18 refuses the setting")
	for version, tracks := range map[string]bool{"PgBouncer 1.18.0": false, "PgBouncer 1.20.1": false, "PgBouncer 1.21.0": true, "PgBouncer 1.24.1": true, "PgBouncer 2.0": true, "": false} {
		require.Equal(t, tracks, tracksPrepared(version), version)
		require.Equal(t, tracks, strings.Contains(bouncerConfig("/tmp/x", "127.0.0.1", 7000, 3, up, version), "max_prepared_statements = 0\n"), version)
	}

	_, err = upstreamOf("postgres://app:has%20space@h/postgres")
	require.ErrorContains(t, err, "pgbouncer.ini cannot carry")
}

// localBouncer returns the pgbouncer program for the real tests: in CI a
// missing PgBouncer fails (DB-POOL-1 would prove nothing), elsewhere the
// test skips.
func localBouncer(t *testing.T) {
	t.Helper()
	if _, err := findBouncer(os.Getenv, exec.LookPath, tools.Executable); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %v", err)
		}
		t.Skip(err)
	}
}

// TestLocalBouncer proves the provider's PgBouncer pools in transaction
// mode: two clients share one server connection, and a named prepared
// statement from one transaction is gone (or foreign) in the next.
func TestLocalBouncer(t *testing.T) {
	t.Parallel()
	b := localBinaries(t)
	localBouncer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := startLocal(ctx, Options{Logf: t.Logf}, b)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Stop() })

	bo, err := StartBouncer(ctx, s, BouncerOptions{Logf: t.Logf, PoolSize: 1})
	require.NoError(t, err)
	require.Contains(t, bo.Version, "PgBouncer")
	dir := bo.Dir
	require.FileExists(t, dir+"/"+bouncerIni)

	admin, err := pgx.Connect(ctx, bo.AdminURL+"&default_query_exec_mode=simple_protocol")
	require.NoError(t, err)
	defer admin.Close(ctx)
	rows, err := admin.Query(ctx, "SHOW CONFIG")
	require.NoError(t, err)
	config := map[string]string{}
	for rows.Next() {
		vals, err := rows.Values()
		require.NoError(t, err)
		if k, ok := vals[0].(string); ok {
			v, _ := vals[1].(string)
			config[k] = v
		}
	}
	require.NoError(t, rows.Err())
	require.Equal(t, "transaction", config["pool_mode"])
	require.Equal(t, "1", config["default_pool_size"])

	connect := func() *pgx.Conn {
		c, err := pgx.Connect(ctx, bo.URL+"&default_query_exec_mode=simple_protocol")
		require.NoError(t, err)
		t.Cleanup(func() { c.Close(context.Background()) })
		return c
	}
	one, two := connect(), connect()
	var pid1, pid2 int
	require.NoError(t, one.QueryRow(ctx, "select pg_backend_pid()").Scan(&pid1))
	require.NoError(t, two.QueryRow(ctx, "select pg_backend_pid()").Scan(&pid2))
	require.Equal(t, pid1, pid2, "pool size 1: both clients run on the one server connection")

	// A named statement prepared by one client is on the shared server
	// connection: the other client collides with it. This is why a client
	// behind such a pooler must not use named prepared statements.
	_, err = one.PgConn().Prepare(ctx, "s1", "select 1", nil)
	require.NoError(t, err)
	_, err = two.PgConn().Prepare(ctx, "s1", "select 2", nil)
	require.ErrorContains(t, err, "already exists")

	require.NoError(t, bo.Stop())
	require.NoError(t, bo.Stop(), "Stop is idempotent")
	require.NoDirExists(t, dir)
	_, err = pgx.Connect(ctx, bo.URL)
	require.Error(t, err, "PgBouncer must be gone after Stop")
	var nilB *Bouncer
	require.NoError(t, nilB.Stop())
}
