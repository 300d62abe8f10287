package pgtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mentordb/mentordb/conformance/coverage"
	"github.com/mentordb/mentordb/internal/harness/pgserver"
	"github.com/mentordb/mentordb/internal/harness/testdb"
)

// profilerSettings turn plpgsql_check's profiler on for every session of a
// server we start. Harmless where the library is not loaded: PostgreSQL
// keeps an unknown dotted setting as a placeholder.
var profilerSettings = map[string]string{"plpgsql_check.profiler": "on"}

var (
	// profile sums the statement executions of every test database.
	profile coverage.Profile
	// profileErr says why there is no profile (nil when the server profiles).
	profileErr = errors.New("no PostgreSQL")
)

// Profile returns the PL/pgSQL execution profile merged over every test
// database harvested so far, or why the server collects none.
func Profile() (*coverage.Profile, error) {
	return &profile, profileErr
}

// checkProfiler tells whether s profiles PL/pgSQL: plpgsql_check must be
// preloaded (shared mode, so every backend's counts land in shared memory)
// and its profiler on (we set it for servers we start; a
// CONFORMANCE_DATABASE_URL server must set it itself).
func checkProfiler(ctx context.Context, s *pgserver.Server) error {
	if !slices.Contains(s.SharedPreloadLibraries, "plpgsql_check") {
		return fmt.Errorf("plpgsql_check is not in shared_preload_libraries (%v); install postgresql-15-plpgsql-check", s.SharedPreloadLibraries)
	}
	c, err := pgx.Connect(ctx, s.URL)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	var on string
	if err := c.QueryRow(ctx, `SELECT coalesce(current_setting('plpgsql_check.profiler', true), 'off')`).Scan(&on); err != nil {
		return err
	}
	if on != "on" {
		return fmt.Errorf("plpgsql_check.profiler is %s on the server", on)
	}
	return nil
}

// functionsSQL lists the PL/pgSQL functions of the schema in the current
// database and whether the profiler saw them run here.
const functionsSQL = `
SELECT p.oid, p.oid::regprocedure::text, md5(p.prosrc), f.funcoid IS NOT NULL
FROM pg_proc p
JOIN pg_language l ON l.oid = p.prolang AND l.lanname = 'plpgsql'
JOIN pg_namespace n ON n.oid = p.pronamespace AND n.nspname IN ('public', 'private')
LEFT JOIN plpgsql_profiler_functions_all() f ON f.funcoid = p.oid
ORDER BY 2`

// statementsSQL reads one function's statement tree and counts.
const statementsSQL = `
SELECT stmtid, coalesce(parent_stmtid, -1), coalesce(parent_note, ''), block_num,
       lineno, coalesce(exec_stmts, 0), stmtname
FROM plpgsql_profiler_function_statements_tb($1::oid::regprocedure)`

// harvest adds the profile of database url to the process-wide one. It runs
// in a transaction that is rolled back, so the plpgsql_check extension (its
// SQL functions are needed to read the profile) leaves no trace in a
// database kept for inspection. current marks a clone of the migrated
// template, whose functions are the ones PS-COV-1 measures.
//
// Reading a function's statements compiles it (about 10 ms), so only the
// functions that ran here are read, plus the first sighting of each version
// for its tree. Their counters are then cleared from shared memory, which is
// not transactional: the database is dropped next, and its entries would
// otherwise fill the profiler's fixed-size tables over a run of hundreds of
// databases.
func harvest(url string, current bool) error {
	fns, err := collect(url, current)
	if err != nil {
		return err
	}
	return add(fns)
}

// harvested is one function's statements as harvest read them.
type harvested struct {
	Sig, Src string
	Current  bool
	Stmts    []coverage.Stmt
}

// add puts harvested functions into the process-wide profile.
func add(fns []harvested) error {
	for _, f := range fns {
		if err := profile.Add(f.Sig, f.Src, f.Current, f.Stmts); err != nil {
			return err
		}
	}
	return nil
}

// harvestTest is harvest for a test's database, read on an idle
// connection of the test's pool when there is one: a connection of its own
// would cost a server backend's start and exit for every test. The
// connection's session is reset first (DISCARD ALL: a test may have changed
// its role or settings). Without an idle connection it reads on a new one.
func harvestTest(d *testdb.DB) error {
	if profileErr != nil {
		return nil
	}
	if d.Pool != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		actx, acancel := context.WithTimeout(ctx, time.Second)
		c, err := d.Pool.Acquire(actx)
		acancel()
		if err == nil {
			defer c.Release()
			_, err = c.Conn().PgConn().Exec(ctx, `DISCARD ALL`).ReadAll()
			if err == nil {
				// pgx's statement caches forget what DISCARD ALL deallocated.
				err = c.Conn().DeallocateAll(ctx)
			}
			if err == nil {
				fns, err := collectOn(ctx, c.Conn(), d.Migrated)
				if err != nil {
					return err
				}
				return add(fns)
			}
		}
	}
	return harvest(d.URL, d.Migrated)
}

// collect reads database url's profile for harvest, on a connection of its
// own.
func collect(url string, current bool) ([]harvested, error) {
	if profileErr != nil {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, err
	}
	defer c.Close(ctx)
	return collectOn(ctx, c, current)
}

// collectOn reads the profile of the database c is connected to. Counters
// it has read are cleared (see harvest).
func collectOn(ctx context.Context, c *pgx.Conn, current bool) ([]harvested, error) {
	tx, err := c.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS plpgsql_check`); err != nil {
		return nil, err
	}
	type function struct {
		oid      uint32
		sig, src string
		executed bool
	}
	rows, err := tx.Query(ctx, functionsSQL)
	if err != nil {
		return nil, err
	}
	fns, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (function, error) {
		var f function
		return f, r.Scan(&f.oid, &f.sig, &f.src, &f.executed)
	})
	if err != nil {
		return nil, err
	}
	var out []harvested
	for _, f := range fns {
		if !f.executed && profile.Known(f.sig, f.src, current) {
			continue
		}
		rows, err := tx.Query(ctx, statementsSQL, f.oid)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.sig, err)
		}
		stmts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (coverage.Stmt, error) {
			var s coverage.Stmt
			return s, r.Scan(&s.ID, &s.Parent, &s.Note, &s.Block, &s.Line, &s.Exec, &s.Name)
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.sig, err)
		}
		out = append(out, harvested{f.sig, f.src, current, stmts})
		if f.executed {
			if _, err := tx.Exec(ctx, `SELECT plpgsql_profiler_reset($1::oid::regprocedure)`, f.oid); err != nil {
				return nil, fmt.Errorf("%s: %w", f.sig, err)
			}
		}
	}
	return out, nil
}
