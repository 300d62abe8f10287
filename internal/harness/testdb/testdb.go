// Package testdb gives every test a database of its own: a clone of a
// template that a Migrator builds once per server and schema hash (the model
// of pgtestdb). One PostgreSQL serves the whole test binary (Main). What a
// test binary adds to each of its databases, such as the conformance
// matrix's mutants, traces, coverage and kept failures, it registers as
// Hooks; this package knows none of it.
package testdb

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

	"github.com/mentordb/mentordb/internal/harness/pgserver"
)

var (
	server   *pgserver.Server
	startErr error
	config   Config
	tmplOnce sync.Once
	tmplName string
	tmplErr  error
)

// Migrator builds the schema a template holds.
type Migrator interface {
	// Hash names the schema: one template is built per hash, so a changed
	// schema never finds a stale template.
	Hash() (string, error)
	// Migrate builds the schema in the empty database at url.
	Migrate(ctx context.Context, url string) error
}

// Config is what Main needs to know.
type Config struct {
	Migrator Migrator
	// Server tunes the PostgreSQL that Main starts (see pgserver.Start).
	Server pgserver.Options
	// Started, when set, runs once the server accepts connections.
	Started func(ctx context.Context, s *pgserver.Server)
	Hooks   Hooks
	// Seeds are built, with the migrated template, before the tests run,
	// and kept across runs (see Main).
	Seeds []*Seed
	// CodeDirs are the directories, relative to the repository root, whose
	// Go sources build the templates (the migration runner, the seed
	// loader, ...; this package's own are added). Their sources, the schema
	// hash and the seeds' keys name
	// the snapshot that keeps a local server's templates across runs.
	// Without them, or without the repository at hand, nothing is kept.
	CodeDirs []string
}

// Hooks are a test binary's own work on its databases. Each may be nil.
// "Migrated" databases are the clones of the migrated template and of the
// seeded copies of it (New, NewSeeded), not the empty ones (NewEmpty).
type Hooks struct {
	// Start runs before a test gets a migrated database; it may skip the
	// test.
	Start func(t testing.TB)
	// Cloned runs on every migrated database before the test sees it. Its
	// error fails the test with that error's text.
	Cloned func(ctx context.Context, url string) error
	// Seeded runs on a seeded template once its load has filled it. The
	// note it returns is kept with the template and handed to Reused by
	// every process that finds the template built (by an earlier binary on
	// the same server, or in a snapshot of an earlier run).
	Seeded func(ctx context.Context, url string) (note string, err error)
	// Reused runs once per process for each seeded template it finds
	// built, with that template's note.
	Reused func(note string) error
	// Done runs when the test ends, before its pool is closed (the pool
	// holds no transaction then: a connection released inside one is
	// closed, not pooled) and its database dropped, and says whether to keep
	// the database instead.
	Done func(t testing.TB, d *DB) (keep bool)
}

// Main starts one PostgreSQL for the test binary, runs the tests and stops
// it, also when tests fail. Call it from TestMain. Where no PostgreSQL can be
// had, every test that asks for a database fails with the reason in CI and
// skips elsewhere.
//
// A local server (the default provider) with Config.CodeDirs boots from a
// snapshot of a data directory that already holds the migrated template and
// every seeded one of Config.Seeds, taken by the first run with the same
// schema, seeds, code and binaries (pgserver Options.Cache); without one,
// Main builds them before the tests and takes the snapshot.
func Main(m *testing.M, c Config) int {
	ctx := context.Background()
	config = c
	opts := c.Server
	if opts.Cache == "" {
		name, err := snapshotName(c)
		if err != nil {
			fmt.Fprintf(os.Stderr, "testdb: no snapshot: %v\n", err)
		}
		opts.Cache = name
	}
	s, err := pgserver.Start(ctx, opts)
	if err != nil {
		startErr = err
		return m.Run()
	}
	server = s
	// One line naming the server (version and provider); the conformance
	// report reads it from the test output (its Server line).
	fmt.Printf("mentordb-server: %s\n", s.Describe())
	if c.Started != nil {
		c.Started(ctx, s)
	}
	if opts.Cache != "" && s.Kind == pgserver.KindLocal && !s.Cached {
		if err := prebuild(ctx, s); err != nil {
			fmt.Fprintf(os.Stderr, "testdb: no snapshot: %v\n", err)
		}
	}
	code := m.Run()
	stopBouncer()
	if admin != nil {
		admin.Close()
	}
	if err := s.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "testdb: stop server: %v\n", err)
	}
	return code
}

