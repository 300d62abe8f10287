package conformance

import (
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/mutation"
	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
)

// testThreatModel proves CONF-5's pins: the assumptions the equivalent
// mutants rest on (conformance/mutation/equivalent.go), each for the
// caller classes it names (HACKING.md, "Threat model (CONF-5)"). Every test
// here fails the day its assumption stops holding; the mutation runner
// counts an equivalence whose pin did not pass as a survivor. Service code
// is the strongest non-owner caller: requests run through db with any SQL
// in r.Tx(), which is what d.As gives.
func testThreatModel(t *testing.T) {
	t.Parallel()

	apiRoles := func(d *pgtest.DB, user, org uuid.UUID) []struct {
		name   string
		claims db.Claims
	} {
		return []struct {
			name   string
			claims db.Claims
		}{{"anon", db.Anon()}, {"authenticated", db.User(user, org)}, {"service_role", db.ServiceRole()}}
	}

	t.Run("CONF-5 no API role may create an object in any schema, or a schema, even as service code in r.Tx(), and a temporary table cannot reference a permanent one", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		org := d.NewOrg(t)
		user := d.NewMember(t, org, "coordinator")
		for _, who := range apiRoles(d, user, org) {
			for _, schema := range []string{"public", "private", "auth"} {
				for _, ddl := range []string{
					`CREATE TABLE %s.conf5_probe (id uuid)`,
					`CREATE FUNCTION %s.conf5_probe() RETURNS int LANGUAGE sql AS 'SELECT 1'`,
					`CREATE VIEW %s.conf5_probe AS SELECT 1 AS x`,
				} {
					q := fmt.Sprintf(ddl, schema)
					err := d.As(ctx, who.claims, func(tx pgx.Tx) error { _, err := tx.Exec(ctx, q); return err })
					requireCode(t, err, "42501", "")
					require.Contains(t, err.Error(), "permission denied for schema "+schema, "%s: %s", who.name, q)
				}
			}
			// Nor a schema of its own (CREATE on the database).
			err := d.As(ctx, who.claims, func(tx pgx.Tx) error { _, err := tx.Exec(ctx, `CREATE SCHEMA conf5_probe`); return err })
			requireCode(t, err, "42501", "")
			require.Contains(t, err.Error(), "permission denied for database", "%s: CREATE SCHEMA", who.name)
			// A temporary table is the only table of its own it may create;
			// a foreign key from it to a permanent table is refused, so
			// REFERENCES on the API tables has no use.
			err = d.As(ctx, who.claims, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, `CREATE TEMP TABLE conf5_ref (org uuid REFERENCES public.organizations (id)) ON COMMIT DROP`)
				return err
			})
			var pgErr *pgconn.PgError
			require.ErrorAs(t, err, &pgErr, who.name)
			require.Equal(t, "42P16", pgErr.Code, "%s: %s", who.name, pgErr.Message)
		}
	})

	t.Run("CONF-5 every API role reaches schema public through a grant of its own, not PUBLIC's: with PUBLIC's USAGE revoked each still runs its requests", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		org := d.NewOrg(t)
		user := d.NewMember(t, org, "coordinator")
		d.Exec(t, `REVOKE USAGE ON SCHEMA public FROM PUBLIC`)
		for _, who := range apiRoles(d, user, org) {
			var n int
			err := d.As(ctx, who.claims, func(tx pgx.Tx) error {
				return tx.QueryRow(ctx, `SELECT count(*) FROM public.organizations WHERE id = $1`, org).Scan(&n)
			})
			if who.name == "anon" {
				// Refused for the table, which it holds no grant on: the
				// schema was reachable.
				requireCode(t, err, "42501", "")
				require.Contains(t, err.Error(), "permission denied for table organizations")
				continue
			}
			require.NoError(t, err, who.name)
			require.Equal(t, 1, n, who.name)
		}
	})

	t.Run("CONF-5 anon cannot reach schema private: calling its helpers is refused for want of USAGE, even as service code in r.Tx()", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		org := d.NewOrg(t)
		for _, q := range []string{
			`SELECT private.has_org_role($1, $1, 'coordinator')`,
			`SELECT private.org_ids_with_role(ARRAY['coordinator'])`,
			`SELECT private.pause_org_context($1)`,
			`SELECT private.assert_mentors_in_org($1::uuid, ARRAY[$1::uuid])`,
		} {
			err := d.As(ctx, db.Anon(), func(tx pgx.Tx) error {
				args := []any{org}
				if q == `SELECT private.org_ids_with_role(ARRAY['coordinator'])` {
					args = nil
				}
				_, err := tx.Exec(ctx, q, args...)
				return err
			})
			requireCode(t, err, "42501", "")
			require.Contains(t, err.Error(), "permission denied for schema private", q)
		}
	})

	t.Run("CONF-5 PS-LOG-1 the bookkeeping trigger owns paused_at, expected_return_date and updated_at on every write, the owner's in replica mode included", func(t *testing.T) {
		t.Parallel()
		f := ownerSetup(t, true)
		ctx := pgtest.Ctx(t)
		mentor2 := f.d.NewMember(t, f.org, "peer_mentor")
		for _, replica := range []bool{false, true} {
			require.NoError(t, f.asOwner(ctx, replica, func(tx pgx.Tx) error {
				var id uuid.UUID
				// An active row that claims a pause and no update time.
				if err := tx.QueryRow(ctx, `INSERT INTO peer_mentor_status (peer_mentor_id, org_id, status, paused_at, expected_return_date, updated_at)
					VALUES ($1, $2, 'active', now(), DATE '2027-01-01', NULL) RETURNING id`, mentor2, f.org).Scan(&id); err != nil {
					return err
				}
				var paused, returns, updated bool
				row := func() {
					require.NoError(t, tx.QueryRow(ctx, `SELECT paused_at IS NOT NULL, expected_return_date IS NOT NULL, updated_at IS NOT NULL
						FROM peer_mentor_status WHERE id = $1`, id).Scan(&paused, &returns, &updated))
				}
				row()
				require.Equal(t, []bool{false, false, true}, []bool{paused, returns, updated}, "replica=%v: the insert's bookkeeping", replica)
				// A pause that claims no pause time and no update time.
				if _, err := tx.Exec(ctx, `UPDATE peer_mentor_status SET status = 'paused', paused_at = NULL, updated_at = NULL WHERE id = $1`, id); err != nil {
					return err
				}
				row()
				require.Equal(t, []bool{true, false, true}, []bool{paused, returns, updated}, "replica=%v: the pause's bookkeeping", replica)
				// A resume that keeps its pause data.
				if _, err := tx.Exec(ctx, `UPDATE peer_mentor_status SET status = 'active', paused_at = now(), expected_return_date = DATE '2027-01-01' WHERE id = $1`, id); err != nil {
					return err
				}
				row()
				require.Equal(t, []bool{false, false, true}, []bool{paused, returns, updated}, "replica=%v: the resume's bookkeeping", replica)
				return nil
			}))
		}
	})

	t.Run("CONF-5 no API role may delete a status row or change its id, even as service code in r.Tx()", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		org := d.NewOrg(t)
		mentor := d.NewMember(t, org, "peer_mentor")
		coord := d.NewMember(t, org, "coordinator")
		_, err := d.App.Pauses().Pause(ctx, db.User(mentor, org), mentor, db.PauseOptions{})
		require.NoError(t, err)
		for _, who := range append(apiRoles(d, coord, org), struct {
			name   string
			claims db.Claims
		}{"the mentor", db.User(mentor, org)}) {
			for _, q := range []string{`DELETE FROM public.peer_mentor_status`, `UPDATE public.peer_mentor_status SET id = gen_random_uuid()`} {
				err := d.As(ctx, who.claims, func(tx pgx.Tx) error { _, err := tx.Exec(ctx, q); return err })
				requireCode(t, err, "42501", "")
				require.Contains(t, err.Error(), "permission denied for table peer_mentor_status", "%s: %s", who.name, q)
			}
		}
		require.Equal(t, "paused", statusOf(t, d, mentor, org))
	})

	t.Run("CONF-5 PA-RLS-3 no API role the template policies apply to may change the org of a template, even as service code in r.Tx(): the column the update policy's WITH CHECK reads is the old row's", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		org, other := d.NewOrg(t), d.NewOrg(t)
		coord := d.NewMember(t, org, "coordinator")
		d.AddMember(t, other, coord, "coordinator")
		var tmpl uuid.UUID
		d.QueryRow(t, `INSERT INTO recurring_activity_templates (org_id, created_by, activity_type, title)
			VALUES ($1, $2, 'visit', 'weekly') RETURNING id`, org, coord).Scan(t, &tmpl)
		// service_role bypasses RLS: no policy of its to weaken.
		for _, who := range apiRoles(d, coord, org)[:2] {
			err := d.As(ctx, who.claims, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, `UPDATE public.recurring_activity_templates SET org_id = $2 WHERE id = $1`, tmpl, other)
				return err
			})
			requireCode(t, err, "42501", "")
			require.Contains(t, err.Error(), "permission denied for table recurring_activity_templates", who.name)
		}
		var got uuid.UUID
		d.QueryRow(t, `SELECT org_id FROM recurring_activity_templates WHERE id = $1`, tmpl).Scan(t, &got)
		require.Equal(t, org, got)
	})

	t.Run("CONF-5 a db request runs with row_security on and the claims it was given: a signed-in stranger reads no membership but their own", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		org := d.NewOrg(t)
		d.NewMember(t, org, "coordinator")
		stranger := d.NewUser(t)
		var rowSecurity, sub string
		var visible, all int
		require.NoError(t, d.As(ctx, db.User(stranger, org), func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT current_setting('row_security'), current_setting('request.jwt.claims')::jsonb ->> 'sub',
				(SELECT count(*) FROM public.org_members)`).Scan(&rowSecurity, &sub, &visible)
		}))
		d.QueryRow(t, `SELECT count(*) FROM org_members`).Scan(t, &all)
		require.Equal(t, "on", rowSecurity)
		require.Equal(t, stranger.String(), sub)
		require.Positive(t, all)
		require.Zero(t, visible, "RLS filters the roster for a caller outside the org")
	})

	t.Run("CONF-5 no function with a fixed search_path runs a caller's temporary type as its owner: pg_temp is searched last", func(t *testing.T) {
		t.Parallel()
		testSearchPathPgTemp(t)
	})

	t.Run("CONF-5 static pin: the trigger functions declared indifferent to their security read no table (plpgsql_check dependencies)", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		d.Exec(t, `CREATE EXTENSION IF NOT EXISTS plpgsql_check`)
		fns := mutation.ReadsNoTable()
		require.NotEmpty(t, fns)
		for _, fn := range fns {
			// Each with the table of every trigger that calls it, which
			// plpgsql_check needs to type NEW and OLD.
			rows, err := d.Pool.Query(ctx, `SELECT t.tgrelid FROM pg_trigger t WHERE t.tgfoid = $1::regprocedure AND NOT t.tgisinternal`, fn)
			require.NoError(t, err)
			rels, err := pgx.CollectRows(rows, pgx.RowTo[uint32])
			require.NoError(t, err)
			require.NotEmpty(t, rels, "%s is no trigger's function", fn)
			for _, rel := range rels {
				var tables []string
				rows, err := d.Pool.Query(ctx, `SELECT schema || '.' || name FROM plpgsql_show_dependency_tb($1::regprocedure, $2::oid::regclass)
					WHERE type = 'RELATION'`, fn, rel)
				require.NoError(t, err)
				tables, err = pgx.CollectRows(rows, pgx.RowTo[string])
				require.NoError(t, err)
				require.Empty(t, tables, "%s reads tables", fn)
			}
		}
	})
}
