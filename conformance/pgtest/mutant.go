package pgtest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// The mutation run (package conformance/mutation) drives this test binary
// from outside through these environment variables.
const (
	// EnvMutant holds the SQL of one mutant. Every clone of the migrated
	// template (and of a seeded copy of it, see NewSeeded) gets it applied,
	// in one transaction, before the test sees the clone. Applying it to
	// each clone instead of to a mutated copy of the template saves a
	// database copy per mutant and lets seeded templates be shared by every
	// mutant of a run.
	EnvMutant = "CONFORMANCE_MUTANT"
	// EnvTrace names a file to which every test appends, as one JSON line,
	// the statements that ran in its clones and as which role, read from
	// pg_stat_statements (which the server must preload). The mutation run
	// chooses from it which tests can observe a mutated object.
	EnvTrace = "CONFORMANCE_TRACE"
	// EnvFailFast makes every test that starts after one test has failed
	// skip at its first clone: the mutation run needs one failing test to
	// call a mutant killed, not all of them, and -test.failfast does not
	// stop parallel subtests that are already waiting to run.
	EnvFailFast = "CONFORMANCE_FAILFAST"
)

// MutantNotApplied begins the failure of a test whose clone the mutant
// (EnvMutant) does not apply to. The mutation run counts a run whose output
// holds it as its own error, never as a kill.
const MutantNotApplied = "the mutant does not apply to this clone"

// anyFailed is set when a test that cloned the template has failed.
var anyFailed atomic.Bool

// skipAfterFailure skips t when fail-fast is on and a test has failed.
func skipAfterFailure(t testing.TB) {
	if os.Getenv(EnvFailFast) == "1" && anyFailed.Load() {
		t.Skip("skipped: another test already failed and " + EnvFailFast + "=1")
	}
}

// mutantRun reports whether this binary tests a mutant. Failed tests'
// databases are then dropped like the others: failing is what they are
// expected to do, and hundreds of kept clones would fill the disk.
func mutantRun() bool { return os.Getenv(EnvMutant) != "" && os.Getenv(envKeep) != "1" }

// applyMutant applies EnvMutant's SQL to the database at url, in one
// transaction.
func applyMutant(ctx context.Context, url string) error {
	sql := os.Getenv(EnvMutant)
	if sql == "" {
		return nil
	}
	c, err := pgx.Connect(ctx, url)
	if err == nil {
		err = pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, sql)
			return err
		})
		c.Close(ctx)
	}
	if err != nil {
		return fmt.Errorf("%s: %v\n%s", MutantNotApplied, err, sql)
	}
	return nil
}

// Statement is one statement a test ran, and the role that ran it (the
// current role: inside a request, the API role). pg_stat_statements keeps
// only statements that completed; the mutation run adds the failed ones
// from the server log, with Role "?" (the log does not say).
type Statement struct {
	Role     string `json:"role"`
	TopLevel bool   `json:"toplevel"`
	Query    string `json:"query"`
}

// TraceLine is one line of the trace file.
type TraceLine struct {
	Test       string      `json:"test"`
	DB         string      `json:"db"`
	Statements []Statement `json:"statements"`
}

var traceMu sync.Mutex

// traceTest appends the statements that ran in database dbName to the trace
// file, attributed to test, and forgets them in pg_stat_statements. It runs
// when the test's pool is closed; statements are recorded when they finish,
// so every one of the test's is there.
func traceTest(serverURL, dbName, test string) error {
	path := os.Getenv(EnvTrace)
	if path == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	var dbid uint32
	if err := c.QueryRow(ctx, `SELECT oid FROM pg_database WHERE datname = $1`, dbName).Scan(&dbid); err != nil {
		return err
	}
	rows, err := c.Query(ctx, `SELECT coalesce(userid::regrole::text, userid::text), toplevel, query
		FROM pg_stat_statements WHERE dbid = $1 ORDER BY 1, 3`, dbid)
	if err != nil {
		return fmt.Errorf("pg_stat_statements (preload it and CREATE EXTENSION in the server's maintenance database): %w", err)
	}
	stmts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Statement, error) {
		var s Statement
		err := r.Scan(&s.Role, &s.TopLevel, &s.Query)
		s.Query = strings.Join(strings.Fields(s.Query), " ")
		return s, err
	})
	if err != nil {
		return err
	}
	if _, err := c.Exec(ctx, `SELECT pg_stat_statements_reset(0, $1, 0)`, dbid); err != nil {
		return err
	}
	b, err := json.Marshal(TraceLine{Test: test, DB: dbName, Statements: stmts})
	if err != nil {
		return err
	}
	traceMu.Lock()
	defer traceMu.Unlock()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
