package migrate

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// The history is the Supabase CLI's own table, created the way the CLI
// creates it (every step idempotent, columns added by ALTER so a table made
// by an older CLI is upgraded in place). Sharing it means `supabase
// migration list/up` and this runner each see what the other applied.
// The statements are sent as one Exec: with no arguments database/sql
// drivers use the simple query protocol, which runs them as one implicit
// transaction, as the CLI's batch does, with its 4s lock timeout (SET LOCAL
// works in an implicit transaction and ends with it).
const createHistory = `SET LOCAL lock_timeout = '4s';
CREATE SCHEMA IF NOT EXISTS supabase_migrations;
CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY);
ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS statements text[];
ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS name text`

const (
	// historyExists lets Status stay read-only on a database nobody has
	// migrated yet.
	historyExists = `SELECT to_regclass('supabase_migrations.schema_migrations') IS NOT NULL`
	// statements is read as JSON text so that any driver can scan it into a
	// string; NULL (a row written by hand or by an old tool) stays NULL.
	selectHistory = `SELECT version, coalesce(name, ''), array_to_json(statements)::text FROM supabase_migrations.schema_migrations ORDER BY version`
	// statements is bound as a text[] literal in a text parameter and cast
	// server-side, again so that no driver-specific array type is needed.
	insertHistory = `INSERT INTO supabase_migrations.schema_migrations (version, name, statements) VALUES ($1, $2, $3::text::text[])`
	deleteHistory = `DELETE FROM supabase_migrations.schema_migrations WHERE version = $1`
)

// applied is one history row.
type applied struct {
	Version    string
	Name       string
	Statements []string
	Recorded   bool // statements is not NULL, so the content can be checked
}

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// readHistory returns the history rows by version.
func readHistory(ctx context.Context, q querier) (map[string]applied, error) {
	rows, err := q.QueryContext(ctx, selectHistory)
	if err != nil {
		return nil, fmt.Errorf("migrate: read history: %w", err)
	}
	defer rows.Close()
	out := map[string]applied{}
	for rows.Next() {
		var a applied
		var stmts sql.NullString
		if err := rows.Scan(&a.Version, &a.Name, &stmts); err != nil {
			return nil, fmt.Errorf("migrate: read history: %w", err)
		}
		if stmts.Valid {
			a.Recorded = true
			if err := json.Unmarshal([]byte(stmts.String), &a.Statements); err != nil {
				return nil, fmt.Errorf("migrate: read history of %s: %w", a.Version, err)
			}
		}
		out[a.Version] = a
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("migrate: read history: %w", err)
	}
	return out, nil
}

// textArray renders ss as a PostgreSQL array literal: every element double
// quoted, with backslash and double quote escaped by a backslash.
func textArray(ss []string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		for _, r := range s {
			if r == '"' || r == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// unchanged reports whether a file still has the content that was applied.
// Exact equality is the rule. As a fallback, two splits of the same text
// that differ only in where the pieces were cut are also accepted, compared
// without whitespace and ';': the CLI's splitter changes between releases
// (its BEGIN ATOMIC handling did in 2026), and a database migrated by one
// CLI version must not look edited to a binary built with another.
func unchanged(recorded, current []string) bool {
	if slices.Equal(recorded, current) {
		return true
	}
	return squeeze(recorded) == squeeze(current)
}

func squeeze(stmts []string) string {
	return strings.Map(func(r rune) rune {
		if r == ';' || strings.ContainsRune(" \t\n\r\f\v", r) {
			return -1
		}
		return r
	}, strings.Join(stmts, ""))
}
