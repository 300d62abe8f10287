package conformance

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
)

// proxyRLSCases prove the policies, only through requests (db.As).
func proxyRLSCases(t *testing.T) {
	t.Run("PA-RLS-1 a coordinator inserts as themselves into their org, the dual-role user included", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		for _, c := range []uuid.UUID{f.coordA, f.coordA2, f.dual} {
			id, err := f.rawInsert(ctx, proxyAs(c, f.orgA), c, f.mentorA, f.orgA, 30, nil)
			require.NoError(t, err)
			require.Equal(t, 1, f.count(t, `SELECT count(*) FROM proxy_activities WHERE id = $1 AND coordinator_id = $2`, id, c))
		}
		// The org claim is only a hint: coordA acting with org B's claim may
		// still register in org A, where the membership row says they coordinate.
		_, err := f.rawInsert(ctx, proxyAs(f.coordA, f.orgB), f.coordA, f.mentorA, f.orgA, 30, nil)
		require.NoError(t, err)
		a := f.create(t, ctx, f.coordB, f.orgB, f.mentorB)
		require.Equal(t, f.coordB, a.CoordinatorID)
	})

	t.Run("PA-RLS-1 INSERT with coordinator_id of someone else is refused (42501), also through the repository", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		for _, other := range []uuid.UUID{f.coordA2, f.coordB, f.stranger} {
			_, err := f.rawInsert(ctx, proxyAs(f.coordA, f.orgA), other, f.mentorA, f.orgA, 30, nil)
			e := requireProxyErr(t, err, db.ErrNotPermitted, db.ErrNotPermitted, "42501", "")
			require.True(t, fromDatabase(err))
			require.Contains(t, e.Message, `row-level security policy for table "proxy_activities"`)
			_, err = f.repo.Create(ctx, proxyAs(f.coordA, f.orgA), db.NewProxyActivity{CoordinatorID: other,
				AttributedMentorID: f.mentorA, OrgID: f.orgA, ActivityType: "visit", Date: proxyDay, DurationMinutes: 30})
			requireProxyErr(t, err, db.ErrNotPermitted, db.ErrNotPermitted, "42501", "")
			require.True(t, fromDatabase(err), "RLS, not a pre-check, refused it")
			_, err = f.repo.CreateMany(ctx, proxyAs(f.coordA, f.orgA), f.orgA, other, []db.NewProxyActivity{
				{AttributedMentorID: f.mentorA, ActivityType: "visit", Date: proxyDay, DurationMinutes: 30}})
			requireProxyErr(t, err, db.ErrNotPermitted, db.ErrNotPermitted, "42501", "")
			require.True(t, fromDatabase(err), "the bulk insert goes through RLS")
		}
		require.Zero(t, f.count(t, `SELECT count(*) FROM proxy_activities`))
		require.Zero(t, f.count(t, `SELECT count(*) FROM proxy_audit_log`))
	})

	t.Run("PA-RLS-1 a forged organization_id claim does not help a coordinator of another org", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		touches := f.installTouchProbe(t)
		// coordB claims org A; the dual-role user (peer mentor only in B) claims B.
		for _, tc := range []struct {
			who, org, mentor uuid.UUID
		}{{f.coordB, f.orgA, f.mentorA}, {f.dual, f.orgB, f.mentorB}} {
			_, err := f.rawInsert(ctx, proxyAs(tc.who, tc.org), tc.who, tc.mentor, tc.org, 30, nil)
			requireProxyErr(t, err, db.ErrNotPermitted, db.ErrNotPermitted, "42501", "")
			require.True(t, fromDatabase(err))
			_, err = f.repo.Create(ctx, proxyAs(tc.who, tc.org), db.NewProxyActivity{
				AttributedMentorID: tc.mentor, OrgID: tc.org, ActivityType: "visit", Date: proxyDay, DurationMinutes: 30})
			requireProxyErr(t, err, db.ErrNotPermitted, db.ErrNotPermitted, "42501", notCoordinator)
		}
		require.EqualValues(t, 2, touches(), "only the raw inserts reached the table, and RLS refused them")
		require.Zero(t, f.count(t, `SELECT count(*) FROM proxy_activities`))
		// No policy reads user_metadata (Supabase lint 0015).
		require.Zero(t, f.count(t, `SELECT count(*) FROM pg_policies WHERE schemaname = 'public'
			AND tablename IN ('proxy_activities', 'proxy_audit_log', 'recurring_activity_templates')
			AND (coalesce(qual, '') || coalesce(with_check, '')) ILIKE '%user_metadata%'`))
	})

	t.Run("PA-RLS-1 peer mentors, strangers and anon cannot insert", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		for _, tc := range []struct {
			who, mentor uuid.UUID
		}{{f.mentorA, f.mentorA2}, {f.mentorA2, f.mentorA}, {f.stranger, f.mentorA}} {
			_, err := f.rawInsert(ctx, proxyAs(tc.who, f.orgA), tc.who, tc.mentor, f.orgA, 30, nil)
			requireProxyErr(t, err, db.ErrNotPermitted, db.ErrNotPermitted, "42501", "")
			_, err = f.repo.Create(ctx, proxyAs(tc.who, f.orgA), db.NewProxyActivity{
				AttributedMentorID: tc.mentor, OrgID: f.orgA, ActivityType: "visit", Date: proxyDay, DurationMinutes: 30})
			requireProxyErr(t, err, db.ErrNotPermitted, db.ErrNotPermitted, "42501", notCoordinator)
		}
		_, err := f.rawInsert(ctx, db.Anon(), f.coordA, f.mentorA, f.orgA, 30, nil)
		e := requireProxyErr(t, err, db.ErrNotPermitted, db.ErrNotPermitted, "42501", "")
		require.Contains(t, e.Message, "permission denied")
		_, err = f.repo.Create(ctx, db.Anon(), db.NewProxyActivity{CoordinatorID: f.coordA,
			AttributedMentorID: f.mentorA, OrgID: f.orgA, ActivityType: "visit", Date: proxyDay, DurationMinutes: 30})
		require.ErrorIs(t, err, db.ErrNotPermitted)
		require.Zero(t, f.count(t, `SELECT count(*) FROM proxy_activities`))
		require.Zero(t, f.count(t, `SELECT count(*) FROM proxy_audit_log`))
	})

	t.Run("PA-RLS-2 coordinators see their whole org and nothing else; peer mentors, strangers and anon see none", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		a1 := f.create(t, ctx, f.coordA, f.orgA, f.mentorA)
		a2 := f.create(t, ctx, f.coordA2, f.orgA, f.mentorA2)
		a3 := f.create(t, ctx, f.dual, f.orgA, f.mentorA)
		b1 := f.create(t, ctx, f.coordB, f.orgB, f.dual) // credited to the dual-role user, in org B
		b2 := f.create(t, ctx, f.coordB, f.orgB, f.mentorB)
		orgA := []uuid.UUID{a1.ID, a2.ID, a3.ID}
		for _, tc := range []struct {
			name   string
			claims db.Claims
			want   []uuid.UUID
		}{
			{"coordinator of A (two chapters)", proxyAs(f.coordA, f.orgA), orgA},
			{"the other coordinator of A", proxyAs(f.coordA2, f.orgA), orgA},
			{"coordinator in A and peer mentor in B", proxyAs(f.dual, f.orgA), orgA},
			{"the same, claiming org B", proxyAs(f.dual, f.orgB), orgA},
			{"coordinator of B", proxyAs(f.coordB, f.orgB), []uuid.UUID{b1.ID, b2.ID}},
			{"coordinator of B claiming org A", proxyAs(f.coordB, f.orgA), []uuid.UUID{b1.ID, b2.ID}},
			{"peer mentor credited in A", proxyAs(f.mentorA, f.orgA), nil},
			{"peer mentor credited in B", proxyAs(f.mentorB, f.orgB), nil},
			{"stranger", proxyAs(f.stranger, uuid.Nil), nil},
			{"service_role bypasses RLS", db.ServiceRole(), []uuid.UUID{a1.ID, a2.ID, a3.ID, b1.ID, b2.ID}},
		} {
			require.ElementsMatch(t, tc.want, f.visible(t, ctx, tc.claims, "proxy_activities"), tc.name)
		}
		// Not even the dual-role user's own credited activity in org B.
		_, err := f.repo.Get(ctx, proxyAs(f.dual, f.orgB), b1.ID)
		require.ErrorIs(t, err, db.ErrNotFound)
		page, err := f.repo.ListByMentor(ctx, proxyAs(f.dual, f.orgB), f.orgB, f.dual, db.Period{From: proxyDay, To: proxyDay.AddDate(0, 0, 1)}, nil, 10)
		require.NoError(t, err)
		require.Empty(t, page.Items)
		_, err = f.repo.Get(ctx, proxyAs(f.mentorA, f.orgA), a1.ID)
		require.ErrorIs(t, err, db.ErrNotFound)
		// The Bufdir report of org A as its coordinator counts every coordinator's rows.
		report, err := f.repo.BufdirTotals(ctx, proxyAs(f.coordA, f.orgA), f.orgA, db.Period{From: proxyDay, To: proxyDay.AddDate(0, 0, 1)})
		require.NoError(t, err)
		var n int64
		for _, l := range report {
			n += l.ActivityCount
		}
		require.EqualValues(t, 3, n)
		// anon has no SELECT at all.
		err = f.d.As(ctx, db.Anon(), func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `SELECT 1 FROM proxy_activities`)
			return err
		})
		requireProxyErr(t, err, db.ErrNotPermitted, db.ErrNotPermitted, "42501", "")
		_, err = f.repo.Get(ctx, db.Anon(), a1.ID)
		require.ErrorIs(t, err, db.ErrNotPermitted)
	})

	t.Run("PA-RLS-3 UPDATE only own rows: not another coordinator's of the org, not another org's", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		own := f.create(t, ctx, f.coordA, f.orgA, f.mentorA)
		theirs := f.create(t, ctx, f.coordA2, f.orgA, f.mentorA)
		other := f.create(t, ctx, f.coordB, f.orgB, f.mentorB)
		snaps := map[uuid.UUID]string{theirs.ID: f.snapshot(t, theirs.ID), other.ID: f.snapshot(t, other.ID)}
		change := db.ProxyActivityChange{AttributedMentorID: f.mentorA2, ActivityType: "call", Date: proxyDay, DurationMinutes: 20}

		n, err := f.rawExec(ctx, proxyAs(f.coordA, f.orgA), `UPDATE proxy_activities SET notes = 'mine' WHERE id = $1`, own.ID)
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
		n, err = f.rawExec(ctx, proxyAs(f.coordA, f.orgA), `UPDATE proxy_activities SET notes = 'hijack'`)
		require.NoError(t, err)
		require.EqualValues(t, 1, n, "an unfiltered UPDATE reaches only the caller's own row")
		_, err = f.repo.Update(ctx, proxyAs(f.coordA, f.orgA), theirs.ID, change)
		requireProxyErr(t, err, db.ErrNotPermitted, db.ErrNotPermitted, "42501", db.PolicyProxyUpdateOwn)
		_, err = f.repo.Update(ctx, proxyAs(f.coordA, f.orgA), other.ID, change)
		requireProxyErr(t, err, db.ErrNotFound, db.ErrNotFound, "", "")
		// The org claim does not help: coordB claiming org A.
		n, err = f.rawExec(ctx, proxyAs(f.coordB, f.orgA), `UPDATE proxy_activities SET notes = 'x' WHERE id = $1`, own.ID)
		require.NoError(t, err)
		require.Zero(t, n)
		// Peer mentors cannot update the rows credited to them.
		n, err = f.rawExec(ctx, proxyAs(f.mentorA, f.orgA), `UPDATE proxy_activities SET duration_minutes = 600`)
		require.NoError(t, err)
		require.Zero(t, n)
		for id, s := range snaps {
			require.Equal(t, s, f.snapshot(t, id))
		}
	})

	t.Run("PA-RLS-3 an UPDATE cannot move a row to another org or hand it to another coordinator, service_role included", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		// A coordinator of both orgs, with a mentor in both: the policy alone
		// would let them move a row between their orgs.
		coordAB := f.d.NewMember(t, f.orgA, "coordinator")
		f.d.AddMember(t, f.orgB, coordAB, "coordinator")
		f.d.AddMember(t, f.orgB, f.mentorA, "peer_mentor")
		own := f.create(t, ctx, f.coordA, f.orgA, f.mentorA)
		both := f.create(t, ctx, coordAB, f.orgA, f.mentorA)
		snaps := map[uuid.UUID]string{own.ID: f.snapshot(t, own.ID), both.ID: f.snapshot(t, both.ID)}
		for _, tc := range []struct {
			claims db.Claims
			id     uuid.UUID
		}{
			{proxyAs(f.coordA, f.orgA), own.ID},
			{proxyAs(coordAB, f.orgB), both.ID},
			{db.ServiceRole(), own.ID},
		} {
			_, err := f.rawExec(ctx, tc.claims, `UPDATE proxy_activities SET org_id = $2 WHERE id = $1`, tc.id, f.orgB)
			requireProxyErr(t, err, db.ErrOrgChange, db.ErrCheck, "23514", db.ConstraintProxyActivitiesOrgIDImmutable)
			for _, to := range []uuid.UUID{f.coordA2, coordAB, f.coordB} {
				if n, _ := f.rawExec(ctx, db.ServiceRole(), `SELECT 1 FROM proxy_activities WHERE id = $1 AND coordinator_id = $2`, tc.id, to); n > 0 {
					continue
				}
				_, err = f.rawExec(ctx, tc.claims, `UPDATE proxy_activities SET coordinator_id = $2 WHERE id = $1`, tc.id, to)
				requireProxyErr(t, err, db.ErrCoordinatorChange, db.ErrCheck, "23514", db.ConstraintProxyActivitiesCoordinatorIDImmutable)
			}
		}
		for id, s := range snaps {
			require.Equal(t, s, f.snapshot(t, id))
		}
		// Writing the same values is not a change.
		n, err := f.rawExec(ctx, db.ServiceRole(), `UPDATE proxy_activities SET org_id = org_id, coordinator_id = coordinator_id, notes = 'same' WHERE id = $1`, own.ID)
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
		require.Equal(t, 2, f.count(t, `SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.proxy_activities'::regclass
			AND tgname IN ($1, $2) AND tgenabled = 'O'`, db.ConstraintProxyActivitiesOrgIDImmutable, db.ConstraintProxyActivitiesCoordinatorIDImmutable))
	})

	t.Run("PA-RLS-4 DELETE only by the coordinator who created the row, within the same org", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		own := f.create(t, ctx, f.coordA, f.orgA, f.mentorA)
		theirs := f.create(t, ctx, f.coordA2, f.orgA, f.mentorA)
		other := f.create(t, ctx, f.coordB, f.orgB, f.dual)

		n, err := f.rawExec(ctx, proxyAs(f.coordA, f.orgA), `DELETE FROM proxy_activities`)
		require.NoError(t, err)
		require.EqualValues(t, 1, n, "an unfiltered DELETE removes only the caller's own row")
		require.Zero(t, f.count(t, `SELECT count(*) FROM proxy_activities WHERE id = $1`, own.ID))

		err = f.repo.Delete(ctx, proxyAs(f.coordA, f.orgA), theirs.ID)
		requireProxyErr(t, err, db.ErrNotPermitted, db.ErrNotPermitted, "42501", db.PolicyProxyDeleteOwn)
		err = f.repo.Delete(ctx, proxyAs(f.coordA, f.orgA), other.ID)
		requireProxyErr(t, err, db.ErrNotFound, db.ErrNotFound, "", "")
		// coordB (claiming org A) may delete only their own row of org B, which
		// is not asked for here; the others nothing, the row credited to the
		// dual-role user included.
		for _, c := range []db.Claims{proxyAs(f.coordB, f.orgA), proxyAs(f.mentorA, f.orgA), proxyAs(f.dual, f.orgB), proxyAs(f.stranger, f.orgA)} {
			ids := []uuid.UUID{theirs.ID, other.ID}
			if c.Sub == f.coordB {
				ids = ids[:1]
			}
			n, err = f.rawExec(ctx, c, `DELETE FROM proxy_activities WHERE id = ANY ($1)`, ids)
			require.NoError(t, err)
			require.Zero(t, n)
		}
		_, err = f.rawExec(ctx, db.Anon(), `DELETE FROM proxy_activities`)
		require.ErrorIs(t, err, db.ErrNotPermitted)
		require.Equal(t, 2, f.count(t, `SELECT count(*) FROM proxy_activities WHERE id IN ($1, $2)`, theirs.ID, other.ID))

		require.NoError(t, f.repo.Delete(ctx, proxyAs(f.coordA2, f.orgA), theirs.ID))
		require.Zero(t, f.count(t, `SELECT count(*) FROM proxy_activities WHERE id = $1`, theirs.ID))
	})

	t.Run("PA-RLS-4 a coordinator who lost their membership can no longer delete their old row", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		a := f.create(t, ctx, f.coordA2, f.orgA, f.mentorA)
		f.d.Exec(t, `DELETE FROM org_members WHERE org_id = $1 AND user_id = $2 AND role = 'coordinator'`, f.orgA, f.coordA2)
		n, err := f.rawExec(ctx, proxyAs(f.coordA2, f.orgA), `DELETE FROM proxy_activities WHERE id = $1`, a.ID)
		require.NoError(t, err)
		require.Zero(t, n)
		// Without a WHERE clause no SELECT policy applies, only the DELETE
		// policy's own org check.
		n, err = f.rawExec(ctx, proxyAs(f.coordA2, f.orgA), `DELETE FROM proxy_activities`)
		require.NoError(t, err)
		require.Zero(t, n, "the DELETE policy itself checks the org membership")
		err = f.repo.Delete(ctx, proxyAs(f.coordA2, f.orgA), a.ID)
		requireProxyErr(t, err, db.ErrNotFound, db.ErrNotFound, "", "")
		n, err = f.rawExec(ctx, proxyAs(f.coordA2, f.orgA), `UPDATE proxy_activities SET notes = 'x' WHERE id = $1`, a.ID)
		require.NoError(t, err)
		require.Zero(t, n, "nor update it")
		require.Equal(t, 1, f.count(t, `SELECT count(*) FROM proxy_activities WHERE id = $1`, a.ID))
		// Their former colleagues still see it.
		require.Equal(t, []uuid.UUID{a.ID}, f.visible(t, ctx, proxyAs(f.coordA, f.orgA), "proxy_activities"))
	})
}

