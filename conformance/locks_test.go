package conformance

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db/migrate"
)

// CONF-3: every migration and rollback, run by the Go runner while other
// sessions hold locks on or write to the tables it touches.
//
// Which tables a file touches, and how strongly, is not parsed from its SQL
// but observed: the file runs once in a transaction that is rolled back, and
// pg_locks lists the table locks it took on tables that existed before it.
// For each such table another session then holds, in an open transaction,
// the weakest lock that conflicts with the file's strongest one (what the
// everyday session that gets in the way holds: a long SELECT against ACCESS
// EXCLUSIVE, a long write transaction against SHARE ROW EXCLUSIVE, ...).
//
// The bounds, with the runner's lock_timeout LT:
//   - the file fails with lock_not_available (55P03) after waiting about LT
//     for that one lock, rolled back whole: catalog and history unchanged;
//   - once the lock is released, the same runner applies it;
//   - a writer of any table the file touches waits at most about 2 LT: the
//     file may hold table A's lock (taken without waiting) while it waits up
//     to LT for table B's, and a writer of A queues behind it for that long;
//     a writer of B queues behind the file's pending request for as long.
//     The bound is per lock wait the file has to sit out: a file that waited
//     just under LT for several locks in turn would hold the first for that
//     sum. Writers here take the lock every write takes (ROW EXCLUSIVE, by an
//     UPDATE that matches no row), so no row data is needed for any table.
//   - with writers committing continuously (short transactions) and no long
//     holder, the file gets its locks between them and succeeds.
//
// The Supabase CLI runs a file the same way (one transaction, lock_timeout
// 4s, see docs/migrations-under-load.md): it fails the same way after 4s
// and leaves nothing behind.
const (
	conf3LockTimeout = 250 * time.Millisecond
	// conf3Slack absorbs scheduling on a loaded machine (the shared 2-core
	// box ran at a load average above 20, where 1.5 s was not enough); the
	// bounds it widens are LT and 2 LT, and a file that waited without a
	// timeout would wait until the test's deadline (120 s). The proof that
	// the timeout fired is the SQLSTATE, and that a write queued behind the
	// file is read from pg_locks, neither of which depends on the clock.
	conf3Slack = 4 * time.Second
)

// conf3Blocker is the weakest lock mode that conflicts with a lock a file
// takes (pg_locks names), and the mode a plain writer takes.
var conf3Blocker = map[string]string{
	"AccessExclusiveLock":      "ACCESS SHARE",
	"ExclusiveLock":            "ROW SHARE",
	"ShareRowExclusiveLock":    "ROW EXCLUSIVE",
	"ShareLock":                "ROW EXCLUSIVE",
	"ShareUpdateExclusiveLock": "SHARE UPDATE EXCLUSIVE",
	"RowExclusiveLock":         "SHARE",
	"RowShareLock":             "EXCLUSIVE",
	"AccessShareLock":          "ACCESS EXCLUSIVE",
}

// conf3Strength orders the modes, weakest first.
var conf3Strength = []string{"AccessShareLock", "RowShareLock", "RowExclusiveLock", "ShareUpdateExclusiveLock",
	"ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"}

// conf3WriterBlocked: blocker modes a writer (ROW EXCLUSIVE) itself waits on,
// whatever the migration does.
var conf3WriterBlocked = map[string]bool{"SHARE": true, "SHARE ROW EXCLUSIVE": true, "EXCLUSIVE": true, "ACCESS EXCLUSIVE": true}

type conf3Table struct {
	name, mode string // qualified, quoted name; the file's strongest lock on it
	column     string // a column an UPDATE may SET to itself
}

