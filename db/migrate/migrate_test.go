package migrate

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/DATA-DOG/go-sqlmock"
	"github.com/stretchr/testify/require"

	schema "github.com/mentordb/mentordb/sql"
)

// The SQL the runner must send, spelled out here rather than taken from the
// package's constants, so a change to any of it fails a test.
const (
	wantLock        = `SELECT pg_advisory_lock($1)`
	wantUnlock      = `SELECT pg_advisory_unlock($1)`
	wantReset       = `RESET ALL`
	wantLockTimeout = `SELECT set_config('lock_timeout', '4s', true), EXISTS ( SELECT FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_catalog.pg_backend_pid() AND classid = ($1::bigint >> 32)::oid AND objid = ($1::bigint & 4294967295)::oid AND objsubid = 1)`
	wantBackend     = `SELECT pg_catalog.pg_backend_pid()`
	wantCreate      = "SET LOCAL lock_timeout = '4s';\n" +
		"CREATE SCHEMA IF NOT EXISTS supabase_migrations;\n" +
		"CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY);\n" +
		"ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS statements text[];\n" +
		"ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS name text"
	wantPlatform = "SELECT coalesce(string_agg(what, ', ' ORDER BY ord), '') FROM (VALUES\n" +
		" (1, 'schema auth', to_regnamespace('auth') IS NOT NULL),\n" +
		" (2, 'table auth.users', to_regclass('auth.users') IS NOT NULL),\n" +
		" (3, 'function auth.uid()', to_regprocedure('auth.uid()') IS NOT NULL),\n" +
		" (4, 'role anon', EXISTS (SELECT FROM pg_roles WHERE rolname = 'anon')),\n" +
		" (5, 'role authenticated', EXISTS (SELECT FROM pg_roles WHERE rolname = 'authenticated')),\n" +
		" (6, 'role service_role', EXISTS (SELECT FROM pg_roles WHERE rolname = 'service_role'))\n" +
		") AS t(ord, what, present) WHERE NOT present"
	wantExists = `SELECT to_regclass('supabase_migrations.schema_migrations') IS NOT NULL`
	wantSelect = `SELECT version, coalesce(name, ''), array_to_json(statements)::text FROM supabase_migrations.schema_migrations ORDER BY version`
	wantInsert = `INSERT INTO supabase_migrations.schema_migrations (version, name, statements) VALUES ($1, $2, $3::text::text[])`
	wantDelete = `DELETE FROM supabase_migrations.schema_migrations WHERE version = $1`
)

const (
	v1 = "20261120000000"
	v2 = "20261121000000"
	v3 = "20261122000000"

	sql1 = "CREATE TABLE a (id int);\n"
	sql2 = "-- b and its function\nCREATE TABLE b (id int);\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;\n"
	sql3 = "CREATE TABLE c (id int);\n"
)

func forward() fstest.MapFS {
	return fstest.MapFS{
		v1 + "_foundation.sql":         {Data: []byte(sql1)},
		v2 + "_proxy_activities.sql":   {Data: []byte(sql2)},
		v3 + "_peer_mentor_status.sql": {Data: []byte(sql3)},
		// Skipped, as the Supabase CLI skips them.
		"README.md":              {Data: []byte("not sql")},
		"2026_short_version.sql": {Data: []byte("SELECT 1")},
		"notes/" + v1 + "_x.sql": {Data: []byte("SELECT 1")},
	}
}

func rollbacks() fstest.MapFS {
	return fstest.MapFS{
		v1 + "_foundation.sql":         {Data: []byte("DROP TABLE a;\n")},
		v2 + "_proxy_activities.sql":   {Data: []byte("DROP FUNCTION f();\nDROP TABLE b;\n")},
		v3 + "_peer_mentor_status.sql": {Data: []byte("DROP TABLE c;\n")},
	}
}

func setup(t *testing.T, src Source) (*Runner, sqlmock.Sqlmock) {
	t.Helper()
	db, mock, err := sqlmock.New(sqlmock.QueryMatcherOption(sqlmock.QueryMatcherEqual))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return New(db, src), mock
}

// history returns rows as the runner reads them; nil statements is NULL.
func history(t *testing.T, rows ...[]any) *sqlmock.Rows {
	t.Helper()
	r := sqlmock.NewRows([]string{"version", "name", "statements"})
	for _, row := range rows {
		vals := make([]driver.Value, len(row))
		for i, v := range row {
			vals[i] = v
		}
		r.AddRow(vals...)
	}
	return r
}

