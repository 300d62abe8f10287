// Package migrate applies mentordb's migrations from inside the binary
// (requirement DB-3) and records them exactly as the Supabase CLI does, so a
// database can be migrated by this runner, by `supabase migration up` or
// `supabase db push`, or by a mix of both, and every tool agrees on what has
// been applied.
//
// The history table is shared: on a Supabase project every team's
// migrations are recorded there. The runner owns the versions its Source
// has ever shipped (Source.Shipped and the files), checks only those, and
// leaves every other version alone; Status lists them as Foreign.
//
// It is built on database/sql so it works with any PostgreSQL driver whose
// Exec without arguments uses the simple query protocol (pgx's stdlib and
// lib/pq do): a migration file is sent as one multi-statement Exec.
package migrate

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// LockKey is the session-level advisory lock key every runner takes for the
// whole of Up and Down: the bytes of "mentordb" read as a big-endian int64.
// Advisory locks are per database, so runners on different databases of one
// cluster never wait on each other. Two replicas starting together on the
// same database serialise: the second waits, then finds nothing pending.
const LockKey int64 = 0x6d656e746f726462

const (
	lockSQL   = `SELECT pg_advisory_lock($1)`
	unlockSQL = `SELECT pg_advisory_unlock($1)`
	// resetSQL clears session settings a migration may have changed (for
	// example set_config('search_path', '', false), as pg_dump output does):
	// the CLI runs it before each file, and the runner also runs it before
	// handing its connection back to the caller's pool.
	resetSQL = `RESET ALL`
	// lockTimeoutSQL: a migration that cannot get a lock within 4s fails
	// instead of queueing every other query on the table behind it (the
	// CLI's value). LOCAL: it ends with the migration's transaction. It also
	// reports whether the transaction runs on the session that holds
	// LockKey: behind a pooler in transaction mode it may not (see
	// ErrNeedsSession), and then the lock serialises nothing.
	lockTimeoutSQL = `SELECT set_config('lock_timeout', '4s', true), EXISTS (
  SELECT FROM pg_catalog.pg_locks
  WHERE locktype = 'advisory' AND granted AND pid = pg_catalog.pg_backend_pid()
    AND classid = ($1::bigint >> 32)::oid AND objid = ($1::bigint & 4294967295)::oid AND objsubid = 1)`
	// setLockTimeoutSQL replaces the default when WithLockTimeout was used.
	setLockTimeoutSQL = `SELECT set_config('lock_timeout', $1, true)`
	// backendSQL names the server session a statement ran on. Read twice
	// before locking: a pooler in transaction mode may answer from two
	// sessions, and then the session lock must not be taken at all (it
	// would stay behind on a pooled server connection).
	backendSQL = `SELECT pg_catalog.pg_backend_pid()`
	// releaseTimeout bounds the cleanup, which runs even when ctx is done.
	releaseTimeout = 10 * time.Second
)

// Runner applies and rolls back the migrations of one Source on one
// database.
type Runner struct {
	db  *sql.DB
	src Source
	// lockTimeout overrides the 4s of lockTimeoutSQL when not zero.
	lockTimeout time.Duration
}

// WithLockTimeout returns a copy of r whose migrations wait at most d for
// each lock instead of the default 4s (the Supabase CLI's value): a
// migration that cannot get a lock within d fails with SQLSTATE 55P03,
// rolled back whole, and leaves no history row. Whole milliseconds; d must
// be at least 1ms. Tests use it to keep lock waits short.
func (r *Runner) WithLockTimeout(d time.Duration) *Runner {
	c := *r
	c.lockTimeout = max(d.Round(time.Millisecond), time.Millisecond)
	return &c
}

// New returns a Runner for db. Use Default() for the embedded migrations.
func New(db *sql.DB, src Source) *Runner {
	return &Runner{db: db, src: src}
}

// Status describes one version that is known to the binary, recorded in the
// database, or both.
type Status struct {
	Version  string
	Name     string
	File     string // "" when Retired or Foreign
	Applied  bool   // a history row exists
	Pending  bool   // a file exists and no history row
	Changed  bool   // applied, and the file no longer has the recorded statements
	Retired  bool   // applied, shipped by this source once, and no file for it now (Up refuses)
	Foreign  bool   // applied, and never shipped by this source: another team's, left alone
	Rollback bool   // a rollback file exists
}

