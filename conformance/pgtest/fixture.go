package pgtest

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/mentordb/mentordb/db"
)

// Fixtures are written as the owner, which bypasses RLS: they set the stage
// and prove nothing. Each helper fails the test on error.

// NewUser inserts an auth.users row and returns its id.
func (d *DB) NewUser(t testing.TB) uuid.UUID {
	t.Helper()
	id := uuid.New()
	d.Exec(t, `INSERT INTO auth.users (id, email, raw_user_meta_data, raw_app_meta_data)
		VALUES ($1, $2, '{}', '{}')`, id, id.String()+"@example.test")
	return id
}

// NewOrg inserts an organisation and returns its id.
func (d *DB) NewOrg(t testing.TB) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	d.QueryRow(t, `INSERT INTO organizations (name) VALUES ('org ' || gen_random_uuid()) RETURNING id`).Scan(t, &id)
	return id
}

// NewChapter inserts a chapter of org and returns its id.
func (d *DB) NewChapter(t testing.TB, org uuid.UUID) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	d.QueryRow(t, `INSERT INTO chapters (org_id, name) VALUES ($1, 'chapter ' || gen_random_uuid()) RETURNING id`, org).Scan(t, &id)
	return id
}

// AddMember gives user role in org.
func (d *DB) AddMember(t testing.TB, org, user uuid.UUID, role string) {
	t.Helper()
	d.Exec(t, `INSERT INTO org_members (org_id, user_id, role) VALUES ($1, $2, $3)`, org, user, role)
}

// AddChapterMember puts user in chapter (of org).
func (d *DB) AddChapterMember(t testing.TB, org, chapter, user uuid.UUID) {
	t.Helper()
	d.Exec(t, `INSERT INTO chapter_members (org_id, chapter_id, user_id) VALUES ($1, $2, $3)`, org, chapter, user)
}

// NewMember creates a user with role in org and in the given chapters.
func (d *DB) NewMember(t testing.TB, org uuid.UUID, role string, chapters ...uuid.UUID) uuid.UUID {
	t.Helper()
	u := d.NewUser(t)
	d.AddMember(t, org, u, role)
	for _, c := range chapters {
		d.AddChapterMember(t, org, c, u)
	}
	return u
}

// Exec runs sql as the owner.
func (d *DB) Exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	if _, err := d.Pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("fixture %q: %v", sql, err)
	}
}

// Row is a QueryRow whose Scan fails the test.
type Row struct{ row pgx.Row }

func (d *DB) QueryRow(t testing.TB, sql string, args ...any) Row {
	return Row{d.Pool.QueryRow(context.Background(), sql, args...)}
}

func (r Row) Scan(t testing.TB, dest ...any) {
	t.Helper()
	if err := r.row.Scan(dest...); err != nil {
		t.Fatalf("fixture scan: %v", err)
	}
}

// As runs fn as the user described by claims, the PostgREST way.
func (d *DB) As(ctx context.Context, claims db.Claims, fn func(tx pgx.Tx) error) error {
	return d.App.As(ctx, claims, fn)
}
