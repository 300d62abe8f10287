package conformance

import (
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
)

// requestLoginCases prove that db works from the login role PostgREST uses,
// authenticator (LOGIN NOINHERIT, a member of the API roles), and not only
// from the superuser the other tests connect as: the connection itself
// (CONNECT on the database, which authenticator holds through PUBLIC) and
// the switch to each API role.
func requestLoginCases(t *testing.T) {
	t.Run("DB-1 a db pool that logs in as authenticator, as PostgREST does, runs a request as each API role", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		org := d.NewOrg(t)
		coord := d.NewMember(t, org, "coordinator")
		u, err := url.Parse(d.URL)
		require.NoError(t, err)
		u.User = url.User("authenticator")
		pool, err := pgxpool.New(ctx, u.String())
		require.NoError(t, err)
		defer pool.Close()
		app := db.New(pool)
		for _, c := range []db.Claims{db.User(coord, org), db.ServiceRole()} {
			var login string
			var orgs int
			require.NoError(t, app.Do(ctx, c, func(r *db.Request) error {
				return r.Tx().QueryRow(ctx, `SELECT session_user::text, (SELECT count(*) FROM public.organizations WHERE id = $1)`, org).
					Scan(&login, &orgs)
			}), c.Role)
			require.Equal(t, "authenticator", login)
			require.Equal(t, 1, orgs, "%s reads the org", c.Role)
		}
		// anon may read no table; its request still runs as anon.
		var role string
		require.NoError(t, app.Do(ctx, db.Anon(), func(r *db.Request) error {
			return r.Tx().QueryRow(ctx, `SELECT current_user::text`).Scan(&role)
		}))
		require.Equal(t, "anon", role)
	})
}