// Up applies every pending migration in version order, each in its own
// transaction together with its history row, and returns those it applied
// (also when it stops at an error). Before changing anything it refuses,
// with errors wrapping ErrChanged, ErrRetired or ErrOutOfOrder, a history
// whose versions of this source do not fit its files, and with a
// *PlatformError a database that lacks the Supabase platform objects.
//
// Versions the source never shipped are left alone, wherever they fall. A
// pending migration may be older than such a foreign version: it is applied
// all the same, as `supabase db push --include-all` would. A migration of
// this source depends only on the source's earlier migrations and on the
// platform, never on another team's, so the order that matters is the
// source's own, and that one Up still enforces (ErrOutOfOrder). Refusing
// instead would block every upgrade of mentordb in a project whose own
// migrations are newer than mentordb's next one, which is the usual case.
func (r *Runner) Up(ctx context.Context) ([]Migration, error) {
	files, err := load(r.src.Migrations)
	if err != nil {
		return nil, err
	}
	var done []Migration
	err = r.locked(ctx, true, func(conn *sql.Conn, hist map[string]applied) error {
		pending, err := plan(files, owned(files, r.src.Shipped), hist)
		if err != nil {
			return err
		}
		done, err = r.runAll(ctx, conn, pending, "apply", insertHistory, func(m Migration) []any {
			return []any{m.Version, m.Name, textArray(m.Statements)}
		})
		return err
	})
	return done, err
}