func row(t *testing.T, version, name string, stmts ...string) []any {
	t.Helper()
	b, err := json.Marshal(stmts)
	require.NoError(t, err)
	return []any{version, name, string(b)}
}

func expectSession(mock sqlmock.Sqlmock) {
	for range 2 {
		mock.ExpectQuery(wantBackend).WillReturnRows(sqlmock.NewRows([]string{"pid"}).AddRow(int64(42)))
	}
}

// expectStart: Up's start, which checks the platform objects first.
func expectStart(mock sqlmock.Sqlmock, rows *sqlmock.Rows) {
	expectSession(mock)
	mock.ExpectExec(wantLock).WithArgs(LockKey).WillReturnResult(sqlmock.NewResult(0, 1))
	mock.ExpectQuery(wantPlatform).WillReturnRows(sqlmock.NewRows([]string{"missing"}).AddRow(""))
	mock.ExpectExec(wantCreate).WillReturnResult(sqlmock.NewResult(0, 0))
	mock.ExpectQuery(wantSelect).WillReturnRows(rows)
}

// expectDownStart: Down's start, which needs no platform check.
func expectDownStart(mock sqlmock.Sqlmock, rows *sqlmock.Rows) {
	expectSession(mock)
	mock.ExpectExec(wantLock).WithArgs(LockKey).WillReturnResult(sqlmock.NewResult(0, 1))
	mock.ExpectExec(wantCreate).WillReturnResult(sqlmock.NewResult(0, 0))
	mock.ExpectQuery(wantSelect).WillReturnRows(rows)
}

func expectEnd(mock sqlmock.Sqlmock) {
	mock.ExpectExec(wantReset).WillReturnResult(sqlmock.NewResult(0, 0))
	mock.ExpectExec(wantUnlock).WithArgs(LockKey).WillReturnResult(sqlmock.NewResult(0, 1))
}

// expectFile: the file's transaction up to and including the file itself,
// sent whole as one Exec.
func expectFile(mock sqlmock.Sqlmock, file string) *sqlmock.ExpectedExec {
	mock.ExpectBegin()
	mock.ExpectExec(wantReset).WillReturnResult(sqlmock.NewResult(0, 0))
	mock.ExpectQuery(wantLockTimeout).WithArgs(LockKey).WillReturnRows(sqlmock.NewRows([]string{"set_config", "exists"}).AddRow("4s", true))
	return mock.ExpectExec(file)
}

func expectApply(mock sqlmock.Sqlmock, file string) {
	expectFile(mock, file).WillReturnResult(sqlmock.NewResult(0, 0))
}

func TestUpFresh(t *testing.T) {
	t.Parallel()
	r, mock := setup(t, Source{Migrations: forward()})
	expectStart(mock, history(t))
	expectApply(mock, sql1)
	mock.ExpectExec(wantInsert).WithArgs(v1, "foundation", `{"CREATE TABLE a (id int)"}`).
		WillReturnResult(sqlmock.NewResult(0, 1))
	mock.ExpectCommit()
	expectApply(mock, sql2)
	mock.ExpectExec(wantInsert).WithArgs(v2, "proxy_activities",
		"{\"-- b and its function\nCREATE TABLE b (id int)\",\"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$\"}").
		WillReturnResult(sqlmock.NewResult(0, 1))
	mock.ExpectCommit()
	expectApply(mock, sql3)
	mock.ExpectExec(wantInsert).WithArgs(v3, "peer_mentor_status", `{"CREATE TABLE c (id int)"}`).
		WillReturnResult(sqlmock.NewResult(0, 1))
	mock.ExpectCommit()
	expectEnd(mock)

	done, err := r.Up(context.Background())
	require.NoError(t, err)
	require.Len(t, done, 3)
	require.Equal(t, []string{v1, v2, v3}, []string{done[0].Version, done[1].Version, done[2].Version})
	require.Equal(t, "proxy_activities", done[1].Name)
	require.Equal(t, v2+"_proxy_activities.sql", done[1].File)
	require.NoError(t, mock.ExpectationsWereMet())
}