func testLocks(t *testing.T) {
	t.Parallel()
	files := migrationFiles(t)
	for i, file := range files {
		version := file[:14]
		prev := "00000000000000"
		if i > 0 {
			prev = files[i-1][:14]
		}
		t.Run("CONF-3 "+file+" and its rollback under live locks and writers: fail within lock_timeout leaving nothing, then apply; writers wait at most about 2x lock_timeout", func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
			defer cancel()
			d := pgtest.NewEmpty(t)
			applyPlatform(t, d)
			conns := conf3Conns(t, ctx, d)
			sqlDB := openSQL(t, d.URL)
			_, err := migrate.New(sqlDB, upTo(t, prev)).Up(ctx)
			require.NoError(t, err)
			runner := migrate.New(sqlDB, upTo(t, version)).WithLockTimeout(conf3LockTimeout)

			up := readFile(t, migrate.Default().Migrations, file)
			down := readFile(t, migrate.Default().Rollbacks, file)

			for _, step := range []struct {
				name string
				sql  string
				run  func() error
			}{
				{"migration", up, func() error { _, err := runner.Up(ctx); return err }},
				{"rollback", down, func() error { _, err := runner.Down(ctx, prev); return err }},
			} {
				lt := conf3FileLockTimeout(step.sql)
				if lt != conf3LockTimeout {
					t.Logf("%s of %s sets its own lock_timeout (%s), which overrides the runner's: its bounds are that", step.name, file, lt)
				}
				tables := conf3Touched(t, ctx, d, step.sql)
				if len(tables) == 0 {
					// Nothing another session can hold: it only replaces
					// functions, say.
					t.Logf("%s of %s locks no existing table", step.name, file)
				}
				before := catalog(t, d)
				history := conf3History(t, ctx, d)
				// The longest write, and whether some write had to queue
				// behind the file (it takes a lock that conflicts with a
				// writer's on some table), so the bound is not vacuous.
				var longest time.Duration
				probed := false
				for _, held := range tables {
					mode := conf3Blocker[held.mode]
					t.Logf("%s: another session holds %s on %s (the file takes %s)", step.name, mode, held.name, held.mode)
					release := conf3Hold(t, ctx, conns, held.name, mode)
					var writers []conf3Table
					for _, w := range tables {
						if w.name != held.name || !conf3WriterBlocked[mode] {
							writers = append(writers, w)
						}
					}
					stop := conf3Write(t, ctx, conns, writers)
					start := time.Now()
					done := make(chan error, 1)
					go func() { done <- step.run() }()
					if conf3ConflictsWithWrites[held.mode] && !conf3WriterBlocked[mode] {
						// Once the file waits for its lock, one more write
						// of that table queues behind the file's request.
						probed = true
						conf3Probe(t, ctx, d, held, start, lt)
					}
					err := <-done
					took := time.Since(start)
					waits := stop()
					release()
					var pgErr *pgconn.PgError
					require.ErrorAs(t, err, &pgErr, "%s of %s with %s held on %s", step.name, file, mode, held.name)
					// lock_not_available; or, for a file that sets its own
					// statement_timeout no longer than its lock_timeout, the
					// statement timeout that fires first (57014).
					require.Contains(t, []string{"55P03", "57014"}, pgErr.Code, "lock_not_available: %v", err)
					require.GreaterOrEqual(t, took, lt, "it waited for the lock")
					require.Less(t, took, lt+conf3Slack, "failed within lock_timeout")
					require.Equal(t, before, catalog(t, d), "a failed %s leaves the schema as it was", step.name)
					require.Equal(t, history, conf3History(t, ctx, d), "and no history change")
					for table, w := range waits {
						require.Less(t, w, 2*lt+conf3Slack, "a writer of %s waited %s", table, w)
						longest = max(longest, w)
					}
				}
				if len(tables) > 0 {
					t.Logf("%s: longest write while the file waited: %s (lock_timeout %s)", step.name, longest, lt)
				}
				if probed {
					t.Logf("%s: a write queued behind the file's pending lock request and was granted once the file gave up", step.name)
				}
				// Writers alone, committing continuously: the file gets its
				// locks between their transactions.
				stop := conf3Write(t, ctx, conns, tables)
				err := step.run()
				waits := stop()
				require.NoError(t, err, "%s of %s with writers on every table it touches", step.name, file)
				require.NotEqual(t, before, catalog(t, d))
				for table, w := range waits {
					require.Less(t, w, 2*lt+conf3Slack, "a writer of %s waited %s", table, w)
				}
			}
		})
	}
}

func readFile(t *testing.T, fsys fs.FS, name string) string {
	t.Helper()
	b, err := fs.ReadFile(fsys, name)
	require.NoError(t, err)
	return string(b)
}