// plan checks the history's versions of this source against its files and
// returns the pending ones. Versions outside own are not looked at.
func plan(files []Migration, own map[string]bool, hist map[string]applied) ([]Migration, error) {
	var errs []error
	var pending []Migration
	// Out of order is judged against the newest applied version of this
	// source that has a file; retired ones are reported as such below.
	newest := ""
	for _, m := range files {
		if _, ok := hist[m.Version]; ok {
			newest = m.Version // files are in version order
		}
	}
	hasFile := map[string]bool{}
	for _, m := range files {
		hasFile[m.Version] = true
		a, ok := hist[m.Version]
		switch {
		case !ok:
			if newest != "" && compareVersions(m.Version, newest) < 0 {
				errs = append(errs, &Error{Version: m.Version, File: m.File, Op: "check",
					Err: fmt.Errorf("%w (newest applied: %s)", ErrOutOfOrder, newest)})
			}
			pending = append(pending, m)
		case a.Recorded && !unchanged(a.Statements, m.Statements):
			errs = append(errs, &Error{Version: m.Version, File: m.File, Op: "check", Err: ErrChanged})
		}
	}
	for _, v := range sortedVersions(hist) {
		if own[v] && !hasFile[v] {
			errs = append(errs, &Error{Version: v, Op: "check",
				Err: fmt.Errorf("%w (name %q)", ErrRetired, hist[v].Name)})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return pending, nil
}

// Down rolls back every applied migration of this source whose version is
// greater than toVersion ("0" rolls back everything), newest first, each in
// its own transaction with the deletion of its history row, using the
// rollback file with the same version. Foreign versions are neither rolled
// back nor removed from the history; a rollback that would drop something
// a foreign migration still uses fails (rollbacks do not CASCADE) and leaves
// that migration applied. It returns the rollbacks it ran. If any rollback
// file is missing it fails with ErrMissingRollback before changing anything.
func (r *Runner) Down(ctx context.Context, toVersion string) ([]Migration, error) {
	if toVersion == "" || !allDigits(toVersion) {
		return nil, fmt.Errorf("migrate: down: version %q is not a number", toVersion)
	}
	rollbacks, err := load(r.src.Rollbacks)
	if err != nil {
		return nil, err
	}
	byVersion := map[string]Migration{}
	for _, m := range rollbacks {
		byVersion[m.Version] = m
	}
	files, err := load(r.src.Migrations)
	if err != nil {
		return nil, err
	}
	own := owned(files, r.src.Shipped)
	var done []Migration
	err = r.locked(ctx, false, func(conn *sql.Conn, hist map[string]applied) error {
		var todo []Migration
		var errs []error
		versions := sortedVersions(hist)
		slices.Reverse(versions)
		for _, v := range versions {
			if compareVersions(v, toVersion) <= 0 {
				break
			}
			if !own[v] {
				continue
			}
			rb, ok := byVersion[v]
			if !ok {
				errs = append(errs, &Error{Version: v, File: v + "_" + hist[v].Name + ".sql", Op: "rollback",
					Err: ErrMissingRollback})
				continue
			}
			todo = append(todo, rb)
		}
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		var err error
		done, err = r.runAll(ctx, conn, todo, "rollback", deleteHistory, func(m Migration) []any { return []any{m.Version} })
		return err
	})
	return done, err
}

// Status lists every version known to the binary or recorded in the
// database, in version order, foreign ones included. It takes no lock and changes nothing, so it
// also works on a database that has never been migrated.
func (r *Runner) Status(ctx context.Context) ([]Status, error) {
	files, err := load(r.src.Migrations)
	if err != nil {
		return nil, err
	}
	rollbacks, err := load(r.src.Rollbacks)
	if err != nil {
		return nil, err
	}
	var exists bool
	if err := r.db.QueryRowContext(ctx, historyExists).Scan(&exists); err != nil {
		return nil, fmt.Errorf("migrate: read history: %w", err)
	}
	hist := map[string]applied{}
	if exists {
		if hist, err = readHistory(ctx, r.db); err != nil {
			return nil, err
		}
	}
	hasRollback := map[string]bool{}
	for _, m := range rollbacks {
		hasRollback[m.Version] = true
	}
	byVersion := map[string]*Status{}
	for _, m := range files {
		a, ok := hist[m.Version]
		byVersion[m.Version] = &Status{
			Version: m.Version, Name: m.Name, File: m.File,
			Applied: ok, Pending: !ok,
			Changed: ok && a.Recorded && !unchanged(a.Statements, m.Statements),
		}
	}
	own := owned(files, r.src.Shipped)
	for v, a := range hist {
		if _, ok := byVersion[v]; !ok {
			byVersion[v] = &Status{Version: v, Name: a.Name, Applied: true, Retired: own[v], Foreign: !own[v]}
		}
	}
	out := make([]Status, 0, len(byVersion))
	for _, s := range byVersion {
		s.Rollback = hasRollback[s.Version]
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b Status) int { return compareVersions(a.Version, b.Version) })
	return out, nil
}

// locked runs fn on one dedicated connection that holds LockKey, after
// checking the platform objects exist (when needPlatform: before anything
// is created, so a refusal changes nothing), making sure the history table exists and reading it under the lock (so
// what fn sees cannot change underneath it). The lock is released, and the
// session's settings reset, however fn ends; if that cleanup fails the
// connection is discarded instead of returned to the pool, which ends the
// session and with it the lock.
func (r *Runner) locked(ctx context.Context, needPlatform bool, fn func(*sql.Conn, map[string]applied) error) error {
	conn, err := r.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: connect: %w", err)
	}
	defer conn.Close()
	if err := sameSession(ctx, conn); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, lockSQL, LockKey); err != nil {
		// Whether the lock was granted is unknown (ctx may have been
		// cancelled as it was): drop the session to be sure.
		discard(conn)
		return fmt.Errorf("migrate: take advisory lock %d: %w", LockKey, err)
	}
	defer release(ctx, conn)
	if needPlatform {
		if err := checkPlatform(ctx, conn); err != nil {
			return err
		}
	}
	if _, err := conn.ExecContext(ctx, createHistory); err != nil {
		return fmt.Errorf("migrate: create history table: %w", err)
	}
	hist, err := readHistory(ctx, conn)
	if err != nil {
		return err
	}
	return fn(conn, hist)
}

