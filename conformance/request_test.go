package conformance

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
)

// countOrgs counts the organisations visible in one request.
func countOrgs(ctx context.Context, d *pgtest.DB, claims db.Claims) (int, error) {
	var n int
	err := d.As(ctx, claims, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM organizations`).Scan(&n)
	})
	return n, err
}

func testRequest(t *testing.T) {
	t.Parallel()
	requestRequiredCases(t)
	requestPrivilegeCases(t)
	requestLoginCases(t)

	setup := func(t *testing.T) (*pgtest.DB, uuid.UUID, uuid.UUID) {
		d := pgtest.New(t)
		orgA, orgB := d.NewOrg(t), d.NewOrg(t)
		member := d.NewMember(t, orgA, "peer_mentor")
		_ = orgB
		return d, orgA, member
	}

	t.Run("DB-1 a request runs as the claims' role and user, and RLS applies", func(t *testing.T) {
		t.Parallel()
		d, orgA, member := setup(t)
		ctx := pgtest.Ctx(t)
		var role, user string
		err := d.As(ctx, db.User(member, orgA), func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT current_user, auth.uid()::text`).Scan(&role, &user)
		})
		require.NoError(t, err)
		require.Equal(t, "authenticated", role)
		require.Equal(t, member.String(), user)
		n, err := countOrgs(ctx, d, db.User(member, orgA))
		require.NoError(t, err)
		require.Equal(t, 1, n, "a member sees exactly their org")
	})

	t.Run("DB-1 the owner bypasses RLS, which is why only requests prove policies", func(t *testing.T) {
		t.Parallel()
		d, _, _ := setup(t)
		ctx := pgtest.Ctx(t)
		var n int
		require.NoError(t, d.Pool.QueryRow(ctx, `SELECT count(*) FROM organizations`).Scan(&n))
		require.Equal(t, 2, n)
		n, err := countOrgs(ctx, d, db.User(uuid.New(), uuid.Nil))
		require.NoError(t, err)
		require.Zero(t, n, "a stranger sees no org")
	})

	t.Run("DB-1 role and claims are transaction-local and leave no trace on the pooled connection", func(t *testing.T) {
		t.Parallel()
		d, orgA, member := setup(t)
		ctx := pgtest.Ctx(t)
		// One connection, so the statement after the request surely reuses it.
		cfg, err := pgxpool.ParseConfig(d.URL)
		require.NoError(t, err)
		cfg.MaxConns = 1
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		require.NoError(t, err)
		defer pool.Close()
		var inside string
		require.NoError(t, db.New(pool).Do(ctx, db.User(member, orgA), func(r *db.Request) error {
			tx := r.Tx()
			return tx.QueryRow(ctx, `SELECT current_user`).Scan(&inside)
		}))
		require.Equal(t, "authenticated", inside)
		var role string
		var claims *string
		require.NoError(t, pool.QueryRow(ctx, `SELECT current_user, nullif(current_setting('request.jwt.claims', true), '')`).Scan(&role, &claims))
		require.NotEqual(t, "authenticated", role)
		require.Nil(t, claims)
	})

	t.Run("DB-1 anon sees nothing it was not granted", func(t *testing.T) {
		t.Parallel()
		d, _, _ := setup(t)
		_, err := countOrgs(pgtest.Ctx(t), d, db.Anon())
		require.ErrorIs(t, err, db.ErrNotPermitted)
	})

	t.Run("DB-1 claims with a role outside the API roles are refused before the database", func(t *testing.T) {
		t.Parallel()
		d, _, _ := setup(t)
		ctx := pgtest.Ctx(t)
		for _, c := range []db.Claims{{Role: "postgres"}, {Role: ""}, {Role: db.RoleAuthenticated}} {
			err := d.As(ctx, c, func(tx pgx.Tx) error { t.Fatal("ran"); return nil })
			require.ErrorIs(t, err, db.ErrInvalidClaims, c.Role)
		}
	})

	t.Run("DB-1 an error inside the request rolls back all of it", func(t *testing.T) {
		t.Parallel()
		d, _, _ := setup(t)
		ctx := pgtest.Ctx(t)
		org := uuid.New()
		err := d.As(ctx, db.ServiceRole(), func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO organizations (id, name) VALUES ($1, 'x')`, org); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO organizations (id, name) VALUES ($1, 'x')`, org)
			return err
		})
		require.ErrorIs(t, err, db.ErrUnique)
		var n int
		require.NoError(t, d.Pool.QueryRow(ctx, `SELECT count(*) FROM organizations WHERE id = $1`, org).Scan(&n))
		require.Zero(t, n)
	})

	t.Run("DB-2 foundation constraints map to typed errors with their names", func(t *testing.T) {
		t.Parallel()
		d, orgA, member := setup(t)
		ctx := pgtest.Ctx(t)
		exec := func(sql string, args ...any) error {
			return d.As(ctx, db.ServiceRole(), func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, sql, args...)
				return err
			})
		}
		cases := []struct {
			name, sql  string
			args       []any
			kind       error
			constraint db.Constraint
		}{
			{"bad role", `INSERT INTO org_members (org_id, user_id, role) VALUES ($1, $2, 'boss')`, []any{orgA, member}, db.ErrCheck, "org_members_role_check"},
			{"duplicate", `INSERT INTO org_members (org_id, user_id, role) VALUES ($1, $2, 'peer_mentor')`, []any{orgA, member}, db.ErrUnique, "org_members_pkey"},
			{"unknown user", `INSERT INTO org_members (org_id, user_id, role) VALUES ($1, $2, 'peer_mentor')`, []any{orgA, uuid.New()}, db.ErrForeignKey, "org_members_user_id_fkey"},
			{"chapter of another org", `INSERT INTO chapter_members (chapter_id, org_id, user_id) VALUES ($1, $2, $3)`, []any{uuid.New(), orgA, member}, db.ErrForeignKey, "chapter_members_chapter_org_fkey"},
			{"empty name", `INSERT INTO organizations (name) VALUES (' ')`, nil, db.ErrCheck, "organizations_name_check"},
			{"null name", `INSERT INTO organizations (name) VALUES (NULL)`, nil, db.ErrNotNull, ""},
			{"bad uuid", `SELECT $1::text::uuid`, []any{"nope"}, db.ErrInvalidInput, ""},
		}
		for _, c := range cases {
			err := exec(c.sql, c.args...)
			require.ErrorIs(t, err, c.kind, c.name)
			var dbErr *db.Error
			require.ErrorAs(t, err, &dbErr, c.name)
			require.Equal(t, c.constraint, dbErr.Constraint, c.name)
		}
	})
}
