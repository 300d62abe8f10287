package conformance

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
	"github.com/mentordb/mentordb/internal/harness/pgserver"
	"github.com/mentordb/mentordb/internal/harness/provision"
	"github.com/mentordb/mentordb/internal/harness/testdb"
)

// ownServer is a PostgreSQL of this test alone, which it may restart: the
// shared server of the test binary must never go down under other tests.
// Only local binaries can be restarted this way (pg_ctl on the data
// directory); with another provider the test skips, saying why.
type ownServer struct {
	s    *pgserver.Server
	data string
	// pgCtl is pg_ctl beside the postgres binary the server runs.
	pgCtl string
}

func startOwnServer(t *testing.T) (*ownServer, *pgtest.DB) {
	t.Helper()
	testdb.Server(t) // fails in CI, skips elsewhere, when there is no PostgreSQL at all
	ctx := context.Background()
	// synchronous_commit on: an immediate shutdown loses the commits an
	// asynchronous commit acknowledged before its WAL was written, which
	// would be a loss of the server's making, not the client's.
	s, err := pgserver.Start(ctx, pgserver.Options{Settings: map[string]string{"synchronous_commit": "on"}})
	require.NoError(t, err)
	t.Cleanup(func() { s.Stop() })
	if s.Kind != pgserver.KindLocal {
		t.Skipf("DB-FAULT-1 restarts need a local PostgreSQL (pg_ctl on its data directory); the provider is %s", s.Kind)
	}
	o := &ownServer{s: s, data: filepath.Join(s.Dir, "data")}
	opts, err := os.ReadFile(filepath.Join(o.data, "postmaster.opts"))
	require.NoError(t, err)
	bin := strings.Trim(strings.Fields(string(opts))[0], `"`)
	o.pgCtl = filepath.Join(filepath.Dir(bin), "pg_ctl")
	// The restarted postmaster is pg_ctl's child, not pgserver's: stop it
	// before pgserver removes the data directory.
	t.Cleanup(func() { _ = o.pgctl("stop", "-m", "immediate") })

	admin, err := pgx.Connect(ctx, s.URL)
	require.NoError(t, err)
	_, err = admin.Exec(ctx, `CREATE DATABASE faults`)
	admin.Close(ctx)
	require.NoError(t, err)
	url := testdb.WithDatabase(s.URL, "faults")
	require.NoError(t, provision.Prepare(ctx, url))
	pool, err := pgxpool.New(ctx, url)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return o, &pgtest.DB{DB: &testdb.DB{Name: "faults", URL: url, Pool: pool, Migrated: true}, App: db.New(pool)}
}

// restart shuts the server down in mode (fast: clients are disconnected and
// open transactions rolled back; immediate: every process quits at once, and
// the start recovers from the WAL) and starts it again with the same
// settings (pg_ctl restart reads them from postmaster.opts).
func (o *ownServer) restart(mode string) error {
	return o.pgctl("restart", "-m", mode, "-l", filepath.Join(o.s.Dir, "restart.log"))
}

func (o *ownServer) pgctl(args ...string) error {
	cmd := exec.Command(o.pgCtl, append([]string{"-D", o.data, "-w", "-t", "30"}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if os.Geteuid() == 0 {
		// pg_ctl refuses root; the server runs as the OS user postgres.
		u, err := user.Lookup("postgres")
		if err != nil {
			return err
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// testFaultRestarts is the restart scenario of DB-FAULT-1, on a server of
// its own.
func testFaultRestarts(t *testing.T) {
	t.Run("DB-FAULT-1 one-call Create, Pause and Resume across a fast and an immediate shutdown and restart of the server report exactly what committed", func(t *testing.T) {
		t.Parallel()
		o, d := startOwnServer(t)
		f := newFaultFixture(t, d)
		app := newFaultApp(t, d.URL)
		const creates, pauses = 40, 16
		total := creates + pauses
		restarted := make(chan error, 1)
		modes := []string{"fast", "immediate"}
		var down []time.Duration
		creatTally, pauseTally := f.run(t, faultScenario{
			name: "server restart", app: app, creates: creates, pauses: pauses,
			each: func(i int, req func(context.Context) error) error {
				// A restart starts at a third and at two thirds of the run;
				// requests go on meanwhile, a few milliseconds apart.
				if i == total/3 || i == 2*total/3 {
					if i == 2*total/3 {
						require.NoError(t, <-restarted)
					}
					mode := modes[0]
					modes = modes[1:]
					go func() {
						t0 := time.Now()
						err := o.restart(mode)
						down = append(down, time.Since(t0))
						restarted <- err
					}()
				}
				time.Sleep(2 * time.Millisecond)
				return noFault(i, req)
			},
			end: func() { require.NoError(t, <-restarted) },
		})
		t.Logf("restarts took %v", down)
		creatTally.check(t)
		pauseTally.check(t)
		require.Less(t, creatTally.ok+pauseTally.ok, total, "the restarts failed some requests")
	})
}