// Server returns the server of this test binary, failing (in CI) or skipping
// the test where there is none.
func Server(t testing.TB) *pgserver.Server {
	t.Helper()
	if server == nil {
		msg := fmt.Sprintf("no PostgreSQL for this test binary: %v", startErr)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return server
}

// DB is one test's database.
type DB struct {
	Name string
	// URL connects as the server's superuser, which owns every table and so
	// bypasses RLS.
	URL  string
	Pool *pgxpool.Pool
	// Migrated marks a clone of the migrated template or of a seeded copy
	// of it.
	Migrated bool
}

// New clones the migrated template into a fresh database for t, dropped
// when t ends unless Hooks.Done keeps it.
func New(t testing.TB) *DB {
	t.Helper()
	hookStart(t)
	s := Server(t)
	return create(t, s, template(t, s), true)
}

// hookStart runs Hooks.Start.
func hookStart(t testing.TB) {
	if config.Hooks.Start != nil {
		config.Hooks.Start(t)
	}
}

// NewEmpty creates an empty database (a clone of template0), for tests of
// the migration tools themselves.
func NewEmpty(t testing.TB) *DB {
	t.Helper()
	// The template is built first: what its migration creates cluster-wide
	// (roles) is then in place, so tests that migrate empty databases in
	// parallel write no shared catalog row.
	s := Server(t)
	template(t, s)
	return create(t, s, "template0", false)
}

// template builds the migrated template once per test binary (or finds it
// built by an earlier binary on the same server).
func template(t testing.TB, s *pgserver.Server) string {
	t.Helper()
	tmplOnce.Do(func() {
		tmplName, tmplErr = BuildTemplate(context.Background(), s.URL, config.Migrator)
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
// template or of a seeded copy of it (see Hooks).
func create(t testing.TB, s *pgserver.Server, template string, migrated bool) *DB {
	t.Helper()
	ctx := context.Background()
	name := "t_" + randomHex(8)
	admin, err := adminPool(s)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s STRATEGY FILE_COPY`, name, template)); err != nil {
		t.Fatalf("clone %s: %v", template, err)
	}
	d := &DB{Name: name, URL: WithDatabase(s.URL, name), Migrated: migrated}
	t.Cleanup(func() { release(t, s, d) })
	if migrated && config.Hooks.Cloned != nil {
		if err := config.Hooks.Cloned(ctx, d.URL); err != nil {
			t.Fatal(err)
		}
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
	return d
}

var (
	adminOnce sync.Once
	admin     *pgxpool.Pool
	adminErr  error
)

// adminPool returns the connections that clone databases, shared by every
// test of the binary: a connection of its own for every clone would cost a
// server backend's start and exit each.
func adminPool(s *pgserver.Server) (*pgxpool.Pool, error) {
	adminOnce.Do(func() {
		cfg, err := pgxpool.ParseConfig(s.URL)
		if err != nil {
			adminErr = err
			return
		}
		// CREATE DATABASE runs one at a time on the server (its checkpoint
		// and copy) whatever the number of clients.
		cfg.MaxConns = 4
		admin, adminErr = pgxpool.NewWithConfig(context.Background(), cfg)
	})
	return admin, adminErr
}

// release ends d when t is done: Hooks.Done, then the drop. A disposable
// server goes whole at the end of the run, so only a server the binary was
// pointed at (CONFORMANCE_DATABASE_URL) drops its databases one by one.
func release(t testing.TB, s *pgserver.Server, d *DB) {
	keep := config.Hooks.Done != nil && config.Hooks.Done(t, d)
	if d.Pool != nil {
		d.Pool.Close()
	}
	if keep {
		return
	}
	if s.Kind != pgserver.KindURL {
		return
	}
	c, err := adminPool(s)
	if err != nil {
		t.Logf("drop %s: %v", d.Name, err)
		return
	}
	if _, err := c.Exec(context.Background(), fmt.Sprintf(`DROP DATABASE %s WITH (FORCE)`, d.Name)); err != nil {
		t.Logf("drop %s: %v", d.Name, err)
	}
}

// templateLock serialises template builds across test binaries that share a
// server (CONFORMANCE_DATABASE_URL), so the first builds and the rest reuse.
const templateLock = 0x6d656e746f72 // "mentor"

// BuildTemplate builds m's template on the server at adminURL, or finds it
// built, and returns its name, which carries m's hash.
func BuildTemplate(ctx context.Context, adminURL string, m Migrator) (string, error) {
	hash, err := m.Hash()
	if err != nil {
		return "", err
	}
	name := "mentordb_tmpl_" + hash
	return name, buildOnce(ctx, adminURL, name, `CREATE DATABASE `+name, func(*pgx.Conn) error {
		if err := m.Migrate(ctx, WithDatabase(adminURL, name)); err != nil {
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
func buildOnce(ctx context.Context, adminURL, name, create string, fill func(admin *pgx.Conn) error) error {
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
	if err := fill(admin); err != nil {
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
