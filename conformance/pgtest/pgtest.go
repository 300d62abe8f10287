package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mentordb/mentordb/db"
	"github.com/mentordb/mentordb/internal/harness/pgserver"
	"github.com/mentordb/mentordb/internal/harness/provision"
)

var (
	server   *pgserver.Server
	tmplOnce sync.Once
	tmplName string
	tmplErr  error
)

// Main starts one PostgreSQL for the test binary, runs the tests and stops it,
// also when tests fail. Call it from TestMain. Where no PostgreSQL can be had,
// tests fail with the reason; outside CI they may skip instead, which the
// report then shows as missing, never as passed.
func Main(m *testing.M) int {
	ctx := context.Background()
	keep := os.Getenv(envKeep) == "1"
	s, err := pgserver.Start(ctx, pgserver.Options{Logf: func(string, ...any) {}, Settings: profilerSettings, Keep: keep})
	if err != nil {
		startErr = err
		return m.Run()
	}
	server = s
	profileErr = checkProfiler(ctx, s)
	code := m.Run()
	stopBouncer()
	if err := s.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: stop server: %v\n", err)
	}
	return code
}

var startErr error

// envKeep keeps a disposable server's data directory after the run, with
// every failed test's database in it, for inspection.
const envKeep = "CONFORMANCE_KEEP"

// Server returns the server of this test binary, failing (in CI) or skipping
// the test where there is none.
func Server(t testing.TB) *pgserver.Server {
	t.Helper()
	if server == nil {
		msg := fmt.Sprintf("no PostgreSQL for the conformance suite: %v", startErr)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return server
}

// DB is one test's database: a clone of the migrated template.
type DB struct {
	Name string
	// URL connects as the server's superuser, which owns every table and so
	// bypasses RLS: use it for fixtures, never to prove a policy.
	URL  string
	Pool *pgxpool.Pool
	// App runs work as a user, the PostgREST way (role and claims in one
	// transaction). This is the only way a test may prove RLS.
	App *db.DB
}

// New clones the template into a fresh database for t. The database is
// dropped when t passes and kept, with its name logged, when t fails.
func New(t testing.TB) *DB {
	t.Helper()
	skipAfterFailure(t)
	s := Server(t)
	return create(t, s, template(t, s), true)
}

// NewEmpty creates a database with neither the platform shim nor any
// migration, for tests of the migration tools themselves.
func NewEmpty(t testing.TB) *DB {
	t.Helper()
	// The template build creates the cluster-wide roles first, so tests that
	// apply the platform shim to empty databases in parallel find them in
	// place and write no shared catalog row.
	s := Server(t)
	template(t, s)
	return create(t, s, "template0", false)
}

// template builds the migrated template once per test binary (or finds it
// built by an earlier binary on the same server).
func template(t testing.TB, s *pgserver.Server) string {
	t.Helper()
	tmplOnce.Do(func() {
		tmplName, tmplErr = BuildTemplate(context.Background(), s.URL)
	})
	if tmplErr != nil {
		t.Fatalf("build template: %v", tmplErr)
	}
	return tmplName
}

// Template returns the name of the migrated template, building it if needed.
func Template(t testing.TB) string {
	t.Helper()
	return template(t, Server(t))
}

// create clones template for t. migrated marks a clone of the migrated
// template or of a seeded copy of it: the schema the matrix proves, which
// the trace records and the mutation run mutates.
func create(t testing.TB, s *pgserver.Server, template string, migrated bool) *DB {
	t.Helper()
	ctx := context.Background()
	name := "t_" + randomHex(8)
	admin, err := pgx.Connect(ctx, s.URL)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s STRATEGY FILE_COPY`, name, template)); err != nil {
		t.Fatalf("clone %s: %v", template, err)
	}
	d := &DB{Name: name, URL: WithDatabase(s.URL, name)}
	if migrated {
		applyMutant(ctx, d.URL)
	}
	cfg, err := pgxpool.ParseConfig(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 12
	d.Pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	d.App = db.New(d.Pool)
	t.Cleanup(func() {
		d.Pool.Close()
		if migrated {
			if err := traceTest(s.URL, name, t.Name()); err != nil {
				t.Errorf("trace %s: %v", name, err)
			}
		}
		// Before the drop, and also for a kept database: PS-COV-1 counts
		// every execution of the matrix, failed tests' included.
		// A failed harvest fails PS-COV-1, not this test.
		if err := harvest(d.URL, migrated); err != nil {
			profile.AddError(fmt.Errorf("harvest %s (%s): %w", name, t.Name(), err))
		}
		if t.Failed() {
			anyFailed.Store(true)
		}
		if t.Failed() && !mutantRun() {
			t.Logf("kept database %s for inspection (%s); a disposable server is kept only with %s=1", name, d.URL, envKeep)
			return
		}
		if s.Kind != pgserver.KindURL {
			// The whole disposable server goes at the end of the run, so a
			// drop per test would only cost time.
			return
		}
		c, err := pgx.Connect(ctx, s.URL)
		if err != nil {
			t.Logf("drop %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, fmt.Sprintf(`DROP DATABASE %s WITH (FORCE)`, name)); err != nil {
			t.Logf("drop %s: %v", name, err)
		}
	})
	return d
}

// templateLock serialises template builds across test binaries that share a
// server (CONFORMANCE_DATABASE_URL), so the first builds and the rest reuse.
const templateLock = 0x6d656e746f72 // "mentor"

// BuildTemplate builds the migrated template on the server at adminURL, or
// finds it built, and returns its name (it carries the migration hash). The
// mutation run uses it to find the template its unmutated run built.
func BuildTemplate(ctx context.Context, adminURL string) (string, error) {
	hash, err := provision.Hash()
	if err != nil {
		return "", err
	}
	name := "mentordb_tmpl_" + hash
	return name, buildOnce(ctx, adminURL, name, `CREATE DATABASE `+name, func() error {
		if err := provision.Prepare(ctx, WithDatabase(adminURL, name)); err != nil {
			return fmt.Errorf("prepare %s: %w", name, err)
		}
		return nil
	})
}

// buildOnce makes the template database name, unless it is there already:
// create (the CREATE DATABASE statement), then fill, then mark it a template
// that accepts no connections. It holds templateLock throughout, so binaries
// sharing the server build it once, and starts over from a build that died
// half-way (a database not yet marked a template).
func buildOnce(ctx context.Context, adminURL, name, create string, fill func() error) error {
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return err
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(templateLock)); err != nil {
		return err
	}
	defer admin.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, int64(templateLock))

	var ready bool
	err = admin.QueryRow(ctx, `SELECT datistemplate FROM pg_database WHERE datname = $1`, name).Scan(&ready)
	switch {
	case err == nil && ready:
		return nil
	case err == nil:
		if _, err := admin.Exec(ctx, fmt.Sprintf(`DROP DATABASE %s WITH (FORCE)`, name)); err != nil {
			return err
		}
	case err != pgx.ErrNoRows:
		return err
	}
	if _, err := admin.Exec(ctx, create); err != nil {
		return err
	}
	if err := fill(); err != nil {
		return err
	}
	_, err = admin.Exec(ctx, fmt.Sprintf(`ALTER DATABASE %s WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`, name))
	return err
}

// WithDatabase returns url with its database replaced.
func WithDatabase(rawURL, name string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	u.Path = "/" + name
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Ctx returns a context bounded for one test step, so a deadlock fails the
// test instead of hanging the suite.
func Ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
