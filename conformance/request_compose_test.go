package conformance

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
)

// composeFixture: one org with a coordinator and two peer mentors, and an
// outbox table standing for the caller's own SQL (a table mentordb does not
// know, written in the same transaction as the repositories).
type composeFixture struct {
	d                *pgtest.DB
	org              uuid.UUID
	coord            uuid.UUID
	mentor, mentor2  uuid.UUID
	coordClaims      db.Claims
	ownerName        string
	activityInOrg    func(mentor uuid.UUID) db.NewProxyActivity
	countActivities  func() int
	countOutbox      func() int
	countTemplates   func() int
	countPauseChange func() int
}

func composeSetup(t *testing.T) *composeFixture {
	t.Helper()
	d := pgtest.New(t)
	f := &composeFixture{d: d, org: d.NewOrg(t)}
	f.coord = d.NewMember(t, f.org, "coordinator")
	f.mentor = d.NewMember(t, f.org, "peer_mentor")
	f.mentor2 = d.NewMember(t, f.org, "peer_mentor")
	f.coordClaims = db.User(f.coord, f.org)
	d.Exec(t, `CREATE TABLE public.outbox (id bigserial PRIMARY KEY, topic text NOT NULL, ref uuid NOT NULL);
		GRANT SELECT, INSERT ON public.outbox TO authenticated;
		GRANT USAGE ON SEQUENCE public.outbox_id_seq TO authenticated`)
	d.QueryRow(t, `SELECT current_user`).Scan(t, &f.ownerName)
	f.activityInOrg = func(mentor uuid.UUID) db.NewProxyActivity {
		return db.NewProxyActivity{AttributedMentorID: mentor, OrgID: f.org, ActivityType: "visit", Date: proxyDay, DurationMinutes: 30}
	}
	count := func(sql string) func() int {
		return func() int {
			var n int
			d.QueryRow(t, sql).Scan(t, &n)
			return n
		}
	}
	f.countActivities = count(`SELECT count(*) FROM proxy_activities`)
	f.countOutbox = count(`SELECT count(*) FROM outbox`)
	f.countTemplates = count(`SELECT count(*) FROM recurring_activity_templates`)
	f.countPauseChange = count(`SELECT count(*) FROM peer_mentor_status_log`)
	return f
}

// writeAll is a unit of work over every request-bound repository and the
// caller's own SQL: a template, two activities (one using the template), a
// pause, and an outbox row per activity.
func (f *composeFixture) writeAll(ctx context.Context, r *db.Request) error {
	tpl, err := r.Templates().Create(ctx, db.NewRecurringActivityTemplate{OrgID: f.org, ActivityType: "visit", Title: "weekly visit"})
	if err != nil {
		return err
	}
	in := f.activityInOrg(f.mentor)
	in.TemplateID = tpl.ID
	a, err := r.Activities().Create(ctx, in)
	if err != nil {
		return err
	}
	b, err := r.Activities().Create(ctx, f.activityInOrg(f.mentor2))
	if err != nil {
		return err
	}
	if _, err := r.Pauses().Pause(ctx, f.mentor2, db.PauseOptions{Reason: "holiday"}); err != nil {
		return err
	}
	for _, id := range []uuid.UUID{a.ID, b.ID} {
		if _, err := r.Tx().Exec(ctx, `INSERT INTO outbox (topic, ref) VALUES ('activity.created', $1)`, id); err != nil {
			return err
		}
	}
	return nil
}

// requireWritten checks what writeAll leaves behind: all of it or none.
func (f *composeFixture) requireWritten(t *testing.T, all bool) {
	t.Helper()
	want := map[bool][4]int{true: {2, 2, 1, 1}, false: {0, 0, 0, 0}}[all]
	require.Equal(t, want, [4]int{f.countActivities(), f.countOutbox(), f.countTemplates(), f.countPauseChange()},
		"activities, outbox rows, templates, pause changes")
}

// callerView is what a transaction's next statement sees of who runs it. A
// custom setting never set in the session reads NULL, and ” once it was set
// and reset (PostgreSQL keeps the placeholder): both are "unset" here, as
// auth.uid() and auth.jwt() read them.
type callerView struct {
	user, role, searchPath string
	uid                    *uuid.UUID
	claims, method         string
}