func TestUpNothingToDo(t *testing.T) {
	t.Parallel()
	r, mock := setup(t, Source{Migrations: forward()})
	expectStart(mock, history(t,
		row(t, v1, "foundation", Split(sql1)...),
		row(t, v2, "proxy_activities", Split(sql2)...),
		row(t, v3, "peer_mentor_status", Split(sql3)...),
	))
	expectEnd(mock)

	done, err := r.Up(context.Background())
	require.NoError(t, err)
	require.Empty(t, done)
	require.NoError(t, mock.ExpectationsWereMet())
}

func TestUpFailureRollsBackAndUnlocks(t *testing.T) {
	t.Parallel()
	r, mock := setup(t, Source{Migrations: forward()})
	boom := errors.New(`ERROR: relation "auth.users" does not exist (SQLSTATE 42P01)`)
	expectStart(mock, history(t, row(t, v1, "foundation", Split(sql1)...)))
	expectApply(mock, sql2)
	mock.ExpectExec(wantInsert).WithArgs(v2, "proxy_activities", sqlmock.AnyArg()).
		WillReturnResult(sqlmock.NewResult(0, 1))
	mock.ExpectCommit()
	expectFile(mock, sql3).WillReturnError(boom)
	mock.ExpectRollback()
	expectEnd(mock)

	done, err := r.Up(context.Background())
	require.ErrorIs(t, err, boom)
	var me *Error
	require.ErrorAs(t, err, &me)
	require.Equal(t, v3, me.Version)
	require.Equal(t, v3+"_peer_mentor_status.sql", me.File)
	require.Contains(t, err.Error(), v3+"_peer_mentor_status.sql")
	require.Len(t, done, 1, "the migration applied before the failure is reported")
	require.Equal(t, v2, done[0].Version)
	require.NoError(t, mock.ExpectationsWereMet())
}

func TestUpChanged(t *testing.T) {
	t.Parallel()
	r, mock := setup(t, Source{Migrations: forward()})
	expectStart(mock, history(t,
		row(t, v1, "foundation", "CREATE TABLE a (id bigint)"),
		row(t, v2, "proxy_activities", Split(sql2)...),
	))
	expectEnd(mock) // nothing applied, lock released

	done, err := r.Up(context.Background())
	require.ErrorIs(t, err, ErrChanged)
	var me *Error
	require.ErrorAs(t, err, &me)
	require.Equal(t, v1, me.Version)
	require.Empty(t, done)
	require.NoError(t, mock.ExpectationsWereMet())
}

// A history written by a CLI whose splitter cut the file elsewhere, or by a
// tool that left statements NULL, is not a changed file.
func TestUpUnchangedDespiteOtherSplit(t *testing.T) {
	t.Parallel()
	r, mock := setup(t, Source{Migrations: forward()})
	expectStart(mock, history(t,
		row(t, v1, "foundation", Split(sql1)...),
		row(t, v2, "proxy_activities", "-- b and its function\nCREATE TABLE b (id int);\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$"),
		[]any{v3, "peer_mentor_status", nil},
	))
	expectEnd(mock)

	done, err := r.Up(context.Background())
	require.NoError(t, err)
	require.Empty(t, done)
	require.NoError(t, mock.ExpectationsWereMet())
}

// Versions this source never shipped, before, between and after its own,
// are another team's: Up applies its own pending ones around them (v3 is
// older than the foreign "after" version and is applied all the same) and
// sends nothing that touches theirs.
func TestUpLeavesForeignVersionsAlone(t *testing.T) {
	t.Parallel()
	r, mock := setup(t, Source{Migrations: forward(), Shipped: []string{v1, v2, v3}})
	expectStart(mock, history(t,
		row(t, "20200101000000", "theirs_before", "CREATE TABLE x (id int)"),
		row(t, v1, "foundation", Split(sql1)...),
		row(t, "20261120500000", "theirs_between", "CREATE TABLE y (id int)"),
		row(t, v2, "proxy_activities", Split(sql2)...),
		[]any{"20270101000000", "theirs_after", nil},
	))
	expectApply(mock, sql3)
	mock.ExpectExec(wantInsert).WithArgs(v3, "peer_mentor_status", `{"CREATE TABLE c (id int)"}`).
		WillReturnResult(sqlmock.NewResult(0, 1))
	mock.ExpectCommit()
	expectEnd(mock)

	done, err := r.Up(context.Background())
	require.NoError(t, err)
	require.Len(t, done, 1)
	require.Equal(t, v3, done[0].Version)
	require.NoError(t, mock.ExpectationsWereMet())
}