// conf3Touched runs sql in a transaction it rolls back and returns the
// tables that existed before it and that it locked, with its strongest lock
// on each. Tables of the runner's history are not the file's.
func conf3Touched(t *testing.T, ctx context.Context, d *pgtest.DB, sql string) []conf3Table {
	t.Helper()
	conn, err := pgx.Connect(ctx, d.URL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx) //nolint:errcheck
	rows, err := tx.Query(ctx, `SELECT c.oid::bigint, format('%I.%I', n.nspname, c.relname),
			(SELECT a.attname FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
			   AND a.attidentity = '' AND a.attgenerated = '' ORDER BY a.attnum LIMIT 1)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'supabase_migrations')
		  AND n.nspname NOT LIKE 'pg_toast%'`)
	require.NoError(t, err)
	type rel struct {
		OID          int64
		Name, Column string
	}
	existing, err := pgx.CollectRows(rows, pgx.RowToStructByPos[rel])
	require.NoError(t, err)
	byOID := map[int64]rel{}
	for _, r := range existing {
		byOID[r.OID] = r
	}
	_, err = tx.Exec(ctx, sql)
	require.NoError(t, err)
	rows, err = tx.Query(ctx, `SELECT relation::bigint, mode FROM pg_locks
		WHERE pid = pg_backend_pid() AND locktype = 'relation' AND granted`)
	require.NoError(t, err)
	type lock struct {
		OID  int64
		Mode string
	}
	locks, err := pgx.CollectRows(rows, pgx.RowToStructByPos[lock])
	require.NoError(t, err)
	strongest := map[int64]string{}
	rank := func(m string) int {
		for i, s := range conf3Strength {
			if s == m {
				return i
			}
		}
		t.Fatalf("unknown lock mode %s", m)
		return -1
	}
	for _, l := range locks {
		if _, ok := byOID[l.OID]; !ok {
			continue
		}
		if m, ok := strongest[l.OID]; !ok || rank(l.Mode) > rank(m) {
			strongest[l.OID] = l.Mode
		}
	}
	var out []conf3Table
	for oid, mode := range strongest {
		r := byOID[oid]
		out = append(out, conf3Table{name: r.Name, mode: mode, column: r.Column})
	}
	return out
}

// conf3Conns are the sessions that hold locks and write, kept from one step
// to the next: a new connection per holder and writer of every step would
// cost a server backend's start for each, hundreds in the suite.
func conf3Conns(t *testing.T, ctx context.Context, d *pgtest.DB) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(d.URL)
	require.NoError(t, err)
	// A holder and a writer for every table a file touches, at once.
	cfg.MaxConns = 32
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

// conf3Hold opens a transaction on a session of its own that holds mode on
// table until the returned function is called.
func conf3Hold(t *testing.T, ctx context.Context, conns *pgxpool.Pool, table, mode string) func() {
	t.Helper()
	tx, err := conns.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, fmt.Sprintf(`LOCK TABLE %s IN %s MODE`, table, mode))
	require.NoError(t, err)
	return func() { _ = tx.Rollback(ctx) }
}