func viewOf(t *testing.T, ctx context.Context, tx pgx.Tx) callerView {
	t.Helper()
	var v callerView
	require.NoError(t, tx.QueryRow(ctx, `SELECT current_user, current_setting('role'), current_setting('search_path'), auth.uid(),
		coalesce(current_setting('request.jwt.claims', true), ''), coalesce(current_setting('request.method', true), '')`).
		Scan(&v.user, &v.role, &v.searchPath, &v.uid, &v.claims, &v.method))
	return v
}

func testRequestCompose(t *testing.T) {
	t.Parallel()

	t.Run("DB-REQ-1 several repository calls and the caller's own SQL commit together", func(t *testing.T) {
		t.Parallel()
		f := composeSetup(t)
		ctx := pgtest.Ctx(t)
		require.NoError(t, f.d.App.Do(ctx, f.coordClaims, func(r *db.Request) error { return f.writeAll(ctx, r) }))
		f.requireWritten(t, true)
		var linked int
		f.d.QueryRow(t, `SELECT count(*) FROM outbox o JOIN proxy_activities a ON a.id = o.ref WHERE a.coordinator_id = $1`, f.coord).Scan(t, &linked)
		require.Equal(t, 2, linked, "each outbox row names an activity the request created")
	})

	t.Run("DB-REQ-1 several repository calls and the caller's own SQL roll back together", func(t *testing.T) {
		t.Parallel()
		f := composeSetup(t)
		ctx := pgtest.Ctx(t)
		stop := errors.New("caller gives up after writing")
		err := f.d.App.Do(ctx, f.coordClaims, func(r *db.Request) error {
			if err := f.writeAll(ctx, r); err != nil {
				return err
			}
			return stop
		})
		require.ErrorIs(t, err, stop)
		f.requireWritten(t, false)

		// A database error in the last call undoes the calls before it too.
		err = f.d.App.Do(ctx, f.coordClaims, func(r *db.Request) error {
			if err := f.writeAll(ctx, r); err != nil {
				return err
			}
			in := f.activityInOrg(f.mentor)
			in.TemplateID = uuid.New()
			_, err := r.Activities().Create(ctx, in)
			return err
		})
		require.ErrorIs(t, err, db.ErrForeignKey)
		f.requireWritten(t, false)
	})

	t.Run("DB-REQ-1 with a pool of one connection a request of several repository calls does not deadlock", func(t *testing.T) {
		t.Parallel()
		f := composeSetup(t)
		cfg, err := pgxpool.ParseConfig(f.d.URL)
		require.NoError(t, err)
		cfg.MaxConns = 1
		ctx, cancel := context.WithTimeout(pgtest.Ctx(t), 10*time.Second)
		defer cancel()
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		require.NoError(t, err)
		defer pool.Close()
		one := db.New(pool)
		require.NoError(t, one.Do(ctx, f.coordClaims, func(r *db.Request) error {
			if err := f.writeAll(ctx, r); err != nil {
				return err
			}
			page, err := r.Activities().ListForOrg(ctx, f.org, db.Period{From: proxyDay, To: proxyDay.AddDate(0, 0, 1)}, nil, 10)
			if err != nil {
				return err
			}
			require.Len(t, page.Items, 2, "the request reads its own uncommitted writes")
			return nil
		}))
		f.requireWritten(t, true)
		// The one-call forms on the same one-connection pool, one after another.
		_, err = one.ProxyActivities().Create(ctx, f.coordClaims, f.activityInOrg(f.mentor))
		require.NoError(t, err)
		_, err = one.Pauses().Resume(ctx, f.coordClaims, f.mentor2, "back")
		require.NoError(t, err)
	})

	t.Run("DB-REQ-1 a repository call inside a request runs in the request's transaction", func(t *testing.T) {
		t.Parallel()
		f := composeSetup(t)
		ctx := pgtest.Ctx(t)
		var created db.ProxyActivity
		var requestXid string
		require.NoError(t, f.d.App.Do(ctx, f.coordClaims, func(r *db.Request) error {
			var err error
			created, err = r.Activities().Create(ctx, f.activityInOrg(f.mentor))
			if err != nil {
				return err
			}
			if err := r.Tx().QueryRow(ctx, `SELECT pg_current_xact_id()::xid::text`).Scan(&requestXid); err != nil {
				return err
			}
			require.Zero(t, f.countActivities(), "not visible outside the request before it commits")
			return nil
		}))
		var rowXid string
		f.d.QueryRow(t, `SELECT xmin::text FROM proxy_activities WHERE id = $1`, created.ID).Scan(t, &rowXid)
		require.Equal(t, requestXid, rowXid, "the row was written by the request's transaction")
	})

	t.Run("DB-REQ-1 on a caller-held transaction the request commits with the caller's work and the caller's next statement runs as the caller", func(t *testing.T) {
		t.Parallel()
		f := composeSetup(t)
		ctx := pgtest.Ctx(t)
		tx, err := f.d.Pool.Begin(ctx)
		require.NoError(t, err)
		defer func() { _ = tx.Rollback(ctx) }()
		before := viewOf(t, ctx, tx)
		require.Equal(t, f.ownerName, before.user)
		require.Nil(t, before.uid)
		_, err = tx.Exec(ctx, `INSERT INTO outbox (topic, ref) VALUES ('before', $1)`, f.org)
		require.NoError(t, err)

		require.NoError(t, db.DoTx(ctx, tx, f.coordClaims, func(r *db.Request) error {
			inside := viewOf(t, ctx, r.Tx())
			require.Equal(t, "authenticated", inside.user)
			require.Equal(t, f.coord, *inside.uid)
			require.Equal(t, f.coordClaims, r.Claims())
			return f.writeAll(ctx, r)
		}))

		after := viewOf(t, ctx, tx)
		require.Equal(t, before, after, "current_user, role, search_path, claims and request.method as before")
		require.Nil(t, after.uid, "no claims: auth.uid() is NULL")
		require.Empty(t, after.claims, "no claims")
		// The caller's rights are back: the owner writes where authenticated may not.
		_, err = tx.Exec(ctx, `REVOKE INSERT ON outbox FROM authenticated`) // only the owner may
		require.NoError(t, err)
		_, err = tx.Exec(ctx, `INSERT INTO outbox (topic, ref) VALUES ('after', $1)`, f.org)
		require.NoError(t, err)
		require.Zero(t, f.countActivities(), "nothing is visible before the caller commits")
		require.NoError(t, tx.Commit(ctx))
		require.Equal(t, [4]int{2, 4, 1, 1}, [4]int{f.countActivities(), f.countOutbox(), f.countTemplates(), f.countPauseChange()})
	})

	t.Run("DB-REQ-1 a request on a caller-held transaction restores settings the caller had set itself", func(t *testing.T) {
		t.Parallel()
		f := composeSetup(t)
		ctx := pgtest.Ctx(t)
		// The caller is itself a request (service_role), and sets a search_path
		// and request.method of its own; a request as a user runs inside it.
		require.NoError(t, f.d.App.Do(ctx, db.ServiceRole(), func(outer *db.Request) error {
			_, err := outer.Tx().Exec(ctx, `SELECT set_config('search_path', 'private, public', true), set_config('request.method', 'PATCH', true)`)
			require.NoError(t, err)
			before := viewOf(t, ctx, outer.Tx())
			require.Equal(t, "service_role", before.user)
			require.NoError(t, db.DoTx(ctx, outer.Tx(), f.coordClaims, func(r *db.Request) error {
				require.Equal(t, f.coord, *viewOf(t, ctx, r.Tx()).uid)
				_, err := r.Activities().Create(ctx, f.activityInOrg(f.mentor))
				return err
			}))
			require.Equal(t, before, viewOf(t, ctx, outer.Tx()), "role, claims, search_path and request.method as the caller had them")
			return nil
		}))
		require.Equal(t, 1, f.countActivities())
	})

	t.Run("DB-REQ-1 an error inside a request on a caller-held transaction undoes only the request's work and leaves the transaction usable", func(t *testing.T) {
		t.Parallel()
		f := composeSetup(t)
		ctx := pgtest.Ctx(t)
		tx, err := f.d.Pool.Begin(ctx)
		require.NoError(t, err)
		defer func() { _ = tx.Rollback(ctx) }()
		before := viewOf(t, ctx, tx)
		_, err = tx.Exec(ctx, `INSERT INTO outbox (topic, ref) VALUES ('before', $1)`, f.org)
		require.NoError(t, err)
		err = db.DoTx(ctx, tx, f.coordClaims, func(r *db.Request) error {
			if err := f.writeAll(ctx, r); err != nil {
				return err
			}
			in := f.activityInOrg(f.mentor)
			in.TemplateID = uuid.New()
			_, err := r.Activities().Create(ctx, in) // aborts the request's work
			return err
		})
		require.ErrorIs(t, err, db.ErrForeignKey)
		require.Equal(t, before, viewOf(t, ctx, tx), "the caller's next statement runs, as the caller")
		_, err = tx.Exec(ctx, `INSERT INTO outbox (topic, ref) VALUES ('after', $1)`, f.org)
		require.NoError(t, err)
		require.NoError(t, tx.Commit(ctx))
		require.Equal(t, [4]int{0, 2, 0, 0}, [4]int{f.countActivities(), f.countOutbox(), f.countTemplates(), f.countPauseChange()},
			"the caller's two outbox rows, none of the request's writes")
	})

	t.Run("DB-REQ-1 a panic inside a request on a caller-held transaction undoes the request's work and leaves the transaction usable", func(t *testing.T) {
		t.Parallel()
		f := composeSetup(t)
		ctx := pgtest.Ctx(t)
		tx, err := f.d.Pool.Begin(ctx)
		require.NoError(t, err)
		defer func() { _ = tx.Rollback(ctx) }()
		before := viewOf(t, ctx, tx)
		require.PanicsWithValue(t, "boom", func() {
			_ = db.DoTx(ctx, tx, f.coordClaims, func(r *db.Request) error {
				if err := f.writeAll(ctx, r); err != nil {
					return err
				}
				panic("boom")
			})
		})
		require.Equal(t, before, viewOf(t, ctx, tx))
		_, err = tx.Exec(ctx, `INSERT INTO outbox (topic, ref) VALUES ('after', $1)`, f.org)
		require.NoError(t, err)
		require.NoError(t, tx.Commit(ctx))
		require.Equal(t, [4]int{0, 1, 0, 0}, [4]int{f.countActivities(), f.countOutbox(), f.countTemplates(), f.countPauseChange()})
	})

	t.Run("DB-REQ-1 bad claims give a typed error, run nothing and change nothing", func(t *testing.T) {
		t.Parallel()
		f := composeSetup(t)
		ctx := pgtest.Ctx(t)
		bad := []db.Claims{{Role: "postgres"}, {Role: ""}, {Role: db.RoleAuthenticated}, {Role: db.RoleAuthenticated, Sub: f.coord, UserMetadata: map[string]any{"x": func() {}}}}
		requireInvalid := func(err error) {
			t.Helper()
			require.ErrorIs(t, err, db.ErrInvalidClaims)
			require.ErrorIs(t, err, db.ErrInvalidInput, "class")
			var e *db.Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, db.ErrInvalidClaims, e.Kind)
			require.Equal(t, db.ErrInvalidInput, e.Class)
		}
		ran := func(r *db.Request) error { t.Fatal("ran"); return nil }
		tx, err := f.d.Pool.Begin(ctx)
		require.NoError(t, err)
		defer func() { _ = tx.Rollback(ctx) }()
		before := viewOf(t, ctx, tx)
		for _, c := range bad {
			requireInvalid(f.d.App.Do(ctx, c, ran))
			requireInvalid(f.d.App.DoReadOnly(ctx, c, ran))
			requireInvalid(db.DoTx(ctx, tx, c, ran))
			_, err := f.d.App.ProxyActivities().Create(ctx, c, f.activityInOrg(f.mentor))
			requireInvalid(err)
			_, err = f.d.App.Pauses().Pause(ctx, c, f.mentor, db.PauseOptions{})
			requireInvalid(err)
		}
		require.Equal(t, before, viewOf(t, ctx, tx), "the caller's transaction is untouched")
		require.NoError(t, tx.Commit(ctx))
		f.requireWritten(t, false)
	})
}
