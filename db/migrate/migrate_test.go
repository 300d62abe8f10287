package migrate

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"testing"
	"testing/fstest"

	"github.com/DATA-DOG/go-sqlmock"
	"github.com/stretchr/testify/require"
)

// The SQL the runner must send, spelled out here rather than taken from the
// package's constants, so a change to any of it fails a test.
const (
	wantLock        = `SELECT pg_advisory_lock($1)`
	wantUnlock      = `SELECT pg_advisory_unlock($1)`
	wantReset       = `RESET ALL`
	wantLockTimeout = `SET LOCAL lock_timeout = '4s'`
	wantCreate      = "SET LOCAL lock_timeout = '4s';\n" +
		"CREATE SCHEMA IF NOT EXISTS supabase_migrations;\n" +
		"CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY);\n" +
		"ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS statements text[];\n" +
		"ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS name text"
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

func expectStart(mock sqlmock.Sqlmock, rows *sqlmock.Rows) {
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
	mock.ExpectExec(wantLockTimeout).WillReturnResult(sqlmock.NewResult(0, 0))
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

func TestUpUnknownApplied(t *testing.T) {
	t.Parallel()
	r, mock := setup(t, Source{Migrations: forward()})
	expectStart(mock, history(t,
		row(t, v1, "foundation", Split(sql1)...),
		row(t, "20270101000000", "from_the_future", "SELECT 1"),
	))
	expectEnd(mock)

	_, err := r.Up(context.Background())
	require.ErrorIs(t, err, ErrUnknownApplied)
	require.NotErrorIs(t, err, ErrOutOfOrder)
	require.Contains(t, err.Error(), "20270101000000")
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
	mock.ExpectExec(wantLock).WithArgs(LockKey).WillReturnError(context.DeadlineExceeded)

	_, err := r.Up(context.Background())
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NoError(t, mock.ExpectationsWereMet(), "no unlock on a session that is discarded")
}

func TestDown(t *testing.T) {
	t.Parallel()
	r, mock := setup(t, Source{Migrations: forward(), Rollbacks: rollbacks()})
	expectStart(mock, history(t,
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
	expectStart(mock, history(t,
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
	r, mock := setup(t, Source{Migrations: forward(), Rollbacks: rb})
	mock.ExpectQuery(wantExists).WillReturnRows(sqlmock.NewRows([]string{"exists"}).AddRow(true))
	mock.ExpectQuery(wantSelect).WillReturnRows(history(t,
		row(t, v1, "foundation", Split(sql1)...),
		row(t, v2, "proxy_activities", "CREATE TABLE b (id bigint)"),
		row(t, "20270101000000", "from_the_future", "SELECT 1"),
	))

	got, err := r.Status(context.Background())
	require.NoError(t, err)
	require.Equal(t, []Status{
		{Version: v1, Name: "foundation", File: v1 + "_foundation.sql", Applied: true, Rollback: true},
		{Version: v2, Name: "proxy_activities", File: v2 + "_proxy_activities.sql", Applied: true, Changed: true, Rollback: true},
		{Version: v3, Name: "peer_mentor_status", File: v3 + "_peer_mentor_status.sql", Pending: true},
		{Version: "20270101000000", Name: "from_the_future", Applied: true, Unknown: true},
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
