package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
)

// proxyMigrationFile is the migration of issue 3 (PA-*).
const proxyMigrationFile = "20261121000000_proxy_activities.sql"

// proxyFixture is the stage every proxy-activity test starts from: two orgs
// with chapters, coordinators, peer mentors and templates. No activity yet.
type proxyFixture struct {
	d    *pgtest.DB
	repo *db.ProxyActivityRepository

	orgA, orgB      uuid.UUID
	chA1, chA2, chB uuid.UUID
	coordA          uuid.UUID // coordinator of org A, chapters A1 and A2
	coordA2         uuid.UUID // a second coordinator of org A (chapter A1)
	coordB          uuid.UUID // coordinator of org B
	mentorA         uuid.UUID // peer mentor of org A (chapter A1)
	mentorA2        uuid.UUID // peer mentor of org A (chapter A2)
	mentorB         uuid.UUID // peer mentor of org B
	dual            uuid.UUID // coordinator in org A (chapter A2), peer_mentor in org B
	coordMentorA    uuid.UUID // coordinator AND peer_mentor of org A
	stranger        uuid.UUID // signed in, member of nothing
	tmplA, tmplB    uuid.UUID // a template of org A (by coordA) and of org B (by coordB)
}

// proxyDay is the date the fixtures' activities happen on.
var proxyDay = time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)

func proxySetup(t *testing.T) *proxyFixture {
	t.Helper()
	d := pgtest.New(t)
	f := &proxyFixture{d: d, repo: d.App.ProxyActivities()}
	f.orgA, f.orgB = d.NewOrg(t), d.NewOrg(t)
	f.chA1, f.chA2, f.chB = d.NewChapter(t, f.orgA), d.NewChapter(t, f.orgA), d.NewChapter(t, f.orgB)
	f.coordA = d.NewMember(t, f.orgA, "coordinator", f.chA1, f.chA2)
	f.coordA2 = d.NewMember(t, f.orgA, "coordinator", f.chA1)
	f.coordB = d.NewMember(t, f.orgB, "coordinator", f.chB)
	f.mentorA = d.NewMember(t, f.orgA, "peer_mentor", f.chA1)
	f.mentorA2 = d.NewMember(t, f.orgA, "peer_mentor", f.chA2)
	f.mentorB = d.NewMember(t, f.orgB, "peer_mentor", f.chB)
	f.dual = d.NewMember(t, f.orgA, "coordinator", f.chA2)
	d.AddMember(t, f.orgB, f.dual, "peer_mentor")
	d.AddChapterMember(t, f.orgB, f.chB, f.dual)
	f.coordMentorA = d.NewMember(t, f.orgA, "coordinator", f.chA1)
	d.AddMember(t, f.orgA, f.coordMentorA, "peer_mentor")
	f.stranger = d.NewUser(t)
	d.QueryRow(t, `INSERT INTO recurring_activity_templates (org_id, created_by, activity_type, title, recurrence_rule)
		VALUES ($1, $2, 'visit', 'weekly visit', 'FREQ=WEEKLY;BYDAY=TU') RETURNING id`, f.orgA, f.coordA).Scan(t, &f.tmplA)
	d.QueryRow(t, `INSERT INTO recurring_activity_templates (org_id, created_by, activity_type, title)
		VALUES ($1, $2, 'call', 'calls') RETURNING id`, f.orgB, f.coordB).Scan(t, &f.tmplB)
	return f
}

// as returns the claims of user acting in org (the org claim is only a hint).
func proxyAs(user, org uuid.UUID) db.Claims { return db.User(user, org) }

// create registers an activity through the repository as coordinator and
// fails the test on error.
func (f *proxyFixture) create(t *testing.T, ctx context.Context, coordinator, org, mentor uuid.UUID) db.ProxyActivity {
	t.Helper()
	a, err := f.repo.Create(ctx, proxyAs(coordinator, org), db.NewProxyActivity{
		AttributedMentorID: mentor, OrgID: org, ActivityType: "visit", Date: proxyDay, DurationMinutes: 45,
	})
	require.NoError(t, err)
	return a
}

