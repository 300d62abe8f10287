package conformance

import (
	"context"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/conformance/roundtrip"
	"github.com/mentordb/mentordb/db"
)

// countedApp opens db on d through a pool of one connection whose round
// trips are counted (package roundtrip), configured as db.Open configures
// one.
func countedApp(t *testing.T, d *pgtest.DB) (*db.DB, *pgxpool.Pool, *roundtrip.Counter) {
	t.Helper()
	var c roundtrip.Counter
	cfg, err := db.PoolConfig(d.URL)
	require.NoError(t, err)
	cfg.MaxConns, cfg.MinConns = 1, 1
	cfg.ConnConfig.DialFunc = c.Dial(nil)
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return db.New(pool), pool, &c
}

// tripsOf runs call twice (the first use of a statement on a connection
// describes it) and returns the round trips of the second.
func tripsOf(t *testing.T, c *roundtrip.Counter, call func() error) int64 {
	t.Helper()
	require.NoError(t, call())
	before := c.Trips()
	require.NoError(t, call())
	return c.Trips() - before
}

func testWire(t *testing.T) {
	t.Parallel()
	wireDoTxCases(t)

	t.Run("DB-WIRE-1 every single-call repository method costs one round trip on a warm connection, read or write; the exceptions are listed with their reason", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		app, _, counter := countedApp(t, d)
		org := d.NewOrg(t)
		chapter := d.NewChapter(t, org)
		coord := d.NewMember(t, org, "coordinator", chapter)
		mentor := d.NewMember(t, org, "peer_mentor", chapter)
		mentor2 := d.NewMember(t, org, "peer_mentor", chapter)
		asCoord, asMentor := db.User(coord, org), db.User(mentor, org)
		acts, templates, pauses, admin := app.ProxyActivities(), app.Templates(), app.Pauses(), app.Admin()
		svc := db.ServiceRole()
		admOrg, err := admin.CreateOrganization(ctx, svc, "wire")
		require.NoError(t, err)
		admChapter, err := admin.CreateChapter(ctx, svc, admOrg.ID, "wire")
		require.NoError(t, err)
		admUser := d.NewUser(t)
		newActivity := func() db.NewProxyActivity {
			return db.NewProxyActivity{AttributedMentorID: mentor, OrgID: org, ActivityType: "visit", Date: proxyDay, DurationMinutes: 30}
		}
		a, err := acts.Create(ctx, asCoord, newActivity())
		// Each membership call is measured with its inverse, so both leave
		// the fixture as they found it: two requests, one round trip each.
		addRemove := func(add, remove func() error) func() error {
			return func() error {
				if err := add(); err != nil {
					return err
				}
				return remove()
			}
		}
		require.NoError(t, err)
		period := db.Period{From: proxyDay, To: proxyDay.AddDate(0, 0, 1)}
		window := db.TimeWindow{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour)}
		flip := false
		// deleteTrips carries a delete's own round trips out of its call
		// (the call first creates what it deletes).
		var deleteTrips int64

		// want is the round trips of each method of the one-call
		// repositories. A method missing here fails the test, so a new
		// method cannot ship without its count.
		type call struct {
			trips int64
			why   string // for anything but 1
			run   func() error
		}
		want := map[string]call{
			"ProxyActivityRepository.Create": {1, "", func() error { _, err := acts.Create(ctx, asCoord, newActivity()); return err }},
			"ProxyActivityRepository.CreateMany": {1, "", func() error {
				_, err := acts.CreateMany(ctx, asCoord, org, uuid.Nil, []db.NewProxyActivity{newActivity(), newActivity()})
				return err
			}},
			"ProxyActivityRepository.Import": {4, "COPY is a protocol exchange of its own (one or two turns, as pgconn's copy loop meets the server's answer), after BEGIN and the preamble and before COMMIT; at most", func() error {
				in := newActivity()
				in.CoordinatorID = coord
				_, err := acts.Import(ctx, db.ServiceRole(), []db.NewProxyActivity{in})
				return err
			}},
			"ProxyActivityRepository.Update": {3, "it reads the row first (its coordinator and mentor decide the typed errors and whether the new mentor is pre-checked), then updates, then commits", func() error {
				ch := db.ProxyActivityChange{AttributedMentorID: mentor, ActivityType: "visit", Date: proxyDay, DurationMinutes: 40}
				if flip = !flip; flip {
					ch.AttributedMentorID = mentor2
				}
				_, err := acts.Update(ctx, asCoord, a.ID, ch)
				return err
			}},
			"ProxyActivityRepository.Delete": {1, "", func() error {
				x, err := acts.Create(ctx, asCoord, newActivity())
				if err != nil {
					return err
				}
				before := counter.Trips()
				if err := acts.Delete(ctx, asCoord, x.ID); err != nil {
					return err
				}
				// Report only the Delete's own round trips.
				deleteTrips = counter.Trips() - before
				return nil
			}},
			"ProxyActivityRepository.Get":          {1, "", func() error { _, err := acts.Get(ctx, asCoord, a.ID); return err }},
			"ProxyActivityRepository.ListForOrg":   {1, "", func() error { _, err := acts.ListForOrg(ctx, asCoord, org, period, nil, 10); return err }},
			"ProxyActivityRepository.ListByMentor": {1, "", func() error { _, err := acts.ListByMentor(ctx, asCoord, org, mentor, period, nil, 10); return err }},
			"ProxyActivityRepository.BufdirReport": {1, "", func() error { _, err := acts.BufdirReport(ctx, asCoord, org, period); return err }},
			"ProxyActivityRepository.BufdirTotals": {1, "", func() error { _, err := acts.BufdirTotals(ctx, asCoord, org, period); return err }},
			"ProxyActivityRepository.AuditLog":     {1, "", func() error { _, err := acts.AuditLog(ctx, asCoord, a.ID); return err }},
			"ProxyActivityRepository.Export": {1, "", func() error {
				_, err := acts.Export(ctx, asCoord, org, window, nil, 10)
				return err
			}},
			"ProxyActivityRepository.ReviewAuditLog": {1, "", func() error {
				_, err := acts.ReviewAuditLog(ctx, asCoord, org, window, nil, 10)
				return err
			}},
			"TemplateRepository.Create": {1, "", func() error {
				_, err := templates.Create(ctx, asCoord, db.NewRecurringActivityTemplate{OrgID: org, ActivityType: "visit", Title: "weekly"})
				return err
			}},
			"TemplateRepository.List": {1, "", func() error { _, err := templates.List(ctx, asCoord, org); return err }},
			"TemplateRepository.Delete": {1, "", func() error {
				tm, err := templates.Create(ctx, asCoord, db.NewRecurringActivityTemplate{OrgID: org, ActivityType: "visit", Title: "gone"})
				if err != nil {
					return err
				}
				before := counter.Trips()
				err = templates.Delete(ctx, asCoord, tm.ID)
				deleteTrips = counter.Trips() - before
				return err
			}},
			"PauseRepository.Pause": {1, "", func() error {
				_, err := pauses.Pause(ctx, asCoord, mentor, db.PauseOptions{Reason: "rest"})
				if err == nil {
					_, err = pauses.Resume(ctx, asCoord, mentor, "back")
				}
				return err
			}},
			"PauseRepository.Resume":             {1, "", nil}, // measured with Pause: each call is one request
			"AdminRepository.CreateOrganization": {1, "", func() error { _, err := admin.CreateOrganization(ctx, svc, "another"); return err }},
			"AdminRepository.CreateChapter": {1, "", func() error {
				_, err := admin.CreateChapter(ctx, svc, admOrg.ID, "chapter "+uuid.NewString())
				return err
			}},
			"AdminRepository.AddMember": {1, "", addRemove(
				func() error { _, err := admin.AddMember(ctx, svc, admOrg.ID, admUser, db.RolePeerMentor); return err },
				func() error { return admin.RemoveMember(ctx, svc, admOrg.ID, admUser, db.RolePeerMentor) })},
			"AdminRepository.RemoveMember": {1, "", nil}, // measured with AddMember
			"AdminRepository.AddChapterMember": {1, "", addRemove(
				func() error { _, err := admin.AddChapterMember(ctx, svc, admChapter.ID, coord); return err },
				func() error { return admin.RemoveChapterMember(ctx, svc, admChapter.ID, coord) })},
			"AdminRepository.RemoveChapterMember": {1, "", nil}, // measured with AddChapterMember
			"AdminRepository.Members":             {1, "", func() error { _, err := admin.Members(ctx, svc, org); return err }},
			"AdminRepository.ChapterMembers":      {1, "", func() error { _, err := admin.ChapterMembers(ctx, svc, chapter); return err }},
			"PauseRepository.OwnStatus":           {1, "", func() error { _, err := pauses.OwnStatus(ctx, asMentor, org); return err }},
			"PauseRepository.Status":              {1, "", func() error { _, err := pauses.Status(ctx, asCoord, mentor, org); return err }},
			"PauseRepository.OrgStatuses":         {1, "", func() error { _, err := pauses.OrgStatuses(ctx, asCoord, org); return err }},
			"PauseRepository.ChapterPauses":       {1, "", func() error { _, err := pauses.ChapterPauses(ctx, asCoord, chapter); return err }},
			"PauseRepository.History":             {1, "", func() error { _, err := pauses.History(ctx, asCoord, mentor, org); return err }},
		}
		var methods []string
		for _, v := range []any{acts, templates, pauses, admin} {
			typ := reflect.TypeOf(v)
			for i := range typ.NumMethod() {
				methods = append(methods, typ.Elem().Name()+"."+typ.Method(i).Name)
			}
		}
		sort.Strings(methods)
		for _, m := range methods {
			w, ok := want[m]
			require.True(t, ok, "%s has no round-trip count in this test: add one (and its reason if it is not 1)", m)
			if w.trips != 1 {
				require.NotEmpty(t, w.why, "%s: a count other than one needs its reason", m)
			}
			switch {
			case w.run == nil: // measured with its inverse
				continue
			case m == "PauseRepository.Pause", m == "AdminRepository.AddMember", m == "AdminRepository.AddChapterMember":
				require.EqualValues(t, 2, tripsOf(t, counter, w.run), "%s and its inverse: one round trip each", m)
			case m == "ProxyActivityRepository.Delete" || m == "TemplateRepository.Delete":
				tripsOf(t, counter, w.run)
				require.Equal(t, w.trips, deleteTrips, m)
			case m == "ProxyActivityRepository.Import":
				got := tripsOf(t, counter, w.run)
				require.LessOrEqual(t, got, w.trips, m)
				require.GreaterOrEqual(t, got, w.trips-1, m)
			default:
				require.Equal(t, w.trips, tripsOf(t, counter, w.run), m)
			}
		}
		require.Len(t, want, len(methods), "the table lists only methods that exist")
	})

	t.Run("DB-WIRE-1 a multi-statement request folds BEGIN and the preamble into its first round trip", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		app, _, counter := countedApp(t, d)
		org := d.NewOrg(t)
		coord := d.NewMember(t, org, "coordinator")
		run := func() error {
			return app.DoReadOnly(ctx, db.User(coord, org), func(r *db.Request) error {
				var n int
				if err := r.Tx().QueryRow(ctx, `SELECT count(*) FROM organizations`).Scan(&n); err != nil {
					return err
				}
				_, err := r.Activities().ListForOrg(ctx, org, db.Period{From: proxyDay, To: proxyDay.AddDate(0, 0, 1)}, nil, 10)
				return err
			})
		}
		require.EqualValues(t, 3, tripsOf(t, counter, run), "two statements and COMMIT")
		// A statement the caller sends with the simple protocol goes as asked
		// (EXPLAIN EXECUTE of a prepared statement needs it), after BEGIN
		// and the preamble: one round trip more.
		require.EqualValues(t, 3, tripsOf(t, counter, func() error {
			return app.DoReadOnly(ctx, db.User(coord, org), func(r *db.Request) error {
				var role string
				return r.Tx().QueryRow(ctx, `SELECT current_user`, pgx.QueryExecModeSimpleProtocol).Scan(&role)
			})
		}), "BEGIN and the preamble, the statement, COMMIT")
		require.EqualValues(t, 0, tripsOf(t, counter, func() error {
			return app.Do(ctx, db.User(coord, org), func(*db.Request) error { return nil })
		}), "a request that sends nothing costs nothing")
	})

	t.Run("DB-WIRE-1 a request applies its role's own settings: authenticated and anon get Supabase's statement_timeout, a runaway query is cut off, and nothing is left on the connection", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		app, pool, _ := countedApp(t, d)
		org := d.NewOrg(t)
		user := d.NewMember(t, org, "coordinator")
		timeoutOf := func(claims db.Claims) string {
			var v string
			require.NoError(t, app.DoReadOnly(ctx, claims, func(r *db.Request) error {
				return r.Tx().QueryRow(ctx, `SELECT current_setting('statement_timeout')`).Scan(&v)
			}))
			return v
		}
		require.Equal(t, "8s", timeoutOf(db.User(user, org)), "sql/platform gives authenticated 8s, as Supabase does")
		require.Equal(t, "3s", timeoutOf(db.Anon()))
		require.Equal(t, "0", timeoutOf(db.ServiceRole()), "service_role has no setting of its own")

		// A database-specific setting wins over the cluster-wide one, as
		// for a session that logs in as the role; this one keeps the test short.
		d.Exec(t, `ALTER ROLE authenticated IN DATABASE `+d.Name+` SET statement_timeout = '200ms'`)
		require.Equal(t, "200ms", timeoutOf(db.User(user, org)))
		t0 := time.Now()
		err := app.DoReadOnly(ctx, db.User(user, org), func(r *db.Request) error {
			_, err := r.Tx().Exec(ctx, `SELECT pg_sleep(5)`)
			return err
		})
		require.ErrorIs(t, err, db.ErrStatementTimeout)
		require.Less(t, time.Since(t0), 4*time.Second, "cut off by the role's timeout, not run to the end")

		// The connection's next use (the pool has one) sees none of it.
		p, err := probeSession(ctx, pool)
		require.NoError(t, err)
		require.NoError(t, p.clean())
	})
}