// conf3Write starts one writer per table, each committing a one-statement
// transaction in a loop on a session of its own (an UPDATE that matches no
// row: it takes the ROW EXCLUSIVE lock every write takes, whatever the
// table's constraints). The returned function stops them, each after its
// write in flight (none waits by then: the file has finished and the lock
// still held conflicts with no writer that runs), and returns each table's
// longest single write.
func conf3Write(t *testing.T, ctx context.Context, conns *pgxpool.Pool, tables []conf3Table) func() map[string]time.Duration {
	t.Helper()
	var stopped atomic.Bool
	var wg sync.WaitGroup
	var mu sync.Mutex
	longest := map[string]time.Duration{}
	var errs []error
	for _, tb := range tables {
		conn, err := conns.Acquire(ctx)
		require.NoError(t, err)
		sql := fmt.Sprintf(`UPDATE %s SET %s = %[2]s WHERE false`, tb.name, pgx.Identifier{tb.column}.Sanitize())
		// One write before the migration starts, so every writer is running.
		_, err = conn.Exec(ctx, sql)
		require.NoError(t, err, sql)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Release()
			for !stopped.Load() {
				start := time.Now()
				_, err := conn.Exec(ctx, sql)
				took := time.Since(start)
				if err != nil {
					if !conf3Dropped(err) {
						mu.Lock()
						errs = append(errs, fmt.Errorf("%s: %w", sql, err))
						mu.Unlock()
					}
					// A rollback dropped the table: this writer is done.
					return
				}
				mu.Lock()
				longest[tb.name] = max(longest[tb.name], took)
				mu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	return func() map[string]time.Duration {
		stopped.Store(true)
		wg.Wait()
		require.NoError(t, errors.Join(errs...))
		return longest
	}
}

func conf3History(t *testing.T, ctx context.Context, d *pgtest.DB) string {
	t.Helper()
	var s string
	require.NoError(t, d.Pool.QueryRow(ctx, `SELECT coalesce(string_agg(version, ',' ORDER BY version), '')
		FROM supabase_migrations.schema_migrations`).Scan(&s))
	return s
}

// conf3Dropped: a write failed because the table no longer exists (dropped
// by a rollback while the writer ran or waited).
func conf3Dropped(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "42P01" || strings.HasPrefix(pgErr.Message, "could not open relation"))
}

// conf3ConflictsWithWrites: the file's lock modes that conflict with the ROW
// EXCLUSIVE lock of a write, so writers of that table queue behind the file.
var conf3ConflictsWithWrites = map[string]bool{
	"ShareLock": true, "ShareRowExclusiveLock": true, "ExclusiveLock": true, "AccessExclusiveLock": true,
}

// conf3Probe waits until the file's lock request on held is pending, then
// writes to held on a new session and proves, from pg_locks, that the write
// queued behind that request; it returns when the write is done, which must
// be within 2 LT of start.
func conf3Probe(t *testing.T, ctx context.Context, d *pgtest.DB, held conf3Table, start time.Time, lt time.Duration) {
	t.Helper()
	pending := func(pid uint32) bool {
		var n int
		require.NoError(t, d.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_locks
			WHERE locktype = 'relation' AND relation = $1::regclass AND NOT granted AND ($2 = 0 OR pid = $2)`,
			held.name, int64(pid)).Scan(&n))
		return n > 0
	}
	for !pending(0) {
		require.Less(t, time.Since(start), lt+conf3Slack, "the file never waited for its lock on %s", held.name)
		time.Sleep(2 * time.Millisecond)
	}
	conn, err := pgx.Connect(ctx, d.URL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	pid := conn.PgConn().PID()
	wrote := make(chan error, 1)
	go func() {
		_, err := conn.Exec(ctx, fmt.Sprintf(`UPDATE %s SET %s = %[2]s WHERE false`, held.name, pgx.Identifier{held.column}.Sanitize()))
		wrote <- err
	}()
	queued := false
	for !queued {
		select {
		case err := <-wrote:
			require.NoError(t, err)
			// Done without being seen waiting: only acceptable when the
			// file had given up before the write was sent (a loaded
			// machine), which leaves this probe inconclusive.
			require.False(t, pending(0), "a write of %s went past the file's pending lock request", held.name)
			t.Logf("probe on %s inconclusive: the file gave up before the write was sent", held.name)
			return
		default:
		}
		queued = pending(pid)
		time.Sleep(time.Millisecond)
	}
	require.NoError(t, <-wrote)
	require.Less(t, time.Since(start), 2*lt+conf3Slack, "the queued write of %s finished within about 2 LT", held.name)
}

// conf3FileLockTimeout is the lock_timeout a file runs under: the runner's,
// unless the file sets its own (which then overrides it).
func conf3FileLockTimeout(sql string) time.Duration {
	m := regexp.MustCompile(`(?i)\bSET\s+(?:LOCAL\s+)?lock_timeout\s*(?:=|TO)\s*'(\d+)\s*(ms|s)'`).FindAllStringSubmatch(sql, -1)
	if len(m) == 0 {
		return conf3LockTimeout
	}
	last := m[len(m)-1]
	n, _ := strconv.Atoi(last[1])
	if strings.EqualFold(last[2], "s") {
		return time.Duration(n) * time.Second
	}
	return time.Duration(n) * time.Millisecond
}
