package pgtest

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/mentordb/mentordb/db"
)

// Users are written as the owner (auth.users is the platform's, Supabase
// Auth writes it); organisations, chapters and memberships through db's
// admin API as service_role, as a consumer of db writes them. Either way a
// fixture sets the stage and proves nothing. Each helper fails the test on
// error.

// NewUser inserts an auth.users row and returns its id.
func (d *DB) NewUser(t testing.TB) uuid.UUID {
	t.Helper()
	id := uuid.New()
	d.Exec(t, `INSERT INTO auth.users (id, email, raw_user_meta_data, raw_app_meta_data)
		VALUES ($1, $2, '{}', '{}')`, id, id.String()+"@example.test")
	return id
}

// NewOrg creates an organisation and returns its id.
func (d *DB) NewOrg(t testing.TB) uuid.UUID {
	t.Helper()
	org, err := d.App.Admin().CreateOrganization(context.Background(), db.ServiceRole(), "org "+uuid.NewString())
	if err != nil {
		t.Fatalf("fixture: create organization: %v", err)
	}
	return org.ID
}

// NewChapter creates a chapter of org and returns its id.
func (d *DB) NewChapter(t testing.TB, org uuid.UUID) uuid.UUID {
	t.Helper()
	ch, err := d.App.Admin().CreateChapter(context.Background(), db.ServiceRole(), org, "chapter "+uuid.NewString())
	if err != nil {
		t.Fatalf("fixture: create chapter: %v", err)
	}
	return ch.ID
}

// AddMember gives user role in org.
func (d *DB) AddMember(t testing.TB, org, user uuid.UUID, role db.MemberRole) {
	t.Helper()
	if _, err := d.App.Admin().AddMember(context.Background(), db.ServiceRole(), org, user, role); err != nil {
		t.Fatalf("fixture: add %s as %s of %s: %v", user, role, org, err)
	}
}

// AddChapterMember puts user in chapter, which must be a chapter of org.
func (d *DB) AddChapterMember(t testing.TB, org, chapter, user uuid.UUID) {
	t.Helper()
	m, err := d.App.Admin().AddChapterMember(context.Background(), db.ServiceRole(), chapter, user)
	if err != nil {
		t.Fatalf("fixture: add %s to chapter %s: %v", user, chapter, err)
	}
	if m.OrgID != org {
		t.Fatalf("fixture: chapter %s is of org %s, not %s", chapter, m.OrgID, org)
	}
}

// NewMember creates a user with role in org and in the given chapters (one
// request).
func (d *DB) NewMember(t testing.TB, org uuid.UUID, role db.MemberRole, chapters ...uuid.UUID) uuid.UUID {
	t.Helper()
	u := d.NewUser(t)
	ctx := context.Background()
	err := d.App.Do(ctx, db.ServiceRole(), func(r *db.Request) error {
		if _, err := r.Admin().AddMember(ctx, org, u, role); err != nil {
			return err
		}
		for _, c := range chapters {
			m, err := r.Admin().AddChapterMember(ctx, c, u)
			if err != nil {
				return err
			}
			if m.OrgID != org {
				return fmt.Errorf("chapter %s is of org %s, not %s", c, m.OrgID, org)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("fixture: new %s of %s: %v", role, org, err)
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
	return d.App.Do(ctx, claims, func(r *db.Request) error { return fn(r.Tx()) })
}
