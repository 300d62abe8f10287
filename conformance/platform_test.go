package conformance

import (
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
)

// TestPlatform proves that sql/platform behaves as PLATFORM.md says Supabase
// does, since every policy rests on it.
func testPlatform(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)

	// claims runs query in one transaction with the given settings, the way
	// PostgREST (or a legacy per-claim client) would set them.
	claims := func(t *testing.T, settings map[string]string, query string, dest any) {
		t.Helper()
		ctx := pgtest.Ctx(t)
		tx, err := d.Pool.Begin(ctx)
		require.NoError(t, err)
		defer tx.Rollback(ctx)
		for k, v := range settings {
			_, err := tx.Exec(ctx, `SELECT set_config($1, $2, true)`, k, v)
			require.NoError(t, err)
		}
		require.NoError(t, tx.QueryRow(ctx, query).Scan(dest))
	}
	sub := uuid.New()

	t.Run("auth.uid reads request.jwt.claims sub", func(t *testing.T) {
		var got *uuid.UUID
		claims(t, map[string]string{"request.jwt.claims": `{"sub":"` + sub.String() + `","role":"authenticated"}`}, `SELECT auth.uid()`, &got)
		require.NotNil(t, got)
		require.Equal(t, sub, *got)
	})
	t.Run("auth.uid prefers the legacy request.jwt.claim.sub", func(t *testing.T) {
		other := uuid.New()
		var got *uuid.UUID
		claims(t, map[string]string{
			"request.jwt.claim.sub": other.String(),
			"request.jwt.claims":    `{"sub":"` + sub.String() + `"}`,
		}, `SELECT auth.uid()`, &got)
		require.Equal(t, other, *got)
	})
	t.Run("auth.uid skips an empty legacy setting", func(t *testing.T) {
		var got *uuid.UUID
		claims(t, map[string]string{"request.jwt.claim.sub": "", "request.jwt.claims": `{"sub":"` + sub.String() + `"}`}, `SELECT auth.uid()`, &got)
		require.Equal(t, sub, *got)
	})
	t.Run("unset claims give NULL, not an error", func(t *testing.T) {
		for _, fn := range []string{"auth.uid()::text", "auth.role()", "auth.email()", "auth.jwt()::text"} {
			var got *string
			claims(t, nil, `SELECT `+fn, &got)
			require.Nil(t, got, fn)
		}
	})
	t.Run("empty claims setting gives NULL", func(t *testing.T) {
		var got *string
		claims(t, map[string]string{"request.jwt.claims": ""}, `SELECT auth.jwt()::text`, &got)
		require.Nil(t, got)
	})
	t.Run("auth.role and auth.email read their keys", func(t *testing.T) {
		set := map[string]string{"request.jwt.claims": `{"role":"authenticated","email":"a@b.test"}`}
		var role, email string
		claims(t, set, `SELECT auth.role()`, &role)
		claims(t, set, `SELECT auth.email()`, &email)
		require.Equal(t, "authenticated", role)
		require.Equal(t, "a@b.test", email)
	})
	t.Run("auth.jwt prefers request.jwt.claim and returns jsonb", func(t *testing.T) {
		var org string
		claims(t, map[string]string{"request.jwt.claims": `{"user_metadata":{"organization_id":"x"}}`},
			`SELECT auth.jwt() -> 'user_metadata' ->> 'organization_id'`, &org)
		require.Equal(t, "x", org)
		claims(t, map[string]string{"request.jwt.claim": `{"user_metadata":{"organization_id":"y"}}`, "request.jwt.claims": `{"user_metadata":{"organization_id":"x"}}`},
			`SELECT auth.jwt() -> 'user_metadata' ->> 'organization_id'`, &org)
		require.Equal(t, "y", org)
	})
	t.Run("roles are as on Supabase", func(t *testing.T) {
		ctx := pgtest.Ctx(t)
		type attrs struct {
			login, inherit, bypass bool
		}
		want := map[string]attrs{
			"anon":          {false, true, false},
			"authenticated": {false, true, false},
			"service_role":  {false, true, true},
			"authenticator": {true, false, false},
		}
		for role, w := range want {
			var got attrs
			require.NoError(t, d.Pool.QueryRow(ctx, `SELECT rolcanlogin, rolinherit, rolbypassrls FROM pg_roles WHERE rolname = $1`, role).
				Scan(&got.login, &got.inherit, &got.bypass), role)
			require.Equal(t, w, got, role)
		}
		for _, member := range []string{"authenticator", "postgres"} {
			for _, role := range []string{"anon", "authenticated", "service_role"} {
				var ok bool
				require.NoError(t, d.Pool.QueryRow(ctx, `SELECT pg_has_role($1, $2, 'MEMBER')`, member, role).Scan(&ok))
				require.True(t, ok, "%s member of %s", member, role)
			}
		}
		var timeout string
		require.NoError(t, d.Pool.QueryRow(ctx, `SELECT array_to_string(rolconfig, ',') FROM pg_roles WHERE rolname = 'anon'`).Scan(&timeout))
		require.Contains(t, timeout, "statement_timeout=3s")
	})
	t.Run("a new table in public is not exposed without a grant", func(t *testing.T) {
		ctx := pgtest.Ctx(t)
		_, err := d.Pool.Exec(ctx, `SET ROLE postgres; CREATE TABLE public.ungranted (id int); RESET ROLE`)
		require.NoError(t, err)
		for _, claims := range []db.Claims{db.Anon(), db.User(uuid.New(), uuid.Nil), db.ServiceRole()} {
			err := d.As(ctx, claims, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, `SELECT * FROM public.ungranted`)
				return err
			})
			require.ErrorIs(t, err, db.ErrNotPermitted, claims.Role)
			var dbErr *db.Error
			require.ErrorAs(t, err, &dbErr)
			require.Equal(t, "42501", dbErr.Code)
		}
	})
}