// A version the source shipped once and has no file for any more is its
// own, not a foreign one: Up refuses before changing anything.
func TestUpRetired(t *testing.T) {
	t.Parallel()
	const retired = "20261121500000"
	r, mock := setup(t, Source{Migrations: forward(), Shipped: []string{v1, v2, retired, v3}})
	expectStart(mock, history(t,
		row(t, v1, "foundation", Split(sql1)...),
		row(t, retired, "dropped_later", "SELECT 1"),
		row(t, "20270101000000", "theirs", "SELECT 1"),
	))
	expectEnd(mock) // nothing applied, lock released

	done, err := r.Up(context.Background())
	require.ErrorIs(t, err, ErrRetired)
	require.NotErrorIs(t, err, ErrOutOfOrder)
	var me *Error
	require.ErrorAs(t, err, &me)
	require.Equal(t, retired, me.Version)
	require.Contains(t, err.Error(), "dropped_later")
	require.NotContains(t, err.Error(), "20270101000000", "the foreign version is not an error")
	require.Empty(t, done)
	require.NoError(t, mock.ExpectationsWereMet())
}

// A database without the Supabase platform objects is refused before the
// history table is created: nothing changes.
func TestUpPlatformMissing(t *testing.T) {
	t.Parallel()
	r, mock := setup(t, Source{Migrations: forward()})
	expectSession(mock)
	mock.ExpectExec(wantLock).WithArgs(LockKey).WillReturnResult(sqlmock.NewResult(0, 1))
	mock.ExpectQuery(wantPlatform).WillReturnRows(sqlmock.NewRows([]string{"missing"}).
		AddRow("schema auth, table auth.users, function auth.uid()"))
	expectEnd(mock)

	done, err := r.Up(context.Background())
	require.ErrorIs(t, err, ErrPlatformMissing)
	var pe *PlatformError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, []string{"schema auth", "table auth.users", "function auth.uid()"}, pe.Missing)
	require.Contains(t, err.Error(), `schema auth`)
	require.Contains(t, err.Error(), "db/platform", "the error names where the platform SQL is")
	require.Empty(t, done)
	require.NoError(t, mock.ExpectationsWereMet())
}

func TestUpPlatformCheckFails(t *testing.T) {
	t.Parallel()
	r, mock := setup(t, Source{Migrations: forward()})
	boom := errors.New("connection reset")
	expectSession(mock)
	mock.ExpectExec(wantLock).WithArgs(LockKey).WillReturnResult(sqlmock.NewResult(0, 1))
	mock.ExpectQuery(wantPlatform).WillReturnError(boom)
	expectEnd(mock)

	_, err := r.Up(context.Background())
	require.ErrorIs(t, err, boom)
	require.NotErrorIs(t, err, ErrPlatformMissing)
	require.NoError(t, mock.ExpectationsWereMet())
}

func TestUpOutOfOrder(t *testing.T) {
	t.Parallel()
	r, mock := setup(t, Source{Migrations: forward()})
	expectStart(mock, history(t,
		row(t, v1, "foundation", Split(sql1)...),
		row(t, v3, "peer_mentor_status", Split(sql3)...),
	))
	expectEnd(mock)

	_, err := r.Up(context.Background())
	require.ErrorIs(t, err, ErrOutOfOrder)
	var me *Error
	require.ErrorAs(t, err, &me)
	require.Equal(t, v2, me.Version)
	require.NoError(t, mock.ExpectationsWereMet())
}

func TestUpLockFailure(t *testing.T) {
	t.Parallel()
	r, mock := setup(t, Source{Migrations: forward()})
	expectSession(mock)
	mock.ExpectExec(wantLock).WithArgs(LockKey).WillReturnError(context.DeadlineExceeded)

	_, err := r.Up(context.Background())
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NoError(t, mock.ExpectationsWereMet(), "no unlock on a session that is discarded")
}