// testReportPlans proves that the repository's report and list queries are
// planned for their own org and dates on every call, never by a cached
// generic plan (which sorts a whole org's rows: docs/benchmarks.md).
func testReportPlans(t *testing.T) {
	t.Parallel()
	t.Run("PA-PLAN-1 the repository plans report and list queries per call, never with a cached generic plan", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		org := d.NewOrg(t)
		coord := d.NewMember(t, org, "coordinator")
		// One connection, so pgx's statement cache and pg_prepared_statements
		// are those of one session across all the calls.
		cfg, err := pgxpool.ParseConfig(d.URL)
		require.NoError(t, err)
		cfg.MaxConns = 1
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		require.NoError(t, err)
		defer pool.Close()
		repo := db.New(pool).ProxyActivities()
		as := db.User(coord, org)
		year := db.Period{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
		for range 8 {
			_, err := repo.BufdirReport(ctx, as, org, year)
			require.NoError(t, err)
			_, err = repo.BufdirTotals(ctx, as, org, year)
			require.NoError(t, err)
			_, err = repo.ListForOrg(ctx, as, org, year, nil, 50)
			require.NoError(t, err)
			_, err = repo.ListByMentor(ctx, as, org, coord, year, nil, 50)
			require.NoError(t, err)
		}
		// Eight runs each, past the five after which PostgreSQL may switch a
		// prepared statement to a generic plan: every run was planned for
		// its own arguments (custom_plans), none with a generic plan.
		var statements, generic, custom int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(generic_plans), 0), coalesce(min(custom_plans), 0)
			FROM pg_prepared_statements
			WHERE statement LIKE '%FROM proxy_activities%' AND statement NOT LIKE '%pg_prepared_statements%'`).Scan(&statements, &generic, &custom))
		require.Equal(t, 4, statements, "the four report and list statements, each prepared once on the session")
		require.Zero(t, generic, "no run of a report or list statement used a generic plan")
		require.GreaterOrEqual(t, custom, 8, "every run of each was planned for its arguments")
	})
}
