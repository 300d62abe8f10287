package conformance

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
)

// proxyIntegrityCases prove the data-integrity rules, in the database and in
// the repository.
func proxyIntegrityCases(t *testing.T) {
	t.Run("PA-CHK-1 self-attribution rejected on INSERT through a request, as service_role, and by the repository", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		touches := f.installTouchProbe(t)
		_, err := f.rawInsert(ctx, proxyAs(f.coordMentorA, f.orgA), f.coordMentorA, f.coordMentorA, f.orgA, 30, nil)
		requireProxyErr(t, err, db.ErrSelfAttribution, db.ErrCheck, "23514", db.ConstraintProxyActivitiesNoSelfAttributionCheck)
		require.True(t, fromDatabase(err))
		_, err = f.rawInsert(ctx, db.ServiceRole(), f.mentorA, f.mentorA, f.orgA, 30, nil)
		requireProxyErr(t, err, db.ErrSelfAttribution, db.ErrCheck, "23514", db.ConstraintProxyActivitiesNoSelfAttributionCheck)
		require.True(t, fromDatabase(err), "service_role bypasses RLS, not the CHECK")
		require.EqualValues(t, 2, touches())

		// The repository refuses before the database, with the same name.
		for _, c := range []db.Claims{proxyAs(f.coordMentorA, f.orgA), db.ServiceRole()} {
			_, err = f.repo.Create(ctx, c, db.NewProxyActivity{CoordinatorID: f.coordMentorA,
				AttributedMentorID: f.coordMentorA, OrgID: f.orgA, ActivityType: "visit", Date: proxyDay, DurationMinutes: 30})
			requireProxyErr(t, err, db.ErrSelfAttribution, db.ErrCheck, "23514", db.ConstraintProxyActivitiesNoSelfAttributionCheck)
			_, err = f.repo.CreateMany(ctx, c, f.orgA, f.coordMentorA, []db.NewProxyActivity{
				{AttributedMentorID: f.mentorA, ActivityType: "visit", Date: proxyDay, DurationMinutes: 30},
				{AttributedMentorID: f.coordMentorA, ActivityType: "visit", Date: proxyDay, DurationMinutes: 30},
			})
			requireProxyErr(t, err, db.ErrSelfAttribution, db.ErrCheck, "23514", db.ConstraintProxyActivitiesNoSelfAttributionCheck)
		}
		require.EqualValues(t, 2, touches(), "the repository's refusals never reached the table")
		require.Zero(t, f.count(t, `SELECT count(*) FROM proxy_activities`))
	})

	t.Run("PA-CHK-1 self-attribution rejected on UPDATE through a request, as service_role, and by the repository", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		a := f.create(t, ctx, f.coordMentorA, f.orgA, f.mentorA)
		before := f.snapshot(t, a.ID)
		_, err := f.rawExec(ctx, proxyAs(f.coordMentorA, f.orgA), `UPDATE proxy_activities SET attributed_mentor_id = coordinator_id WHERE id = $1`, a.ID)
		requireProxyErr(t, err, db.ErrSelfAttribution, db.ErrCheck, "23514", db.ConstraintProxyActivitiesNoSelfAttributionCheck)
		require.True(t, fromDatabase(err))
		_, err = f.rawExec(ctx, db.ServiceRole(), `UPDATE proxy_activities SET attributed_mentor_id = coordinator_id WHERE id = $1`, a.ID)
		requireProxyErr(t, err, db.ErrSelfAttribution, db.ErrCheck, "23514", db.ConstraintProxyActivitiesNoSelfAttributionCheck)
		_, err = f.repo.Update(ctx, proxyAs(f.coordMentorA, f.orgA), a.ID, db.ProxyActivityChange{
			AttributedMentorID: f.coordMentorA, ActivityType: "visit", Date: proxyDay, DurationMinutes: 30})
		requireProxyErr(t, err, db.ErrSelfAttribution, db.ErrCheck, "23514", db.ConstraintProxyActivitiesNoSelfAttributionCheck)
		require.Equal(t, before, f.snapshot(t, a.ID))
	})

	t.Run("PA-CHK-2 duration_minutes of 0 and negative rejected on INSERT and UPDATE", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		a := f.create(t, ctx, f.coordA, f.orgA, f.mentorA)
		before := f.snapshot(t, a.ID)
		for _, m := range []int{0, -1, -45} {
			_, err := f.rawInsert(ctx, proxyAs(f.coordA, f.orgA), f.coordA, f.mentorA, f.orgA, m, nil)
			requireProxyErr(t, err, db.ErrNonPositiveDuration, db.ErrCheck, "23514", db.ConstraintProxyActivitiesDurationMinutesCheck)
			_, err = f.repo.Create(ctx, proxyAs(f.coordA, f.orgA), db.NewProxyActivity{
				AttributedMentorID: f.mentorA, OrgID: f.orgA, ActivityType: "visit", Date: proxyDay, DurationMinutes: m})
			requireProxyErr(t, err, db.ErrNonPositiveDuration, db.ErrCheck, "23514", db.ConstraintProxyActivitiesDurationMinutesCheck)
			_, err = f.rawExec(ctx, proxyAs(f.coordA, f.orgA), `UPDATE proxy_activities SET duration_minutes = $2 WHERE id = $1`, a.ID, m)
			requireProxyErr(t, err, db.ErrNonPositiveDuration, db.ErrCheck, "23514", db.ConstraintProxyActivitiesDurationMinutesCheck)
			_, err = f.repo.Update(ctx, proxyAs(f.coordA, f.orgA), a.ID, db.ProxyActivityChange{
				AttributedMentorID: f.mentorA, ActivityType: "visit", Date: proxyDay, DurationMinutes: m})
			requireProxyErr(t, err, db.ErrNonPositiveDuration, db.ErrCheck, "23514", db.ConstraintProxyActivitiesDurationMinutesCheck)
		}
		require.Equal(t, before, f.snapshot(t, a.ID))
		require.Equal(t, 1, f.count(t, `SELECT count(*) FROM proxy_activities`))
		// One minute is the smallest duration accepted.
		_, err := f.rawInsert(ctx, proxyAs(f.coordA, f.orgA), f.coordA, f.mentorA, f.orgA, 1, nil)
		require.NoError(t, err)
	})

	// The input bounds added a maximum to the default duration; this is the
	// original CHECK's half, which that maximum admits.
	t.Run("PA-CHK-2 DB-2 a template's default duration of 0 or less is refused on INSERT and UPDATE, typed as ErrNonPositiveDuration with recurring_activity_templates_default_duration_minutes_check", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		me := proxyAs(f.coordA, f.orgA)
		refused := func(err error) {
			t.Helper()
			requireProxyErr(t, err, db.ErrNonPositiveDuration, db.ErrCheck, "23514", db.ConstraintRecurringActivityTemplatesDefaultDurationMinutesCheck)
		}
		templates := func() int { return f.count(t, `SELECT count(*) FROM recurring_activity_templates`) }
		before := templates()
		for _, m := range []int{0, -1, -45} {
			_, err := f.rawExec(ctx, me, `INSERT INTO recurring_activity_templates (org_id, created_by, activity_type, title, default_duration_minutes)
				VALUES ($1, $2, 'visit', 'visits', $3)`, f.orgA, f.coordA, m)
			refused(err)
			_, err = f.rawExec(ctx, me, `UPDATE recurring_activity_templates SET default_duration_minutes = $2 WHERE id = $1`, f.tmplA, m)
			refused(err)
			if m != 0 { // to the repository, 0 means no default duration
				_, err = f.d.App.Templates().Create(ctx, me, db.NewRecurringActivityTemplate{OrgID: f.orgA, ActivityType: "visit", Title: "visits", DefaultDurationMinutes: m})
				refused(err)
			}
		}
		require.Equal(t, before, templates())
		var minutes *int
		f.d.QueryRow(t, `SELECT default_duration_minutes FROM recurring_activity_templates WHERE id = $1`, f.tmplA).Scan(t, &minutes)
		require.Nil(t, minutes, "the refused UPDATEs left the template without a default duration")
		// One minute is the smallest default accepted.
		n, err := f.rawExec(ctx, me, `UPDATE recurring_activity_templates SET default_duration_minutes = 1 WHERE id = $1`, f.tmplA)
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
	})

	t.Run("PA-FK-1 deleting a user referenced as coordinator or as attributed mentor is restricted; an unknown org is refused", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		// Org C has no chapters or templates, so only proxy_activities holds it.
		orgC := f.d.NewOrg(t)
		coordC, mentorC := f.d.NewMember(t, orgC, "coordinator"), f.d.NewMember(t, orgC, "peer_mentor")
		a := f.create(t, ctx, coordC, orgC, mentorC)
		_, err := f.d.Pool.Exec(ctx, `DELETE FROM auth.users WHERE id = $1`, coordC)
		requireOwnerErr(t, err, "23503", db.ConstraintProxyActivitiesCoordinatorIDFkey)
		_, err = f.d.Pool.Exec(ctx, `DELETE FROM auth.users WHERE id = $1`, mentorC)
		requireOwnerErr(t, err, "23503", db.ConstraintProxyActivitiesAttributedMentorIDFkey)
		_, err = f.d.Pool.Exec(ctx, `DELETE FROM organizations WHERE id = $1`, orgC)
		requireOwnerErr(t, err, "23503", db.ConstraintProxyActivitiesOrgIDFkey)
		// RESTRICT, not NO ACTION: not even deferring the check lets it pass.
		tx, err := f.d.Pool.Begin(ctx)
		require.NoError(t, err)
		defer tx.Rollback(ctx) // releases the connection if the test fails
		_, err = tx.Exec(ctx, `SET CONSTRAINTS ALL DEFERRED`)
		require.NoError(t, err)
		_, err = tx.Exec(ctx, `DELETE FROM auth.users WHERE id = $1`, mentorC)
		requireOwnerErr(t, err, "23503", db.ConstraintProxyActivitiesAttributedMentorIDFkey)
		require.NoError(t, tx.Rollback(ctx))
		// Nothing cascaded: the people, their memberships and the activity stay.
		require.Equal(t, 2, f.count(t, `SELECT count(*) FROM auth.users WHERE id IN ($1, $2)`, coordC, mentorC))
		require.Equal(t, 2, f.count(t, `SELECT count(*) FROM org_members WHERE org_id = $1`, orgC))
		require.Equal(t, 1, f.count(t, `SELECT count(*) FROM proxy_activities WHERE id = $1`, a.ID))
		var confdel string
		require.NoError(t, f.d.Pool.QueryRow(ctx, `SELECT string_agg(conname || '=' || confdeltype::text || '>' || confrelid::regclass::text, ',' ORDER BY conname)
			FROM pg_constraint WHERE conrelid = 'public.proxy_activities'::regclass AND contype = 'f'
			AND conname IN ($1, $2, $3)`, db.ConstraintProxyActivitiesCoordinatorIDFkey, db.ConstraintProxyActivitiesAttributedMentorIDFkey, db.ConstraintProxyActivitiesOrgIDFkey).Scan(&confdel))
		require.Equal(t, "proxy_activities_attributed_mentor_id_fkey=r>auth.users,proxy_activities_coordinator_id_fkey=r>auth.users,proxy_activities_org_id_fkey=r>organizations", confdel)

		// An activity for an org that does not exist (service_role: past RLS).
		_, err = f.rawInsert(ctx, db.ServiceRole(), coordC, mentorC, uuid.New(), 30, nil)
		requireProxyErr(t, err, db.ErrForeignKey, db.ErrForeignKey, "23503", db.ConstraintProxyActivitiesOrgIDFkey)
		// And for people who do not exist.
		_, err = f.rawInsert(ctx, db.ServiceRole(), uuid.New(), mentorC, orgC, 30, nil)
		requireProxyErr(t, err, db.ErrForeignKey, db.ErrForeignKey, "23503", db.ConstraintProxyActivitiesCoordinatorIDFkey)
		_, err = f.rawInsert(ctx, db.ServiceRole(), coordC, uuid.New(), orgC, 30, nil)
		requireProxyErr(t, err, db.ErrForeignKey, db.ErrForeignKey, "23503", db.ConstraintProxyActivitiesAttributedMentorIDFkey)

		// Once the activity is gone the user may go.
		f.d.Exec(t, `DELETE FROM proxy_activities WHERE id = $1`, a.ID)
		f.d.Exec(t, `DELETE FROM auth.users WHERE id = $1`, mentorC)
	})

	t.Run("PA-ORG-1 the database refuses a mentor who is not a peer_mentor of the org, whoever writes", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		touches := f.installTouchProbe(t)
		bad := map[string]uuid.UUID{
			"a user with no membership":              f.stranger,
			"a coordinator-only member of the org":   f.coordA2,
			"a peer mentor of another org":           f.mentorB,
			"a coordinator here, mentor elsewhere":   f.dual,
			"a user id that does not exist (no row)": uuid.New(),
		}
		n := int64(0)
		for what, mentor := range bad {
			for _, c := range []db.Claims{proxyAs(f.coordA, f.orgA), db.ServiceRole()} {
				_, err := f.rawInsert(ctx, c, f.coordA, mentor, f.orgA, 30, nil)
				n++
				if what == "a user id that does not exist (no row)" {
					requireProxyErr(t, err, db.ErrForeignKey, db.ErrForeignKey, "23503", db.ConstraintProxyActivitiesAttributedMentorIDFkey)
					continue
				}
				e := requireProxyErr(t, err, db.ErrMentorNotInOrg, db.ErrCheck, "23514", db.ConstraintProxyActivitiesMentorInOrgCheck)
				require.True(t, fromDatabase(err), what)
				require.Contains(t, e.Message, "is not a peer_mentor", what)
			}
		}
		require.Equal(t, n, touches(), "each was the database's decision")
		require.Zero(t, f.count(t, `SELECT count(*) FROM proxy_activities`))
		require.Zero(t, f.count(t, `SELECT count(*) FROM proxy_audit_log`))

		// On UPDATE too, when the mentor changes.
		a := f.create(t, ctx, f.coordA, f.orgA, f.mentorA)
		_, err := f.rawExec(ctx, proxyAs(f.coordA, f.orgA), `UPDATE proxy_activities SET attributed_mentor_id = $2 WHERE id = $1`, a.ID, f.mentorB)
		requireProxyErr(t, err, db.ErrMentorNotInOrg, db.ErrCheck, "23514", db.ConstraintProxyActivitiesMentorInOrgCheck)
		// A mentor who leaves the org keeps their history, and it stays editable.
		f.d.Exec(t, `DELETE FROM org_members WHERE org_id = $1 AND user_id = $2`, f.orgA, f.mentorA)
		_, err = f.rawExec(ctx, proxyAs(f.coordA, f.orgA), `UPDATE proxy_activities SET notes = 'edited' WHERE id = $1`, a.ID)
		require.NoError(t, err)
		_, err = f.rawInsert(ctx, proxyAs(f.coordA, f.orgA), f.coordA, f.mentorA, f.orgA, 30, nil)
		requireProxyErr(t, err, db.ErrMentorNotInOrg, db.ErrCheck, "23514", db.ConstraintProxyActivitiesMentorInOrgCheck)
		// The check is a constraint trigger named like the constraint.
		require.Equal(t, 1, f.count(t, `SELECT count(*) FROM pg_constraint c JOIN pg_trigger g ON g.tgconstraint = c.oid
			WHERE c.conrelid = 'public.proxy_activities'::regclass AND c.conname = $1 AND g.tgname = $1 AND c.contype = 't'`, db.ConstraintProxyActivitiesMentorInOrgCheck))
	})

	t.Run("PA-ORG-1 the repository pre-check returns ErrMentorNotInOrg before touching the table", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		a := f.create(t, ctx, f.coordA, f.orgA, f.mentorA)
		touches := f.installTouchProbe(t)
		before, audit := f.snapshot(t, a.ID), f.count(t, `SELECT count(*) FROM proxy_audit_log`)
		for _, mentor := range []uuid.UUID{f.stranger, f.coordA2, f.mentorB, f.dual} {
			for _, c := range []db.Claims{proxyAs(f.coordA, f.orgA), db.ServiceRole()} {
				_, err := f.repo.Create(ctx, c, db.NewProxyActivity{CoordinatorID: f.coordA,
					AttributedMentorID: mentor, OrgID: f.orgA, ActivityType: "visit", Date: proxyDay, DurationMinutes: 30})
				e := requireProxyErr(t, err, db.ErrMentorNotInOrg, db.ErrCheck, "23514", db.ConstraintProxyActivitiesMentorInOrgCheck)
				require.True(t, fromPrecheck(err), "the pre-check function raised it: %v", err)
				require.Contains(t, e.Message, mentor.String())
				_, err = f.repo.CreateMany(ctx, c, f.orgA, f.coordA, []db.NewProxyActivity{
					{AttributedMentorID: f.mentorA, ActivityType: "visit", Date: proxyDay, DurationMinutes: 30},
					{AttributedMentorID: mentor, ActivityType: "visit", Date: proxyDay, DurationMinutes: 30},
				})
				e = requireProxyErr(t, err, db.ErrMentorNotInOrg, db.ErrCheck, "23514", db.ConstraintProxyActivitiesMentorInOrgCheck)
				require.True(t, fromPrecheck(err), "the pre-check function raised it: %v", err)
				require.Contains(t, e.Message, mentor.String())
				require.NotContains(t, e.Message, f.mentorA.String(), "only the offending mentor is named")
				_, err = f.repo.Update(ctx, c, a.ID, db.ProxyActivityChange{
					AttributedMentorID: mentor, ActivityType: "visit", Date: proxyDay, DurationMinutes: 30})
				requireProxyErr(t, err, db.ErrMentorNotInOrg, db.ErrCheck, "23514", db.ConstraintProxyActivitiesMentorInOrgCheck)
				require.True(t, fromPrecheck(err), "the pre-check function raised it: %v", err)
			}
		}
		require.Zero(t, touches(), "no INSERT or UPDATE statement reached proxy_activities")
		require.Equal(t, before, f.snapshot(t, a.ID))
		require.Equal(t, 1, f.count(t, `SELECT count(*) FROM proxy_activities`))
		require.Equal(t, audit, f.count(t, `SELECT count(*) FROM proxy_audit_log`))

		// A caller who is no coordinator of the org learns nothing about its
		// roster: the pre-check says not permitted, as RLS would.
		_, err := f.repo.Create(ctx, proxyAs(f.coordB, f.orgA), db.NewProxyActivity{
			AttributedMentorID: f.stranger, OrgID: f.orgA, ActivityType: "visit", Date: proxyDay, DurationMinutes: 30})
		requireProxyErr(t, err, db.ErrNotPermitted, db.ErrNotPermitted, "42501", notCoordinator)
		require.True(t, fromPrecheck(err), "the pre-check function raised it: %v", err)
		require.Zero(t, touches())
	})

	t.Run("PA-ORG-2 a template of another org is refused on INSERT and UPDATE", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		a := f.create(t, ctx, f.coordA, f.orgA, f.mentorA)
		before := f.snapshot(t, a.ID)
		tmplB := f.tmplB
		_, err := f.rawInsert(ctx, proxyAs(f.coordA, f.orgA), f.coordA, f.mentorA, f.orgA, 30, &tmplB)
		requireProxyErr(t, err, db.ErrTemplateOtherOrg, db.ErrForeignKey, "23503", db.ConstraintProxyActivitiesTemplateSameOrgFkey)
		_, err = f.rawInsert(ctx, db.ServiceRole(), f.coordA, f.mentorA, f.orgA, 30, &tmplB)
		requireProxyErr(t, err, db.ErrTemplateOtherOrg, db.ErrForeignKey, "23503", db.ConstraintProxyActivitiesTemplateSameOrgFkey)
		_, err = f.repo.Create(ctx, proxyAs(f.coordA, f.orgA), db.NewProxyActivity{
			AttributedMentorID: f.mentorA, OrgID: f.orgA, ActivityType: "visit", Date: proxyDay, DurationMinutes: 30, TemplateID: f.tmplB})
		requireProxyErr(t, err, db.ErrTemplateOtherOrg, db.ErrForeignKey, "23503", db.ConstraintProxyActivitiesTemplateSameOrgFkey)
		_, err = f.repo.CreateMany(ctx, proxyAs(f.coordA, f.orgA), f.orgA, uuid.Nil, []db.NewProxyActivity{
			{AttributedMentorID: f.mentorA, ActivityType: "visit", Date: proxyDay, DurationMinutes: 30, TemplateID: f.tmplA},
			{AttributedMentorID: f.mentorA, ActivityType: "visit", Date: proxyDay, DurationMinutes: 30, TemplateID: f.tmplB},
		})
		requireProxyErr(t, err, db.ErrTemplateOtherOrg, db.ErrForeignKey, "23503", db.ConstraintProxyActivitiesTemplateSameOrgFkey)

		_, err = f.rawExec(ctx, proxyAs(f.coordA, f.orgA), `UPDATE proxy_activities SET template_id = $2 WHERE id = $1`, a.ID, f.tmplB)
		requireProxyErr(t, err, db.ErrTemplateOtherOrg, db.ErrForeignKey, "23503", db.ConstraintProxyActivitiesTemplateSameOrgFkey)
		_, err = f.repo.Update(ctx, proxyAs(f.coordA, f.orgA), a.ID, db.ProxyActivityChange{
			AttributedMentorID: f.mentorA, ActivityType: "visit", Date: proxyDay, DurationMinutes: 30, TemplateID: f.tmplB})
		requireProxyErr(t, err, db.ErrTemplateOtherOrg, db.ErrForeignKey, "23503", db.ConstraintProxyActivitiesTemplateSameOrgFkey)
		require.Equal(t, before, f.snapshot(t, a.ID))
		require.Equal(t, 1, f.count(t, `SELECT count(*) FROM proxy_activities`))

		// An unknown template is a plain foreign-key error.
		_, err = f.repo.Create(ctx, proxyAs(f.coordA, f.orgA), db.NewProxyActivity{
			AttributedMentorID: f.mentorA, OrgID: f.orgA, ActivityType: "visit", Date: proxyDay, DurationMinutes: 30, TemplateID: uuid.New()})
		requireProxyErr(t, err, db.ErrForeignKey, db.ErrForeignKey, "23503", db.ConstraintProxyActivitiesTemplateIDFkey)

		// A referenced template cannot be moved to another org either.
		_, err = f.repo.Update(ctx, proxyAs(f.coordA, f.orgA), a.ID, db.ProxyActivityChange{
			AttributedMentorID: f.mentorA, ActivityType: "visit", Date: proxyDay, DurationMinutes: 30, TemplateID: f.tmplA})
		require.NoError(t, err)
		_, err = f.rawExec(ctx, db.ServiceRole(), `UPDATE recurring_activity_templates SET org_id = $2 WHERE id = $1`, f.tmplA, f.orgB)
		requireProxyErr(t, err, db.ErrTemplateOtherOrg, db.ErrForeignKey, "23503", db.ConstraintProxyActivitiesTemplateSameOrgFkey)
	})

	t.Run("PA-TRG-1 updated_at changes on every UPDATE, two in one transaction included, and created_at never", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		a := f.create(t, ctx, f.coordA, f.orgA, f.mentorA)
		require.Equal(t, a.CreatedAt, a.UpdatedAt)
		last := a.UpdatedAt
		read := func() (created, updated time.Time) {
			f.d.QueryRow(t, `SELECT created_at, updated_at FROM proxy_activities WHERE id = $1`, a.ID).Scan(t, &created, &updated)
			return
		}
		// Through the repository, in separate requests.
		for i := range 2 {
			got, err := f.repo.Update(ctx, proxyAs(f.coordA, f.orgA), a.ID, db.ProxyActivityChange{
				AttributedMentorID: f.mentorA, ActivityType: "visit", Date: proxyDay, DurationMinutes: 30 + i})
			require.NoError(t, err)
			require.True(t, got.UpdatedAt.After(last), "update %d: %v not after %v", i, got.UpdatedAt, last)
			require.Equal(t, a.CreatedAt, got.CreatedAt)
			last = got.UpdatedAt
		}
		// Two updates in one request (one transaction, one now()), the second
		// a no-op write, and an attempt to set the timestamps by hand.
		var stamps []time.Time
		require.NoError(t, f.d.As(ctx, proxyAs(f.coordA, f.orgA), func(tx pgx.Tx) error {
			for _, q := range []string{
				`UPDATE proxy_activities SET notes = 'x' WHERE id = $1 RETURNING updated_at`,
				`UPDATE proxy_activities SET notes = notes WHERE id = $1 RETURNING updated_at`,
				`UPDATE proxy_activities SET updated_at = TIMESTAMPTZ '2000-01-01', created_at = TIMESTAMPTZ '2000-01-01' WHERE id = $1 RETURNING updated_at`,
			} {
				var at time.Time
				if err := tx.QueryRow(ctx, q, a.ID).Scan(&at); err != nil {
					return err
				}
				stamps = append(stamps, at)
			}
			return nil
		}))
		for i, at := range stamps {
			require.True(t, at.After(last), "update %d in one transaction: %v not after %v", i, at, last)
			last = at
		}
		created, updated := read()
		require.Equal(t, a.CreatedAt, created, "created_at cannot be rewritten")
		require.Equal(t, last, updated)
		// service_role too (the trigger is for every role).
		_, err := f.rawExec(ctx, db.ServiceRole(), `UPDATE proxy_activities SET notes = 'svc' WHERE id = $1`, a.ID)
		require.NoError(t, err)
		_, updated = read()
		require.True(t, updated.After(last))
		require.Equal(t, 1, f.count(t, `SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.proxy_activities'::regclass
			AND tgname = 'proxy_activities_set_timestamps' AND tgenabled = 'O' AND (tgtype & (1 | 2 | 16)) = (1 | 2 | 16)`), "a BEFORE UPDATE row trigger")
	})
}