// rawInsert inserts one activity with plain SQL in one request as claims,
// bypassing the repository and its pre-checks: only the database decides.
func (f *proxyFixture) rawInsert(ctx context.Context, claims db.Claims, coordinator, mentor, org uuid.UUID, minutes int, template *uuid.UUID) (uuid.UUID, error) {
	var id uuid.UUID
	err := f.d.As(ctx, claims, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO proxy_activities
			(coordinator_id, attributed_mentor_id, org_id, activity_type, date, duration_minutes, template_id)
			VALUES ($1, $2, $3, 'visit', DATE '2026-03-10', $4, $5) RETURNING id`,
			coordinator, mentor, org, minutes, template).Scan(&id)
	})
	return id, err
}

// rawExec runs one statement in one request as claims and returns the rows
// it affected.
func (f *proxyFixture) rawExec(ctx context.Context, claims db.Claims, sql string, args ...any) (int64, error) {
	var n int64
	err := f.d.As(ctx, claims, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, sql, args...)
		n = tag.RowsAffected()
		return err
	})
	return n, err
}

// visible lists the proxy_activities ids claims can SELECT (sorted).
func (f *proxyFixture) visible(t *testing.T, ctx context.Context, claims db.Claims, table string) []uuid.UUID {
	t.Helper()
	var ids []uuid.UUID
	require.NoError(t, f.d.As(ctx, claims, func(tx pgx.Tx) error {
		col := "id"
		if table == "proxy_audit_log" {
			col = "activity_id"
		}
		rows, err := tx.Query(ctx, fmt.Sprintf(`SELECT DISTINCT %s FROM %s ORDER BY 1`, col, table))
		if err != nil {
			return err
		}
		ids, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		return err
	}))
	return ids
}

// count runs a count(*) as the owner (fixture view, bypasses RLS).
func (f *proxyFixture) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	f.d.QueryRow(t, sql, args...).Scan(t, &n)
	return n
}

// snapshot is the row as stored, as jsonb text, read as the owner.
func (f *proxyFixture) snapshot(t *testing.T, id uuid.UUID) string {
	t.Helper()
	var s string
	f.d.QueryRow(t, `SELECT to_jsonb(p)::text FROM proxy_activities p WHERE p.id = $1`, id).Scan(t, &s)
	return s
}

// installTouchProbe makes every INSERT or UPDATE statement that reaches
// proxy_activities advance a sequence. nextval is not transactional, so the
// count survives the rollback of a failed request: a count that did not move
// proves the statement never reached the table. The probe lives in its own
// schema, outside what PS-COV-1 measures.
func (f *proxyFixture) installTouchProbe(t *testing.T) func() int64 {
	t.Helper()
	f.d.Exec(t, `CREATE SCHEMA proxy_probe;
		CREATE SEQUENCE proxy_probe.touches;
		CREATE FUNCTION proxy_probe.touch() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = ''
		AS $$ BEGIN PERFORM nextval('proxy_probe.touches'); RETURN NULL; END $$;
		CREATE TRIGGER proxy_probe_touch BEFORE INSERT OR UPDATE OR DELETE ON public.proxy_activities
		FOR EACH STATEMENT EXECUTE FUNCTION proxy_probe.touch();`)
	return func() int64 {
		var last int64
		var called bool
		f.d.QueryRow(t, `SELECT last_value, is_called FROM proxy_probe.touches`).Scan(t, &last, &called)
		if !called {
			return 0
		}
		return last
	}
}

// requireProxyErr checks a typed error: errors.Is matches kind and class,
// and it carries code and constraint.
func requireProxyErr(t *testing.T, err error, kind, class error, code string, constraint db.Constraint) *db.Error {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, kind)
	require.ErrorIs(t, err, class)
	var dbErr *db.Error
	require.ErrorAs(t, err, &dbErr)
	require.Equal(t, code, dbErr.Code, dbErr.Message)
	require.Equal(t, constraint, dbErr.Constraint, dbErr.Message)
	return dbErr
}

// fromDatabase tells whether a typed error came from PostgreSQL (it wraps
// the server's error) rather than from a repository pre-check.
func fromDatabase(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr)
}

// notCoordinator is the name the pre-check raises for a caller who is not
// a coordinator of the org (ErrNotPermitted).
const notCoordinator = db.ConstraintProxyActivitiesNotPermitted

// fromPrecheck tells whether err is the pre-check's: the error the
// repository's membership pre-check function raised, in the request, before
// the write it guards.
func fromPrecheck(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && strings.Contains(pgErr.Where, "private.assert_mentors_in_org(")
}

// requireOwnerErr checks a raw PostgreSQL error from the owner pool.
func requireOwnerErr(t *testing.T, err error, code string, constraint db.Constraint) {
	t.Helper()
	var pgErr *pgconn.PgError
	require.ErrorAs(t, err, &pgErr)
	require.Equal(t, code, pgErr.Code, pgErr.Message)
	require.Equal(t, string(constraint), pgErr.ConstraintName, pgErr.Message)
}

func testProxyActivities(t *testing.T) {
	t.Parallel()
	proxySeedCases(t)
	proxySchemaCases(t)
	defaultCases(t)
	proxyIntegrityCases(t)
	proxyRLSCases(t)
	proxyAuditCases(t)
	proxyErrorCases(t)
	requestErrorCases(t)
	proxyRequiredCases(t)
	foreignKeyCases(t)
	foreignKeyIndexCases(t)
	templateScopeCases(t)
}

// proxySeedCases are the seed's seven pgTAP-style cases, by name.
func proxySeedCases(t *testing.T) {
	t.Run("PA-CHK-1 PA-RLS-1 PA-ORG-1 seed 1 valid insert", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		a, err := f.repo.Create(ctx, proxyAs(f.coordA, f.orgA), db.NewProxyActivity{
			AttributedMentorID: f.mentorA, OrgID: f.orgA, ActivityType: "visit", Date: proxyDay,
			DurationMinutes: 60, Notes: "home visit", IsRecurring: true, TemplateID: f.tmplA,
		})
		require.NoError(t, err)
		require.NotEqual(t, uuid.Nil, a.ID)
		require.Equal(t, f.coordA, a.CoordinatorID)
		require.Equal(t, f.mentorA, a.AttributedMentorID)
		require.Equal(t, f.orgA, a.OrgID)
		require.Equal(t, "visit", a.ActivityType)
		require.True(t, proxyDay.Equal(a.Date))
		require.Equal(t, 60, a.DurationMinutes)
		require.Equal(t, "home visit", a.Notes)
		require.True(t, a.IsRecurring)
		require.Equal(t, f.tmplA, a.TemplateID)
		require.False(t, a.CreatedAt.IsZero())
		require.Equal(t, a.CreatedAt, a.UpdatedAt)
		require.Equal(t, 1, f.count(t, `SELECT count(*) FROM proxy_activities WHERE id = $1 AND coordinator_id = $2 AND attributed_mentor_id = $3`, a.ID, f.coordA, f.mentorA))

		// The same through plain SQL in a request: the database accepts it too.
		id, err := f.rawInsert(ctx, proxyAs(f.coordA, f.orgA), f.coordA, f.mentorA2, f.orgA, 30, nil)
		require.NoError(t, err)
		require.Equal(t, 1, f.count(t, `SELECT count(*) FROM proxy_activities WHERE id = $1`, id))
	})

	t.Run("PA-CHK-1 seed 2 self-attribution rejected", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		// coordMentorA is a coordinator and a peer_mentor of org A: only the
		// CHECK stands between them and crediting themselves.
		_, err := f.rawInsert(ctx, proxyAs(f.coordMentorA, f.orgA), f.coordMentorA, f.coordMentorA, f.orgA, 30, nil)
		requireProxyErr(t, err, db.ErrSelfAttribution, db.ErrCheck, "23514", db.ConstraintProxyActivitiesNoSelfAttributionCheck)
		require.True(t, fromDatabase(err), "the database's CHECK refused it")
		_, err = f.repo.Create(ctx, proxyAs(f.coordMentorA, f.orgA), db.NewProxyActivity{
			AttributedMentorID: f.coordMentorA, OrgID: f.orgA, ActivityType: "visit", Date: proxyDay, DurationMinutes: 30,
		})
		requireProxyErr(t, err, db.ErrSelfAttribution, db.ErrCheck, "23514", db.ConstraintProxyActivitiesNoSelfAttributionCheck)
		require.Zero(t, f.count(t, `SELECT count(*) FROM proxy_activities`))
		require.Zero(t, f.count(t, `SELECT count(*) FROM proxy_audit_log`))
	})

	t.Run("PA-RLS-2 seed 3 own org readable", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		own := f.create(t, ctx, f.coordA, f.orgA, f.mentorA)
		other := f.create(t, ctx, f.coordA2, f.orgA, f.mentorA2)
		require.ElementsMatch(t, []uuid.UUID{own.ID, other.ID}, f.visible(t, ctx, proxyAs(f.coordA, f.orgA), "proxy_activities"))
		got, err := f.repo.Get(ctx, proxyAs(f.coordA, f.orgA), other.ID)
		require.NoError(t, err)
		require.Equal(t, other.ID, got.ID)
		require.Equal(t, f.coordA2, got.CoordinatorID)
		page, err := f.repo.ListForOrg(ctx, proxyAs(f.coordA, f.orgA), f.orgA,
			db.Period{From: proxyDay, To: proxyDay.AddDate(0, 0, 1)}, nil, 10)
		require.NoError(t, err)
		require.Len(t, page.Items, 2)
		require.Nil(t, page.Next)
	})

	t.Run("PA-RLS-2 seed 4 other org unreadable", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		a := f.create(t, ctx, f.coordA, f.orgA, f.mentorA)
		// Even claiming org A as the org context.
		for _, c := range []db.Claims{proxyAs(f.coordB, f.orgB), proxyAs(f.coordB, f.orgA)} {
			require.Empty(t, f.visible(t, ctx, c, "proxy_activities"))
			_, err := f.repo.Get(ctx, c, a.ID)
			requireProxyErr(t, err, db.ErrNotFound, db.ErrNotFound, "", "")
			page, err := f.repo.ListForOrg(ctx, c, f.orgA, db.Period{From: proxyDay, To: proxyDay.AddDate(0, 0, 1)}, nil, 10)
			require.NoError(t, err)
			require.Empty(t, page.Items)
			report, err := f.repo.BufdirReport(ctx, c, f.orgA, db.Period{From: proxyDay, To: proxyDay.AddDate(0, 0, 1)})
			require.NoError(t, err)
			require.Empty(t, report)
		}
	})

	t.Run("PA-RLS-3 seed 5 update own but not another coordinator's", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		own := f.create(t, ctx, f.coordA, f.orgA, f.mentorA)
		theirs := f.create(t, ctx, f.coordA2, f.orgA, f.mentorA)
		change := db.ProxyActivityChange{AttributedMentorID: f.mentorA2, ActivityType: "call", Date: proxyDay, DurationMinutes: 15}

		got, err := f.repo.Update(ctx, proxyAs(f.coordA, f.orgA), own.ID, change)
		require.NoError(t, err)
		require.Equal(t, "call", got.ActivityType)
		require.Equal(t, f.mentorA2, got.AttributedMentorID)

		before := f.snapshot(t, theirs.ID)
		_, err = f.repo.Update(ctx, proxyAs(f.coordA, f.orgA), theirs.ID, change)
		requireProxyErr(t, err, db.ErrNotPermitted, db.ErrNotPermitted, "42501", db.PolicyProxyUpdateOwn)
		n, err := f.rawExec(ctx, proxyAs(f.coordA, f.orgA), `UPDATE proxy_activities SET duration_minutes = 99 WHERE id = $1`, theirs.ID)
		require.NoError(t, err)
		require.Zero(t, n, "RLS leaves another coordinator's row out of the UPDATE")
		require.Equal(t, before, f.snapshot(t, theirs.ID))
	})

	t.Run("PA-FK-2 seed 6 template SET NULL", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		mk := func(coord, mentor uuid.UUID) db.ProxyActivity {
			a, err := f.repo.Create(ctx, proxyAs(coord, f.orgA), db.NewProxyActivity{
				AttributedMentorID: mentor, OrgID: f.orgA, ActivityType: "visit", Date: proxyDay,
				DurationMinutes: 45, IsRecurring: true, TemplateID: f.tmplA,
			})
			require.NoError(t, err)
			require.Equal(t, f.tmplA, a.TemplateID)
			return a
		}
		own, theirs := mk(f.coordA, f.mentorA), mk(f.coordA2, f.mentorA2)
		require.NoError(t, f.d.App.Templates().Delete(ctx, proxyAs(f.coordA, f.orgA), f.tmplA))
		require.Zero(t, f.count(t, `SELECT count(*) FROM recurring_activity_templates WHERE id = $1`, f.tmplA))
		for _, a := range []db.ProxyActivity{own, theirs} {
			var tmpl *uuid.UUID
			var coord, mentor, org uuid.UUID
			var recurring bool
			var minutes int
			f.d.QueryRow(t, `SELECT template_id, coordinator_id, attributed_mentor_id, org_id, is_recurring, duration_minutes
				FROM proxy_activities WHERE id = $1`, a.ID).Scan(t, &tmpl, &coord, &mentor, &org, &recurring, &minutes)
			require.Nil(t, tmpl, "template_id is set to NULL")
			require.Equal(t, []any{a.CoordinatorID, a.AttributedMentorID, a.OrgID, true, 45},
				[]any{coord, mentor, org, recurring, minutes}, "the rest of the activity is kept")
			require.Equal(t, 1, f.count(t, `SELECT count(*) FROM proxy_audit_log WHERE activity_id = $1 AND action = 'UPDATE'
				AND old_row ->> 'template_id' = $2 AND new_row -> 'template_id' = 'null'::jsonb`, a.ID, f.tmplA.String()),
				"the SET NULL is audited")
		}
		got, err := f.repo.Get(ctx, proxyAs(f.coordA, f.orgA), own.ID)
		require.NoError(t, err)
		require.Equal(t, uuid.Nil, got.TemplateID)
	})

	t.Run("PA-IDX-1 seed 7 date index used", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		orgC := f.d.NewOrg(t)
		orgs := []uuid.UUID{f.orgA, f.orgB, orgC}
		coords := []uuid.UUID{f.coordA, f.coordB, f.d.NewMember(t, orgC, "coordinator")}
		var mentors []uuid.UUID
		for _, o := range orgs {
			for range 4 {
				mentors = append(mentors, f.d.NewMember(t, o, "peer_mentor"))
			}
		}
		// 21,000 rows, the three orgs interleaved in insertion order, dates
		// over two years following insertion order as in production.
		// Triggers are skipped for the bulk load (fixture only).
		tx, err := f.d.Pool.Begin(ctx)
		require.NoError(t, err)
		defer tx.Rollback(ctx) // releases the connection if the test fails
		_, err = tx.Exec(ctx, `SET LOCAL session_replication_role = replica`)
		require.NoError(t, err)
		_, err = tx.Exec(ctx, `INSERT INTO proxy_activities
				(coordinator_id, attributed_mentor_id, org_id, activity_type, date, duration_minutes, created_at, updated_at)
			SELECT ($1::uuid[])[g % 3 + 1], ($2::uuid[])[(g % 3) * 4 + (g / 3) % 4 + 1], ($3::uuid[])[g % 3 + 1],
			       (ARRAY['visit', 'call', 'group'])[(g / 7) % 3 + 1], DATE '2024-01-01' + (g * 730 / 21000),
			       15 + g % 90, TIMESTAMPTZ '2024-01-01' + g * interval '50 minutes', TIMESTAMPTZ '2024-01-01' + g * interval '50 minutes'
			FROM generate_series(0, 20999) AS g`, coords, mentors, orgs)
		require.NoError(t, err)
		require.NoError(t, tx.Commit(ctx))
		f.d.Exec(t, `ANALYZE proxy_activities`)
		require.Equal(t, 21000, f.count(t, `SELECT count(*) FROM proxy_activities`))

		// One week, all orgs, as the owner: the (date DESC) index.
		plan := proxyExplain(t, ctx, f.d.Pool, `SELECT id, date FROM proxy_activities
			WHERE date >= DATE '2025-03-01' AND date < DATE '2025-03-08'`)
		used := proxyRequireIndexPlan(t, ctx, f.d, plan)
		require.Contains(t, used, "proxy_activities_date_idx", "the date-range query uses the date index")

		// One month of org A, as its coordinator through RLS, with and without
		// an explicit org filter (the latter is what supabase-js sends).
		for _, q := range []string{
			fmt.Sprintf(`SELECT * FROM proxy_activities WHERE org_id = '%s' AND date >= DATE '2025-03-01' AND date < DATE '2025-04-01'`, f.orgA),
			`SELECT * FROM proxy_activities WHERE date >= DATE '2025-03-01' AND date < DATE '2025-04-01'`,
		} {
			var plan []byte
			var n int
			require.NoError(t, f.d.As(ctx, proxyAs(f.coordA, f.orgA), func(tx pgx.Tx) error {
				plan = proxyExplain(t, ctx, tx, q)
				return tx.QueryRow(ctx, `SELECT count(*) FROM (`+q+`) q`).Scan(&n)
			}))
			proxyRequireIndexPlan(t, ctx, f.d, plan)
			require.InDelta(t, 7000*31/730, n, 15, "the coordinator gets org A's month")
		}
	})
}

// proxyExplain returns EXPLAIN (ANALYZE, FORMAT JSON) of q.
func proxyExplain(t *testing.T, ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, sql string) []byte {
	t.Helper()
	var plan []byte
	require.NoError(t, q.QueryRow(ctx, `EXPLAIN (ANALYZE, FORMAT JSON) `+sql).Scan(&plan))
	return plan
}

// proxyRequireIndexPlan walks a JSON plan: no node may scan proxy_activities
// sequentially, and at least one must be an index scan (plain, index-only or
// bitmap) of one of its indexes. It returns the indexes of proxy_activities
// the plan uses.
func proxyRequireIndexPlan(t *testing.T, ctx context.Context, d *pgtest.DB, plan []byte) []string {
	t.Helper()
	rows, err := d.Pool.Query(ctx, `SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'proxy_activities'`)
	require.NoError(t, err)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	ours := map[string]bool{}
	for _, n := range names {
		ours[n] = true
	}
	var doc []struct {
		Plan map[string]any `json:"Plan"`
	}
	require.NoError(t, json.Unmarshal(plan, &doc))
	require.Len(t, doc, 1)
	var used []string
	var walk func(n map[string]any)
	walk = func(n map[string]any) {
		typ, _ := n["Node Type"].(string)
		rel, _ := n["Relation Name"].(string)
		idx, _ := n["Index Name"].(string)
		require.False(t, typ == "Seq Scan" && rel == "proxy_activities", "sequential scan of proxy_activities in plan:\n%s", plan)
		switch typ {
		case "Index Scan", "Index Only Scan", "Bitmap Index Scan":
			if ours[idx] {
				used = append(used, idx)
			}
		}
		children, _ := n["Plans"].([]any)
		for _, c := range children {
			walk(c.(map[string]any))
		}
	}
	walk(doc[0].Plan)
	require.NotEmpty(t, used, "no index of proxy_activities in plan:\n%s", plan)
	return used
}
