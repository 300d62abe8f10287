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
// from outside through two environment variables.
const (
	// EnvTemplate names a template database to clone instead of building
	// the migrated one: a copy of it with one mutation applied. Its name
	// ends with the migration hash, like the real template's.
	EnvTemplate = "CONFORMANCE_TEMPLATE"
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

// anyFailed is set when a test that cloned the template has failed.
var anyFailed atomic.Bool

// skipAfterFailure skips t when fail-fast is on and a test has failed.
func skipAfterFailure(t testing.TB) {
	if os.Getenv(EnvFailFast) == "1" && anyFailed.Load() {
		t.Skip("skipped: another test already failed and " + EnvFailFast + "=1")
	}
}

// mutantRun reports whether this binary tests a mutated template. Failed
// tests' databases are then dropped like the others: failing is what they
// are expected to do, and hundreds of kept clones would fill the disk.
func mutantRun() bool { return os.Getenv(EnvTemplate) != "" && os.Getenv(envKeep) != "1" }

// adoptTemplate checks that the named template exists and is one.
func adoptTemplate(ctx context.Context, adminURL, name string) (string, error) {
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", err
	}
	defer admin.Close(ctx)
	var isTemplate bool
	if err := admin.QueryRow(ctx, `SELECT datistemplate FROM pg_database WHERE datname = $1`, name).Scan(&isTemplate); err != nil {
		return "", fmt.Errorf("%s=%s: %w", EnvTemplate, name, err)
	}
	if !isTemplate {
		return "", fmt.Errorf("%s=%s is not a template database", EnvTemplate, name)
	}
	return name, nil
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