func TestDown(t *testing.T) {
	t.Parallel()
	r, mock := setup(t, Source{Migrations: forward(), Rollbacks: rollbacks()})
	expectDownStart(mock, history(t,
		row(t, v1, "foundation", Split(sql1)...),
		row(t, v2, "proxy_activities", Split(sql2)...),
		row(t, v3, "peer_mentor_status", Split(sql3)...),
	))
	expectApply(mock, "DROP TABLE c;\n")
	mock.ExpectExec(wantDelete).WithArgs(v3).WillReturnResult(sqlmock.NewResult(0, 1))
	mock.ExpectCommit()
	expectApply(mock, "DROP FUNCTION f();\nDROP TABLE b;\n")
	mock.ExpectExec(wantDelete).WithArgs(v2).WillReturnResult(sqlmock.NewResult(0, 1))
	mock.ExpectCommit()
	expectEnd(mock)

	done, err := r.Down(context.Background(), v1)
	require.NoError(t, err)
	require.Len(t, done, 2)
	require.Equal(t, v3, done[0].Version, "newest first")
	require.Equal(t, v2, done[1].Version)
	require.NoError(t, mock.ExpectationsWereMet())
}

func TestDownMissingRollback(t *testing.T) {
	t.Parallel()
	rb := rollbacks()
	delete(rb, v2+"_proxy_activities.sql")
	r, mock := setup(t, Source{Migrations: forward(), Rollbacks: rb})
	expectDownStart(mock, history(t,
		row(t, v1, "foundation", Split(sql1)...),
		row(t, v2, "proxy_activities", Split(sql2)...),
		row(t, v3, "peer_mentor_status", Split(sql3)...),
	))
	expectEnd(mock) // v3 is not rolled back either

	done, err := r.Down(context.Background(), "0")
	require.ErrorIs(t, err, ErrMissingRollback)
	var me *Error
	require.ErrorAs(t, err, &me)
	require.Equal(t, v2, me.Version)
	require.Equal(t, v2+"_proxy_activities.sql", me.File)
	require.Empty(t, done)
	require.NoError(t, mock.ExpectationsWereMet())
}

// Down rolls back only its own versions; foreign ones keep their history
// rows and are never reported as missing a rollback.
func TestDownSkipsForeignVersions(t *testing.T) {
	t.Parallel()
	r, mock := setup(t, Source{Migrations: forward(), Rollbacks: rollbacks(), Shipped: []string{v1, v2, v3}})
	expectDownStart(mock, history(t,
		row(t, v1, "foundation", Split(sql1)...),
		row(t, "20261120500000", "theirs_between", "SELECT 1"),
		row(t, v2, "proxy_activities", Split(sql2)...),
		row(t, "20270101000000", "theirs_after", "SELECT 1"),
	))
	expectApply(mock, "DROP FUNCTION f();\nDROP TABLE b;\n")
	mock.ExpectExec(wantDelete).WithArgs(v2).WillReturnResult(sqlmock.NewResult(0, 1))
	mock.ExpectCommit()
	expectApply(mock, "DROP TABLE a;\n")
	mock.ExpectExec(wantDelete).WithArgs(v1).WillReturnResult(sqlmock.NewResult(0, 1))
	mock.ExpectCommit()
	expectEnd(mock)

	done, err := r.Down(context.Background(), "0")
	require.NoError(t, err)
	require.Len(t, done, 2)
	require.Equal(t, []string{v2, v1}, []string{done[0].Version, done[1].Version})
	require.NoError(t, mock.ExpectationsWereMet())
}

func TestDownRejectsBadVersion(t *testing.T) {
	t.Parallel()
	r, mock := setup(t, Source{Migrations: forward(), Rollbacks: rollbacks()})
	for _, v := range []string{"", "latest", "2026-11-20"} {
		_, err := r.Down(context.Background(), v)
		require.Error(t, err, v)
	}
	require.NoError(t, mock.ExpectationsWereMet())
}

