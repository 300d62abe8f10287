// Package pgtest is the matrix's side of its databases: each test's clone of
// the migrated schema comes from package testdb, with the hooks that are the
// matrix's business (a mutation run's mutant, fail-fast and trace, PL/pgSQL
// coverage, failed tests' databases kept for inspection) and the fixtures
// that set a test's stage through db.
package pgtest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mentordb/mentordb/db"
	"github.com/mentordb/mentordb/internal/harness/pgserver"
	"github.com/mentordb/mentordb/internal/harness/provision"
	"github.com/mentordb/mentordb/internal/harness/testdb"
)

// envKeep keeps a disposable server's data directory after the run, with
// every failed test's database in it, for inspection.
const envKeep = "CONFORMANCE_KEEP"

// codeDirs hold the code that builds the matrix's templates: provisioning's
// and the seed loader's (testdb.Config.CodeDirs).
var codeDirs = append([]string{"internal/harness/seed"}, provision.CodeDirs...)

// Main starts one PostgreSQL for the test binary, with the matrix's hooks,
// runs the tests and stops it. Call it from TestMain with the seeds the
// matrix clones (NewSeeded): they are built before the tests and, on a
// local server, kept across runs with the migrated template.
func Main(m *testing.M, seeds ...*testdb.Seed) int {
	return testdb.Main(m, testdb.Config{
		Migrator: provision.Migrator{},
		Seeds:    seeds,
		CodeDirs: codeDirs,
		Server:   pgserver.Options{Settings: profilerSettings, Keep: os.Getenv(envKeep) == "1"},
		Started:  func(ctx context.Context, s *pgserver.Server) { profileErr = checkProfiler(ctx, s) },
		Hooks: testdb.Hooks{
			Start:  skipAfterFailure,
			Cloned: applyMutant,
			Seeded: harvestSeeded,
			Reused: replaySeeded,
			Done:   done,
		},
	})
}

// DB is one test's database.
type DB struct {
	// URL and Pool connect as the server's superuser, which owns every
	// table and so bypasses RLS: use them for fixtures, never to prove a
	// policy.
	*testdb.DB
	// App runs work as a user, the PostgREST way (role and claims in one
	// transaction). This is the only way a test may prove RLS.
	App *db.DB
}

func wrap(d *testdb.DB) *DB { return &DB{DB: d, App: db.New(d.Pool)} }

// New clones the migrated template into a fresh database for t. The
// database is dropped when t passes and kept, with its name logged, when t
// fails (outside a mutation run).
func New(t testing.TB) *DB {
	t.Helper()
	return wrap(testdb.New(t))
}

// NewEmpty creates a database with neither the platform shim nor any
// migration, for tests of the migration tools themselves.
func NewEmpty(t testing.TB) *DB {
	t.Helper()
	return wrap(testdb.NewEmpty(t))
}

// Seed is data loaded once into a copy of the migrated template: Key names
// the data (the load's parameters), load fills it. Pass it to Main too.
func Seed(key string, load func(ctx context.Context, pool *pgxpool.Pool) error) *testdb.Seed {
	return &testdb.Seed{Key: key, Load: load}
}

// NewSeeded clones a copy of the migrated template that s has filled once
// (testdb.NewSeeded). A mutation run's mutant is applied to the clone,
// after the seed: the data is the unmutated schema's, as a live database's
// would be when a migration changed it.
func NewSeeded(t testing.TB, s *testdb.Seed) *DB {
	t.Helper()
	return wrap(testdb.NewSeeded(t, s))
}

// Ctx returns a context bounded for one test step (testdb.Ctx).
func Ctx(t testing.TB) context.Context { return testdb.Ctx(t) }

// BuildTemplate builds the migrated template on the server at adminURL, or
// finds it built, and returns its name. The mutation run uses it to find the
// template its unmutated run built.
func BuildTemplate(ctx context.Context, adminURL string) (string, error) {
	return testdb.BuildTemplate(ctx, adminURL, provision.Migrator{})
}

// done ends a test's database: its statements go to the trace (a migrated
// clone), its PL/pgSQL execution counts to the profile (before the drop, and
// also for a kept database: PS-COV-1 counts every execution of the matrix,
// failed tests' included; a failed harvest fails PS-COV-1, not this test),
// and a failed test's database is kept, except in a mutation run.
func done(t testing.TB, d *testdb.DB) (keep bool) {
	if d.Migrated {
		if err := traceTest(testdb.Server(t).URL, d.Name, t.Name()); err != nil {
			t.Errorf("trace %s: %v", d.Name, err)
		}
	}
	if err := harvestTest(d); err != nil {
		profile.AddError(fmt.Errorf("harvest %s (%s): %w", d.Name, t.Name(), err))
	}
	if !t.Failed() {
		return false
	}
	anyFailed.Store(true)
	if mutantRun() {
		return false
	}
	t.Logf("kept database %s for inspection (%s); a disposable server is kept only with %s=1", d.Name, d.URL, envKeep)
	return true
}

// harvestSeeded counts for PS-COV-1 what the functions executed while a
// seeded template was filled, as it did when every test seeded its own
// clone, and returns it as the template's note, so that a run that finds
// the template built (replaySeeded) counts it too.
func harvestSeeded(ctx context.Context, url string) (string, error) {
	fns, err := collect(url, true)
	if err == nil {
		err = add(fns)
	}
	if err != nil {
		profile.AddError(fmt.Errorf("harvest seeded template: %w", err))
		return "", nil
	}
	note, err := json.Marshal(fns)
	return string(note), err
}

// replaySeeded counts a seeded template's note (harvestSeeded) for PS-COV-1.
func replaySeeded(note string) error {
	var fns []harvested
	if err := json.Unmarshal([]byte(note), &fns); err != nil {
		profile.AddError(fmt.Errorf("seeded template's profile: %w", err))
		return nil
	}
	if err := add(fns); err != nil {
		profile.AddError(fmt.Errorf("seeded template's profile: %w", err))
	}
	return nil
}
