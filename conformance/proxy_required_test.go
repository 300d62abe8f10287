package conformance

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
)

// proxyRequiredCases prove, by writing them, the column rules that only a
// direct write can break: the seed's NOT NULL columns and the audit log's
// action. They write as the table owner, which bypasses RLS and grants but
// none of these rules.
func proxyRequiredCases(t *testing.T) {
	t.Run("PA-COL-1 every NOT NULL column of the seed refuses NULL on INSERT, even from the table owner", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		row := map[string]any{
			"coordinator_id": f.coordA, "attributed_mentor_id": f.mentorA, "org_id": f.orgA,
			"activity_type": "visit", "date": proxyDay, "duration_minutes": 45, "is_recurring": false,
		}
		requireInsertable(t, f.d, "proxy_activities", row)
		for _, col := range []string{"coordinator_id", "attributed_mentor_id", "org_id", "activity_type", "date", "duration_minutes", "is_recurring"} {
			requireNullRefused(t, f.d, "proxy_activities", row, col)
		}
	})

	t.Run("PA-AUD-1 an audit row always names its activity, org, action (INSERT, UPDATE or DELETE) and time, also when the owner restores rows in replica mode", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		// Outside replica mode a direct insert is refused before any column
		// is checked (proxy_audit_log_direct_insert); a data-only restore
		// writes audit rows in replica mode, where the columns' own rules
		// are all that stands.
		row := map[string]any{"activity_id": f.tmplA, "org_id": f.orgA, "action": "INSERT", "at": proxyDay}
		requireInsertable(t, f.d, "proxy_audit_log", row, replicaMode)
		for _, col := range []string{"activity_id", "org_id", "action", "at"} {
			requireNullRefused(t, f.d, "proxy_audit_log", row, col, replicaMode)
		}
		bad := map[string]any{"activity_id": f.tmplA, "org_id": f.orgA, "action": "TRUNCATE"}
		requireRefused(t, f.d, "proxy_audit_log", bad, "23514", "proxy_audit_log_action_check", replicaMode)
	})
}

// insertSQL renders an INSERT of row into table, columns in name order.
func insertSQL(table string, row map[string]any) (string, []any) {
	cols := make([]string, 0, len(row))
	for c := range row {
		cols = append(cols, c)
	}
	sort.Strings(cols)
	args := make([]any, len(cols))
	ph := make([]string, len(cols))
	for i, c := range cols {
		args[i] = row[c]
		ph[i] = fmt.Sprintf("$%d", i+1)
	}
	return fmt.Sprintf("INSERT INTO public.%s (%s) VALUES (%s)", table, strings.Join(cols, ", "), strings.Join(ph, ", ")), args
}

// replicaMode makes ownerInsert run with session_replication_role = replica,
// as a data-only restore does.
const replicaMode = true

// ownerInsert inserts row as the owner in a transaction that is always
// rolled back, and returns the statement's error.
func ownerInsert(t *testing.T, d *pgtest.DB, table string, row map[string]any, replica ...bool) error {
	t.Helper()
	ctx := pgtest.Ctx(t)
	tx, err := d.Pool.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	if len(replica) > 0 && replica[0] {
		_, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`)
		require.NoError(t, err)
	}
	sql, args := insertSQL(table, row)
	_, err = tx.Exec(ctx, sql, args...)
	return err
}

// requireInsertable checks that row itself is accepted, so that each
// refusal below is caused by the one column it changes.
func requireInsertable(t *testing.T, d *pgtest.DB, table string, row map[string]any, replica ...bool) {
	t.Helper()
	require.NoError(t, ownerInsert(t, d, table, row, replica...), "the valid %s row", table)
}

// requireNullRefused checks that row with col set to NULL is refused with a
// not-null violation naming col.
func requireNullRefused(t *testing.T, d *pgtest.DB, table string, row map[string]any, col string, replica ...bool) {
	t.Helper()
	bad := make(map[string]any, len(row))
	for k, v := range row {
		bad[k] = v
	}
	bad[col] = nil
	err := ownerInsert(t, d, table, bad, replica...)
	var pgErr *pgconn.PgError
	require.True(t, errors.As(err, &pgErr), "%s.%s = NULL was accepted (%v)", table, col, err)
	require.Equal(t, "23502", pgErr.Code, "%s.%s = NULL: %s", table, col, pgErr.Message)
	require.Equal(t, col, pgErr.ColumnName)
}

// requireRefused checks that row is refused with code and constraint.
func requireRefused(t *testing.T, d *pgtest.DB, table string, row map[string]any, code, constraint string, replica ...bool) {
	t.Helper()
	err := ownerInsert(t, d, table, row, replica...)
	var pgErr *pgconn.PgError
	require.True(t, errors.As(err, &pgErr), "%s %v was accepted (%v)", table, row, err)
	require.Equal(t, code, pgErr.Code, pgErr.Message)
	require.Equal(t, string(constraint), pgErr.ConstraintName, pgErr.Message)
}