func TestStatus(t *testing.T) {
	t.Parallel()
	rb := rollbacks()
	delete(rb, v3+"_peer_mentor_status.sql")
	const retired = "20261121500000"
	r, mock := setup(t, Source{Migrations: forward(), Rollbacks: rb, Shipped: []string{v1, v2, retired, v3}})
	mock.ExpectQuery(wantExists).WillReturnRows(sqlmock.NewRows([]string{"exists"}).AddRow(true))
	mock.ExpectQuery(wantSelect).WillReturnRows(history(t,
		row(t, "20200101000000", "theirs_before", "SELECT 1"),
		row(t, v1, "foundation", Split(sql1)...),
		row(t, v2, "proxy_activities", "CREATE TABLE b (id bigint)"),
		row(t, retired, "dropped_later", "SELECT 1"),
		row(t, "20270101000000", "theirs_after", "SELECT 1"),
	))

	got, err := r.Status(context.Background())
	require.NoError(t, err)
	require.Equal(t, []Status{
		{Version: "20200101000000", Name: "theirs_before", Applied: true, Foreign: true},
		{Version: v1, Name: "foundation", File: v1 + "_foundation.sql", Applied: true, Rollback: true},
		{Version: v2, Name: "proxy_activities", File: v2 + "_proxy_activities.sql", Applied: true, Changed: true, Rollback: true},
		{Version: retired, Name: "dropped_later", Applied: true, Retired: true},
		{Version: v3, Name: "peer_mentor_status", File: v3 + "_peer_mentor_status.sql", Pending: true},
		{Version: "20270101000000", Name: "theirs_after", Applied: true, Foreign: true},
	}, got)
	require.NoError(t, mock.ExpectationsWereMet())
}

func TestStatusNeverMigrated(t *testing.T) {
	t.Parallel()
	r, mock := setup(t, Source{Migrations: forward()})
	mock.ExpectQuery(wantExists).WillReturnRows(sqlmock.NewRows([]string{"exists"}).AddRow(false))

	got, err := r.Status(context.Background())
	require.NoError(t, err)
	require.Len(t, got, 3)
	for _, s := range got {
		require.True(t, s.Pending, s.Version)
		require.False(t, s.Applied, s.Version)
	}
	require.NoError(t, mock.ExpectationsWereMet())
}

func TestDuplicateVersion(t *testing.T) {
	t.Parallel()
	files := forward()
	files[v1+"_again.sql"] = &fstest.MapFile{Data: []byte("SELECT 1")}
	r, mock := setup(t, Source{Migrations: files})

	_, err := r.Up(context.Background())
	require.ErrorIs(t, err, ErrDuplicateVersion)
	require.NoError(t, mock.ExpectationsWereMet(), "nothing sent to the database")
}

// The shipped list is what tells mentordb's versions from other teams': a
// migration missing from it would be checked only while its file exists,
// and once retired would be taken for a foreign version and ignored.
func TestShippedListsEveryMigration(t *testing.T) {
	t.Parallel()
	ms, err := load(Default().Migrations)
	require.NoError(t, err)
	listed := map[string]bool{}
	for _, line := range strings.Split(schema.Shipped, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		require.Regexp(t, fileName, line, "sql/shipped.txt: every line is a migration file name")
		require.False(t, listed[line], "sql/shipped.txt lists %s twice", line)
		listed[line] = true
	}
	for _, m := range ms {
		require.True(t, listed[m.File], "sql/shipped.txt must list %s: append that line (the list is append-only)", m.File)
	}
	require.Len(t, Default().Shipped, len(listed))
}

// The embedded SQL: every migration has a rollback of the same name.
func TestDefault(t *testing.T) {
	t.Parallel()
	src := Default()
	ms, err := load(src.Migrations)
	require.NoError(t, err)
	rbs, err := load(src.Rollbacks)
	require.NoError(t, err)
	require.NotEmpty(t, ms)
	require.Len(t, rbs, len(ms))
	for i := range ms {
		require.Equal(t, ms[i].File, rbs[i].File)
	}
}

func TestTextArray(t *testing.T) {
	t.Parallel()
	require.Equal(t, `{}`, textArray(nil))
	require.Equal(t, `{"a","b\"c","d\\e","{x, y}","NULL"}`, textArray([]string{"a", `b"c`, `d\e`, "{x, y}", "NULL"}))
}

// Behind a pooler in transaction mode two statements of one connection may
// run on two server sessions: the runner refuses before taking its lock.
func TestUpRefusesTwoSessions(t *testing.T) {
	t.Parallel()
	db, mock, err := sqlmock.New(sqlmock.QueryMatcherOption(sqlmock.QueryMatcherEqual))
	require.NoError(t, err)
	defer db.Close()
	mock.ExpectQuery(wantBackend).WillReturnRows(sqlmock.NewRows([]string{"pid"}).AddRow(int64(41)))
	mock.ExpectQuery(wantBackend).WillReturnRows(sqlmock.NewRows([]string{"pid"}).AddRow(int64(42)))
	_, err = New(db, Source{Migrations: fstest.MapFS{}}).Up(context.Background())
	require.ErrorIs(t, err, ErrNeedsSession)
	require.ErrorContains(t, err, "server sessions 41 and 42")
	require.NoError(t, mock.ExpectationsWereMet(), "nothing after the check: no lock, no history")
}

