package conformance

import (
	"math"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
)

// proxyErrorCases prove DB-2 for the proxy feature.
func proxyErrorCases(t *testing.T) {
	t.Run("DB-2 every proxy-activity error comes back typed, with its constraint, matching the specific and the class sentinel", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		own := f.create(t, ctx, f.coordA, f.orgA, f.mentorA)
		theirs := f.create(t, ctx, f.coordA2, f.orgA, f.mentorA)
		f.d.Exec(t, `GRANT UPDATE ON public.proxy_audit_log TO service_role`) // this database only
		me := proxyAs(f.coordA, f.orgA)
		newAct := func(mentor uuid.UUID, minutes int, tmpl uuid.UUID) db.NewProxyActivity {
			return db.NewProxyActivity{AttributedMentorID: mentor, OrgID: f.orgA, ActivityType: "visit", Date: proxyDay, DurationMinutes: minutes, TemplateID: tmpl}
		}
		change := func(mentor uuid.UUID) db.ProxyActivityChange {
			return db.ProxyActivityChange{AttributedMentorID: mentor, ActivityType: "visit", Date: proxyDay, DurationMinutes: 30}
		}
		create := func(c db.Claims, in db.NewProxyActivity) func() error {
			return func() error { _, err := f.repo.Create(ctx, c, in); return err }
		}
		request := func(c db.Claims, sql string, args ...any) func() error {
			return func() error { _, err := f.rawExec(ctx, c, sql, args...); return err }
		}
		cases := []struct {
			name          string
			op            func() error
			kind, class   error
			code          string
			constr        db.Constraint
			fromDatabase  bool
			preCheckFirst bool
		}{
			{"self-attribution, repository pre-check", create(me, newAct(f.coordA, 30, uuid.Nil)),
				db.ErrSelfAttribution, db.ErrCheck, "23514", db.ConstraintProxyActivitiesNoSelfAttributionCheck, false, true},
			{"self-attribution, database CHECK", request(me, `UPDATE proxy_activities SET attributed_mentor_id = coordinator_id WHERE id = $1`, own.ID),
				db.ErrSelfAttribution, db.ErrCheck, "23514", db.ConstraintProxyActivitiesNoSelfAttributionCheck, true, false},
			{"non-positive duration", create(me, newAct(f.mentorA, 0, uuid.Nil)),
				db.ErrNonPositiveDuration, db.ErrCheck, "23514", db.ConstraintProxyActivitiesDurationMinutesCheck, true, false},
			{"mentor not in org, repository pre-check", create(me, newAct(f.mentorB, 30, uuid.Nil)),
				db.ErrMentorNotInOrg, db.ErrCheck, "23514", db.ConstraintProxyActivitiesMentorInOrgCheck, true, true},
			{"mentor not in org, database trigger", request(me, `UPDATE proxy_activities SET attributed_mentor_id = $2 WHERE id = $1`, own.ID, f.mentorB),
				db.ErrMentorNotInOrg, db.ErrCheck, "23514", db.ConstraintProxyActivitiesMentorInOrgCheck, true, false},
			{"template of another org", create(me, newAct(f.mentorA, 30, f.tmplB)),
				db.ErrTemplateOtherOrg, db.ErrForeignKey, "23503", db.ConstraintProxyActivitiesTemplateSameOrgFkey, true, false},
			{"unknown template", create(me, newAct(f.mentorA, 30, uuid.New())),
				db.ErrForeignKey, db.ErrForeignKey, "23503", db.ConstraintProxyActivitiesTemplateIDFkey, true, false},
			{"org change", request(me, `UPDATE proxy_activities SET org_id = $2 WHERE id = $1`, own.ID, f.orgB),
				db.ErrOrgChange, db.ErrCheck, "23514", db.ConstraintProxyActivitiesOrgIDImmutable, true, false},
			{"coordinator change", request(db.ServiceRole(), `UPDATE proxy_activities SET coordinator_id = $2 WHERE id = $1`, own.ID, f.coordA2),
				db.ErrCoordinatorChange, db.ErrCheck, "23514", db.ConstraintProxyActivitiesCoordinatorIDImmutable, true, false},
			{"audit log immutable", request(db.ServiceRole(), `UPDATE proxy_audit_log SET action = 'DELETE'`),
				db.ErrImmutable, db.ErrNotPermitted, "42501", db.ConstraintProxyAuditLogImmutable, true, false},
			{"not a coordinator of the org, repository pre-check", create(proxyAs(f.mentorA, f.orgA), newAct(f.mentorA2, 30, uuid.Nil)),
				db.ErrNotPermitted, db.ErrNotPermitted, "42501", notCoordinator, true, true},
			{"registering as someone else, RLS WITH CHECK (PostgreSQL names no policy)", create(me, db.NewProxyActivity{CoordinatorID: f.coordA2,
				AttributedMentorID: f.mentorA, OrgID: f.orgA, ActivityType: "visit", Date: proxyDay, DurationMinutes: 30}),
				db.ErrNotPermitted, db.ErrNotPermitted, "42501", "", true, false},
			{"updating another coordinator's activity", func() error { _, err := f.repo.Update(ctx, me, theirs.ID, change(f.mentorA2)); return err },
				db.ErrNotPermitted, db.ErrNotPermitted, "42501", db.PolicyProxyUpdateOwn, false, true},
			{"deleting another coordinator's activity", func() error { return f.repo.Delete(ctx, me, theirs.ID) },
				db.ErrNotPermitted, db.ErrNotPermitted, "42501", db.PolicyProxyDeleteOwn, false, false},
			{"reading another org's activity", func() error { _, err := f.repo.Get(ctx, proxyAs(f.coordB, f.orgB), own.ID); return err },
				db.ErrNotFound, db.ErrNotFound, "", "", false, false},
			{"no grant (anon)", func() error { _, err := f.repo.Get(ctx, db.Anon(), own.ID); return err },
				db.ErrNotPermitted, db.ErrNotPermitted, "42501", "", true, false},
			{"duration out of integer range", create(me, newAct(f.mentorA, math.MaxInt32+1, uuid.Nil)),
				db.ErrInvalidInput, db.ErrInvalidInput, "22003", "", false, true},
			{"template with a bad recurrence rule", func() error {
				_, err := f.d.App.Templates().Create(ctx, me, db.NewRecurringActivityTemplate{OrgID: f.orgA, ActivityType: "visit", Title: "t", RecurrenceRule: "weekly"})
				return err
			}, db.ErrCheck, db.ErrCheck, "23514", db.ConstraintRecurringActivityTemplatesRecurrenceRuleCheck, true, false},
			{"template in another org", func() error {
				_, err := f.d.App.Templates().Create(ctx, me, db.NewRecurringActivityTemplate{OrgID: f.orgB, ActivityType: "visit", Title: "t"})
				return err
			}, db.ErrNotPermitted, db.ErrNotPermitted, "42501", "", true, false},
		}
		touches := f.installTouchProbe(t)
		for _, c := range cases {
			t.Log(c.name)
			before := touches()
			err := c.op()
			requireProxyErr(t, err, c.kind, c.class, c.code, c.constr)
			require.Equal(t, c.fromDatabase, fromDatabase(err), "%s: from the database", c.name)
			if c.preCheckFirst {
				require.Equal(t, before, touches(), "%s: refused before the table", c.name)
				// From the database and before the table: the pre-check
				// function raised it.
				require.Equal(t, c.fromDatabase, fromPrecheck(err), "%s: raised by the pre-check function", c.name)
			}
		}
	})

	t.Run("DB-2 the repository's constraint and policy names are the catalog's", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		constraints := []db.Constraint{
			db.ConstraintProxyActivitiesNoSelfAttributionCheck, db.ConstraintProxyActivitiesDurationMinutesCheck, db.ConstraintProxyActivitiesMentorInOrgCheck, db.ConstraintProxyActivitiesTemplateSameOrgFkey,
			db.ConstraintProxyActivitiesTemplateIDFkey, db.ConstraintProxyActivitiesCoordinatorIDFkey, db.ConstraintProxyActivitiesAttributedMentorIDFkey,
			db.ConstraintProxyActivitiesOrgIDFkey, db.ConstraintProxyAuditLogActionCheck, db.ConstraintRecurringActivityTemplatesOrgIDFkey,
			db.ConstraintRecurringActivityTemplatesCreatedByFkey, db.ConstraintRecurringActivityTemplatesActivityTypeCheck, db.ConstraintRecurringActivityTemplatesTitleCheck,
			db.ConstraintRecurringActivityTemplatesDefaultDurationMinutesCheck, db.ConstraintRecurringActivityTemplatesRecurrenceRuleCheck, db.ConstraintRecurringActivityTemplatesIDOrgIDKey,
			db.ConstraintProxyActivitiesActivityTypeCheck, db.ConstraintProxyActivitiesActivityTypeLengthCheck, db.ConstraintProxyActivitiesNotesLengthCheck, db.ConstraintProxyActivitiesDateWindowCheck,
			db.ConstraintProxyActivitiesDurationMinutesMaxCheck, db.ConstraintRecurringActivityTemplatesActivityTypeLengthCheck,
			db.ConstraintRecurringActivityTemplatesTitleLengthCheck, db.ConstraintRecurringActivityTemplatesRecurrenceRuleLengthCheck, db.ConstraintRecurringActivityTemplatesDefaultDurationMinutesMaxCheck,
		}
		triggers := []db.Constraint{db.ConstraintProxyActivitiesMentorInOrgCheck, db.ConstraintProxyActivitiesOrgIDImmutable, db.ConstraintProxyActivitiesCoordinatorIDImmutable, db.ConstraintProxyAuditLogImmutable}
		policies := []db.Constraint{db.PolicyProxyInsertOwn, db.PolicyProxyUpdateOwn, db.PolicyProxyDeleteOwn}
		tables := `('public.proxy_activities'::regclass, 'public.proxy_audit_log'::regclass, 'public.recurring_activity_templates'::regclass)`
		for _, q := range []struct {
			sql   string
			names []db.Constraint
		}{
			{`SELECT count(*) FROM pg_constraint WHERE conname = $1 AND conrelid IN ` + tables, constraints},
			{`SELECT count(*) FROM pg_trigger WHERE tgname = $1 AND NOT tgisinternal AND tgrelid IN ` + tables, triggers},
			{`SELECT count(*) FROM pg_policy WHERE polname = $1 AND polrelid = 'public.proxy_activities'::regclass`, policies},
			// Both membership checks are one constraint trigger, named after
			// the mentor check, whose function raises both names.
			{`SELECT count(*) FROM pg_trigger AS tg JOIN pg_proc AS p ON p.oid = tg.tgfoid
			  WHERE tg.tgname = '` + string(db.ConstraintProxyActivitiesMentorInOrgCheck) + `' AND tg.tgrelid = 'public.proxy_activities'::regclass
			    AND strpos(p.prosrc, 'CONSTRAINT = ''' || $1 || '''') > 0`, []db.Constraint{db.ConstraintProxyActivitiesMentorInOrgCheck, db.ConstraintProxyActivitiesCoordinatorInOrgCheck}},
		} {
			for _, n := range q.names {
				var c int
				require.NoError(t, d.Pool.QueryRow(ctx, q.sql, n).Scan(&c))
				require.Equal(t, 1, c, n)
			}
		}
		// Every constraint of the three tables is one the package names.
		known := map[db.Constraint]bool{}
		for _, n := range append(constraints, "proxy_activities_pkey", "proxy_audit_log_pkey", "recurring_activity_templates_pkey",
			"proxy_activities_no_self_attribution_check", "proxy_audit_log_action_check") {
			known[n] = true
		}
		rows, err := d.Pool.Query(ctx, `SELECT conname FROM pg_constraint WHERE conrelid IN `+tables)
		require.NoError(t, err)
		defer rows.Close()
		for rows.Next() {
			var n string
			require.NoError(t, rows.Scan(&n))
			require.True(t, known[db.Constraint(n)], "constraint %s has no name in package db", n)
		}
		require.NoError(t, rows.Err())
	})
}