// missingPlatform names, in a fixed order, the platform objects every
// migration relies on that the database lacks (” when none is missing).
// The names are those of DESIGN's platform contract.
const missingPlatform = `SELECT coalesce(string_agg(what, ', ' ORDER BY ord), '') FROM (VALUES
 (1, 'schema auth', to_regnamespace('auth') IS NOT NULL),
 (2, 'table auth.users', to_regclass('auth.users') IS NOT NULL),
 (3, 'function auth.uid()', to_regprocedure('auth.uid()') IS NOT NULL),
 (4, 'role anon', EXISTS (SELECT FROM pg_roles WHERE rolname = 'anon')),
 (5, 'role authenticated', EXISTS (SELECT FROM pg_roles WHERE rolname = 'authenticated')),
 (6, 'role service_role', EXISTS (SELECT FROM pg_roles WHERE rolname = 'service_role'))
) AS t(ord, what, present) WHERE NOT present`

func checkPlatform(ctx context.Context, conn *sql.Conn) error {
	var missing string
	if err := conn.QueryRowContext(ctx, missingPlatform).Scan(&missing); err != nil {
		return fmt.Errorf("migrate: check platform: %w", err)
	}
	if missing != "" {
		return &PlatformError{Missing: strings.Split(missing, ", ")}
	}
	return nil
}

func release(ctx context.Context, conn *sql.Conn) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	_, err := conn.ExecContext(ctx, resetSQL)
	if err == nil {
		_, err = conn.ExecContext(ctx, unlockSQL, LockKey)
	}
	if err != nil {
		discard(conn)
	}
}

// sameSession refuses a connection whose statements do not all run on one
// server session (ErrNeedsSession).
func sameSession(ctx context.Context, conn *sql.Conn) error {
	var first, second int64
	if err := conn.QueryRowContext(ctx, backendSQL).Scan(&first); err != nil {
		return fmt.Errorf("migrate: connect: %w", err)
	}
	if err := conn.QueryRowContext(ctx, backendSQL).Scan(&second); err != nil {
		return fmt.Errorf("migrate: connect: %w", err)
	}
	if first != second {
		return fmt.Errorf("%w (two statements ran on server sessions %d and %d)", ErrNeedsSession, first, second)
	}
	return nil
}

// discard closes the connection's session rather than pooling it.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
}

// run executes one file in its own transaction, followed by record (the
// history change), and commits. Any error rolls the whole file back.
// runAll runs each of ms in turn (run), recording it in the history with
// the statement history and the arguments args gives, and returns those it
// ran, up to the first that failed.
func (r *Runner) runAll(ctx context.Context, conn *sql.Conn, ms []Migration, op, history string, args func(Migration) []any) ([]Migration, error) {
	var done []Migration
	for _, m := range ms {
		err := run(ctx, conn, m, op, r.lockTimeout, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, history, args(m)...)
			return err
		})
		if err != nil {
			return done, err
		}
		done = append(done, m)
	}
	return done, nil
}

func run(ctx context.Context, conn *sql.Conn, m Migration, op string, lockTimeout time.Duration, record func(*sql.Tx) error) error {
	fail := func(err error) error {
		return &Error{Version: m.Version, File: m.File, Op: op, Err: err}
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	if _, err := tx.ExecContext(ctx, resetSQL); err != nil {
		return fail(err)
	}
	var setting string
	var held bool
	if err := tx.QueryRowContext(ctx, lockTimeoutSQL, LockKey).Scan(&setting, &held); err != nil {
		return fail(err)
	}
	if !held {
		return fail(ErrNeedsSession)
	}
	if lockTimeout > 0 {
		if _, err := tx.ExecContext(ctx, setLockTimeoutSQL, fmt.Sprintf("%dms", lockTimeout.Milliseconds())); err != nil {
			return fail(err)
		}
	}
	var steps []string
	if len(m.Statements) > 0 {
		steps = append(steps, m.sql)
	}
	for _, q := range steps {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fail(err)
		}
	}
	if err := record(tx); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return nil
}

func sortedVersions(hist map[string]applied) []string {
	out := make([]string, 0, len(hist))
	for v := range hist {
		out = append(out, v)
	}
	slices.SortFunc(out, compareVersions)
	return out
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