// A retired version of the source's own has no rollback file: Down refuses
// before rolling anything back, while the foreign version above it is
// skipped, not reported.
func TestDownRetiredHasNoRollback(t *testing.T) {
	t.Parallel()
	const retired = "20261121500000"
	r, mock := setup(t, Source{Migrations: forward(), Rollbacks: rollbacks(), Shipped: []string{v1, v2, retired, v3}})
	expectDownStart(mock, history(t,
		row(t, v1, "foundation", Split(sql1)...),
		row(t, retired, "dropped_later", "SELECT 1"),
		row(t, "20270101000000", "theirs", "SELECT 1"),
	))
	expectEnd(mock)

	done, err := r.Down(context.Background(), "0")
	require.ErrorIs(t, err, ErrMissingRollback)
	var me *Error
	require.ErrorAs(t, err, &me)
	require.Equal(t, retired, me.Version)
	require.NotContains(t, err.Error(), "20270101000000")
	require.Empty(t, done)
	require.NoError(t, mock.ExpectationsWereMet())
}

// The source's own order is still enforced when foreign versions surround
// it: a pending v2 older than the applied v3 is out of order, whatever the
// foreign versions are.
func TestUpOutOfOrderAmongForeign(t *testing.T) {
	t.Parallel()
	r, mock := setup(t, Source{Migrations: forward(), Shipped: []string{v1, v2, v3}})
	expectStart(mock, history(t,
		row(t, "20200101000000", "theirs_before", "SELECT 1"),
		row(t, v1, "foundation", Split(sql1)...),
		row(t, v3, "peer_mentor_status", Split(sql3)...),
		row(t, "20270101000000", "theirs_after", "SELECT 1"),
	))
	expectEnd(mock)

	done, err := r.Up(context.Background())
	require.ErrorIs(t, err, ErrOutOfOrder)
	var me *Error
	require.ErrorAs(t, err, &me)
	require.Equal(t, v2, me.Version)
	require.Contains(t, err.Error(), "newest applied: "+v3)
	require.Empty(t, done)
	require.NoError(t, mock.ExpectationsWereMet())
}

func TestUpHistoryErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("permission denied for schema supabase_migrations")
	t.Run("create", func(t *testing.T) {
		t.Parallel()
		r, mock := setup(t, Source{Migrations: forward()})
		expectSession(mock)
		mock.ExpectExec(wantLock).WithArgs(LockKey).WillReturnResult(sqlmock.NewResult(0, 1))
		mock.ExpectQuery(wantPlatform).WillReturnRows(sqlmock.NewRows([]string{"missing"}).AddRow(""))
		mock.ExpectExec(wantCreate).WillReturnError(boom)
		expectEnd(mock)
		_, err := r.Up(context.Background())
		require.ErrorIs(t, err, boom)
		require.NoError(t, mock.ExpectationsWereMet())
	})
	t.Run("read", func(t *testing.T) {
		t.Parallel()
		r, mock := setup(t, Source{Migrations: forward()})
		expectSession(mock)
		mock.ExpectExec(wantLock).WithArgs(LockKey).WillReturnResult(sqlmock.NewResult(0, 1))
		mock.ExpectQuery(wantPlatform).WillReturnRows(sqlmock.NewRows([]string{"missing"}).AddRow(""))
		mock.ExpectExec(wantCreate).WillReturnResult(sqlmock.NewResult(0, 0))
		mock.ExpectQuery(wantSelect).WillReturnError(boom)
		expectEnd(mock)
		_, err := r.Up(context.Background())
		require.ErrorIs(t, err, boom)
		require.NoError(t, mock.ExpectationsWereMet())
	})
	t.Run("status", func(t *testing.T) {
		t.Parallel()
		r, mock := setup(t, Source{Migrations: forward()})
		mock.ExpectQuery(wantExists).WillReturnError(boom)
		_, err := r.Status(context.Background())
		require.ErrorIs(t, err, boom)
		require.NoError(t, mock.ExpectationsWereMet())
	})
}
