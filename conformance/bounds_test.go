package conformance

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
)

// testBounds proves the input bounds (PA-IN-1, PS-IN-1) and the
// coordinator's membership (PA-ORG-3) in the database, whoever writes: every
// bound is tried at its limit (accepted) and one past it (refused with its
// typed error, nothing written), through a request as a coordinator and as
// service_role. The repositories' pre-checks are proved in the repository
// suites.
func testBounds(t *testing.T) {
	t.Parallel()

	t.Run("PA-IN-1 activity texts, date window and duration: accepted at each limit, refused past it, as a coordinator and as service_role", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		first, last := activityDateWindow(t, ctx, f.d)
		dayBefore, dayAfter := first.AddDate(0, 0, -1), last.AddDate(0, 0, 1)
		ymd := func(d time.Time) string { return d.Format(time.DateOnly) }
		type row struct {
			typ, date string
			minutes   int
			notes     *string
		}
		ok := row{"visit", ymd(proxyDay), 30, nil}
		with := func(mod func(*row)) row { r := ok; mod(&r); return r }
		notes := func(s string) func(*row) { return func(r *row) { r.notes = &s } }
		cases := []struct {
			name       string
			accept     row
			refuse     []row
			kind       error
			constraint db.Constraint
		}{
			{"activity_type length", with(func(r *row) { r.typ = strings.Repeat("å", db.MaxActivityTypeLength) }),
				[]row{with(func(r *row) { r.typ = strings.Repeat("a", db.MaxActivityTypeLength+1) })},
				db.ErrTooLong, db.ConstraintProxyActivitiesActivityTypeLengthCheck},
			{"blank activity_type", with(func(r *row) { r.typ = " x " }),
				[]row{with(func(r *row) { r.typ = "" }), with(func(r *row) { r.typ = "   " })},
				db.ErrBlankActivityType, db.ConstraintProxyActivitiesActivityTypeCheck},
			{"notes length (characters, not bytes)", with(notes(strings.Repeat("ø", db.MaxNotesLength))),
				[]row{with(notes(strings.Repeat("o", db.MaxNotesLength+1)))},
				db.ErrTooLong, db.ConstraintProxyActivitiesNotesLengthCheck},
			{"earliest date", with(func(r *row) { r.date = ymd(first) }),
				[]row{with(func(r *row) { r.date = ymd(dayBefore) }), with(func(r *row) { r.date = "-infinity" }),
					with(func(r *row) { r.date = "0202-05-01" }), with(func(r *row) { r.date = "4000-01-01 BC" })},
				db.ErrDateOutOfRange, db.ConstraintProxyActivitiesDateWindowCheck},
			{"latest date (a year after today, UTC)", with(func(r *row) { r.date = ymd(last) }),
				[]row{with(func(r *row) { r.date = ymd(dayAfter) }), with(func(r *row) { r.date = "infinity" })},
				db.ErrDateOutOfRange, db.ConstraintProxyActivitiesDateWindowCheck},
			{"duration", with(func(r *row) { r.minutes = db.MaxDurationMinutes }),
				[]row{with(func(r *row) { r.minutes = db.MaxDurationMinutes + 1 }), with(func(r *row) { r.minutes = 4000 * 365 * 24 * 60 })},
				db.ErrDurationTooLong, db.ConstraintProxyActivitiesDurationMinutesMaxCheck},
		}
		for _, who := range []struct {
			name   string
			claims db.Claims
		}{{"coordinator", proxyAs(f.coordA, f.orgA)}, {"service_role", db.ServiceRole()}} {
			for _, c := range cases {
				insert := func(r row) (uuid.UUID, error) {
					var id uuid.UUID
					err := f.d.As(ctx, who.claims, func(tx pgx.Tx) error {
						return tx.QueryRow(ctx, `INSERT INTO proxy_activities
							(coordinator_id, attributed_mentor_id, org_id, activity_type, date, duration_minutes, notes)
							VALUES ($1, $2, $3, $4, $5::date, $6, $7) RETURNING id`,
							f.coordA, f.mentorA, f.orgA, r.typ, r.date, r.minutes, r.notes).Scan(&id)
					})
					return id, err
				}
				update := func(id uuid.UUID, r row) error {
					_, err := f.rawExec(ctx, who.claims, `UPDATE proxy_activities
						SET activity_type = $2, date = $3::date, duration_minutes = $4, notes = $5 WHERE id = $1`,
						id, r.typ, r.date, r.minutes, r.notes)
					return err
				}
				id, err := insert(c.accept)
				require.NoError(t, err, "%s: %s at the limit is accepted on INSERT", who.name, c.name)
				require.NoError(t, update(id, c.accept), "%s: %s at the limit is accepted on UPDATE", who.name, c.name)
				for _, r := range c.refuse {
					before := f.count(t, `SELECT count(*) FROM proxy_activities`) + f.count(t, `SELECT count(*) FROM proxy_audit_log`)
					_, err := insert(r)
					requireProxyErr(t, err, c.kind, db.ErrCheck, "23514", c.constraint)
					require.True(t, fromDatabase(err), "the database refused it")
					requireProxyErr(t, update(id, r), c.kind, db.ErrCheck, "23514", c.constraint)
					after := f.count(t, `SELECT count(*) FROM proxy_activities`) + f.count(t, `SELECT count(*) FROM proxy_audit_log`)
					require.Equal(t, before, after, "%s: a refused %s writes nothing", who.name, c.name)
				}
				require.Equal(t, 1, f.count(t, `SELECT count(*) FROM proxy_activities WHERE id = $1 AND duration_minutes = $2`, id, c.accept.minutes),
					"%s: the refused UPDATEs left the row as it was", who.name)
			}
		}
	})

	t.Run("PA-IN-1 template texts and default duration: accepted at each limit, refused past it, as a coordinator and as service_role", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		type tmpl struct {
			typ, title, rule string
			minutes          int
		}
		ok := tmpl{"visit", "weekly visit", "FREQ=WEEKLY;BYDAY=TU", 60}
		with := func(mod func(*tmpl)) tmpl { r := ok; mod(&r); return r }
		// A valid RRULE of exactly n characters (an X- name extension).
		rule := func(n int) string {
			head := "FREQ=WEEKLY;X-PAD="
			return head + strings.Repeat("a", n-len(head))
		}
		cases := []struct {
			name       string
			accept     tmpl
			refuse     tmpl
			kind       error
			constraint db.Constraint
		}{
			{"activity_type length", with(func(r *tmpl) { r.typ = strings.Repeat("å", db.MaxActivityTypeLength) }),
				with(func(r *tmpl) { r.typ = strings.Repeat("a", db.MaxActivityTypeLength+1) }), db.ErrTooLong, db.ConstraintRecurringActivityTemplatesActivityTypeLengthCheck},
			{"blank activity_type", with(func(r *tmpl) { r.typ = " x" }),
				with(func(r *tmpl) { r.typ = "  " }), db.ErrBlankActivityType, db.ConstraintRecurringActivityTemplatesActivityTypeCheck},
			{"title length", with(func(r *tmpl) { r.title = strings.Repeat("å", db.MaxTemplateTitleLength) }),
				with(func(r *tmpl) { r.title = strings.Repeat("a", db.MaxTemplateTitleLength+1) }), db.ErrTooLong, db.ConstraintRecurringActivityTemplatesTitleLengthCheck},
			{"recurrence_rule length", with(func(r *tmpl) { r.rule = rule(db.MaxRecurrenceRuleLength) }),
				with(func(r *tmpl) { r.rule = rule(db.MaxRecurrenceRuleLength + 1) }), db.ErrTooLong, db.ConstraintRecurringActivityTemplatesRecurrenceRuleLengthCheck},
			{"default duration", with(func(r *tmpl) { r.minutes = db.MaxDurationMinutes }),
				with(func(r *tmpl) { r.minutes = db.MaxDurationMinutes + 1 }), db.ErrDurationTooLong, db.ConstraintRecurringActivityTemplatesDefaultDurationMinutesMaxCheck},
		}
		for _, who := range []db.Claims{proxyAs(f.coordA, f.orgA), db.ServiceRole()} {
			for _, c := range cases {
				insert := func(r tmpl) error {
					_, err := f.rawExec(ctx, who, `INSERT INTO recurring_activity_templates
						(org_id, created_by, activity_type, title, recurrence_rule, default_duration_minutes)
						VALUES ($1, $2, $3, $4, $5, $6)`, f.orgA, f.coordA, r.typ, r.title, r.rule, r.minutes)
					return err
				}
				update := func(r tmpl) error {
					_, err := f.rawExec(ctx, who, `UPDATE recurring_activity_templates
						SET activity_type = $2, title = $3, recurrence_rule = $4, default_duration_minutes = $5 WHERE id = $1`,
						f.tmplA, r.typ, r.title, r.rule, r.minutes)
					return err
				}
				require.NoError(t, insert(c.accept), "%s at the limit", c.name)
				require.NoError(t, update(c.accept), "%s at the limit", c.name)
				before := f.count(t, `SELECT count(*) FROM recurring_activity_templates`)
				requireProxyErr(t, insert(c.refuse), c.kind, db.ErrCheck, "23514", c.constraint)
				requireProxyErr(t, update(c.refuse), c.kind, db.ErrCheck, "23514", c.constraint)
				require.Equal(t, before, f.count(t, `SELECT count(*) FROM recurring_activity_templates`))
			}
		}
	})

	t.Run("PS-IN-1 pause reason and expected return date: accepted at each limit, refused past it, through the RPC, a direct write and by the owner", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		f := &pauseFixture{d: d}
		f.orgA = d.NewOrg(t)
		f.mentor = d.NewMember(t, f.orgA, "peer_mentor")
		f.coordA = d.NewMember(t, f.orgA, "coordinator")
		ctx := pgtest.Ctx(t)
		var today time.Time
		f.d.QueryRow(t, `SELECT (now() AT TIME ZONE 'UTC')::date`).Scan(t, &today)
		latest := today.AddDate(0, 0, db.MaxReturnDays)
		long := strings.Repeat("x", db.MaxPauseReasonLength+1)
		atLimit := strings.Repeat("æ", db.MaxPauseReasonLength)
		cases := []struct {
			name       string
			reason     string
			ret        any
			kind       error
			constraint db.Constraint
		}{
			{"reason length", long, latest, db.ErrTooLong, db.ConstraintPeerMentorStatusReasonLengthCheck},
			{"return date before the day of the pause", atLimit, today.AddDate(0, 0, -1), db.ErrReturnDateOutOfRange, db.ConstraintPeerMentorStatusExpectedReturnWindowCheck},
			{"return date past the window", atLimit, latest.AddDate(0, 0, 1), db.ErrReturnDateOutOfRange, db.ConstraintPeerMentorStatusExpectedReturnWindowCheck},
			{"return date infinity", atLimit, pgtype.Date{InfinityModifier: pgtype.Infinity, Valid: true}, db.ErrReturnDateOutOfRange, db.ConstraintPeerMentorStatusExpectedReturnWindowCheck},
		}
		limits := []time.Time{today, latest}
		logRows := func() int {
			var n int
			f.d.QueryRow(t, `SELECT count(*) FROM peer_mentor_status_log`).Scan(t, &n)
			return n
		}
		// Through the RPC, as a coordinator of the org and as the mentor.
		for _, actor := range []uuid.UUID{f.coordA, f.mentor} {
			claims := db.User(actor, f.orgA)
			for _, ret := range limits {
				require.NoError(t, callAs(ctx, f.d, claims, `SELECT activate_pause($1, $2, $3)`, f.mentor, atLimit, ret), "at the limit")
				require.NoError(t, callAs(ctx, f.d, claims, `SELECT deactivate_pause($1)`, f.mentor))
			}
			for _, c := range cases {
				before := logRows()
				err := callAs(ctx, f.d, claims, `SELECT activate_pause($1, $2, $3)`, f.mentor, c.reason, c.ret)
				requireProxyErr(t, err, c.kind, db.ErrCheck, "23514", c.constraint)
				require.Equal(t, before, logRows(), "%s: nothing logged", c.name)
			}
			// A direct write through the Data API, which the mentor may do.
			require.NoError(t, callAs(ctx, f.d, claims, `UPDATE peer_mentor_status SET status = 'paused', reason = $2, expected_return_date = $3
				WHERE peer_mentor_id = $1`, f.mentor, atLimit, latest))
			require.NoError(t, callAs(ctx, f.d, claims, `SELECT deactivate_pause($1)`, f.mentor))
			for _, c := range cases {
				err := callAs(ctx, f.d, claims, `UPDATE peer_mentor_status SET status = 'paused', reason = $2, expected_return_date = $3
					WHERE peer_mentor_id = $1`, f.mentor, c.reason, c.ret)
				requireProxyErr(t, err, c.kind, db.ErrCheck, "23514", c.constraint)
			}
		}
		// service_role has no write grant on the status table at all.
		err := callAs(ctx, f.d, db.ServiceRole(), `UPDATE peer_mentor_status SET status = 'paused', reason = $2 WHERE peer_mentor_id = $1`, f.mentor, long)
		require.ErrorIs(t, err, db.ErrNotPermitted)
		// The owner: a CHECK holds for every role, replica mode included.
		for _, replica := range []bool{false, true} {
			for _, c := range cases {
				err := pauseOwnerTry(ctx, f.d, replica, `UPDATE peer_mentor_status SET status = 'paused', reason = $2, expected_return_date = $3
					WHERE peer_mentor_id = $1`, f.mentor, c.reason, c.ret)
				requireOwnerErr(t, err, "23514", c.constraint)
			}
		}
	})

	t.Run("PA-IN-1 PS-IN-1 the repositories pre-check each bound in a request, with the database's typed error and constraint, before touching the table; at the limit they pass", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		touches := f.installTouchProbe(t)
		me := proxyAs(f.coordA, f.orgA)
		act := func(mod func(*db.NewProxyActivity)) db.NewProxyActivity {
			in := db.NewProxyActivity{AttributedMentorID: f.mentorA, OrgID: f.orgA, ActivityType: "visit", Date: proxyDay, DurationMinutes: 30}
			mod(&in)
			return in
		}
		refused := []struct {
			in         db.NewProxyActivity
			kind       error
			constraint db.Constraint
		}{
			{act(func(in *db.NewProxyActivity) { in.Notes = strings.Repeat("o", db.MaxNotesLength+1) }), db.ErrTooLong, db.ConstraintProxyActivitiesNotesLengthCheck},
			{act(func(in *db.NewProxyActivity) { in.ActivityType = strings.Repeat("a", db.MaxActivityTypeLength+1) }), db.ErrTooLong, db.ConstraintProxyActivitiesActivityTypeLengthCheck},
			{act(func(in *db.NewProxyActivity) { in.ActivityType = "  " }), db.ErrBlankActivityType, db.ConstraintProxyActivitiesActivityTypeCheck},
			{act(func(in *db.NewProxyActivity) { in.DurationMinutes = db.MaxDurationMinutes + 1 }), db.ErrDurationTooLong, db.ConstraintProxyActivitiesDurationMinutesMaxCheck},
			{act(func(in *db.NewProxyActivity) { in.Date = db.EarliestActivityDate.AddDate(0, 0, -1) }), db.ErrDateOutOfRange, db.ConstraintProxyActivitiesDateWindowCheck},
			{act(func(in *db.NewProxyActivity) { in.Date = time.Now().AddDate(2, 0, 0) }), db.ErrDateOutOfRange, db.ConstraintProxyActivitiesDateWindowCheck},
		}
		err := f.d.App.Do(ctx, me, func(r *db.Request) error {
			for _, c := range refused {
				before := touches()
				_, err := r.Activities().Create(ctx, c.in)
				requireProxyErr(t, err, c.kind, db.ErrCheck, "23514", c.constraint)
				require.False(t, fromDatabase(err), "pre-checked")
				require.Equal(t, before, touches(), "refused before the table")
			}
			_, err := r.Activities().Create(ctx, act(func(in *db.NewProxyActivity) {
				in.Notes = strings.Repeat("ø", db.MaxNotesLength)
				in.ActivityType = strings.Repeat("å", db.MaxActivityTypeLength)
				in.DurationMinutes = db.MaxDurationMinutes
				in.Date = db.EarliestActivityDate
			}))
			require.NoError(t, err, "at every limit at once")
			_, err = r.Templates().Create(ctx, db.NewRecurringActivityTemplate{OrgID: f.orgA, ActivityType: "visit",
				Title: strings.Repeat("t", db.MaxTemplateTitleLength+1)})
			requireProxyErr(t, err, db.ErrTooLong, db.ErrCheck, "23514", db.ConstraintRecurringActivityTemplatesTitleLengthCheck)
			require.False(t, fromDatabase(err))
			return nil
		})
		require.NoError(t, err)

		p := pgtest.New(t)
		org := p.NewOrg(t)
		mentor := p.NewMember(t, org, "peer_mentor")
		far := time.Now().AddDate(3, 0, 0)
		for _, opts := range []db.PauseOptions{{Reason: strings.Repeat("x", db.MaxPauseReasonLength+1)}, {ExpectedReturn: &far}} {
			_, err := p.App.Pauses().Pause(ctx, db.User(mentor, org), mentor, opts)
			require.Error(t, err)
			require.False(t, fromDatabase(err), "pre-checked")
			require.ErrorIs(t, err, db.ErrCheck)
		}
		var logged int
		p.QueryRow(t, `SELECT count(*) FROM peer_mentor_status_log`).Scan(t, &logged)
		require.Zero(t, logged)
		_, err = p.App.Pauses().Pause(ctx, db.User(mentor, org), mentor, db.PauseOptions{Reason: strings.Repeat("æ", db.MaxPauseReasonLength)})
		require.NoError(t, err)
	})

	t.Run("PA-ORG-3 coordinator_id must hold the coordinator role in the row's org, also for service_role; a coordinator's request is refused by RLS first", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		count := func() int { return f.count(t, `SELECT count(*) FROM proxy_activities`) }
		// service_role: a coordinator of the org is accepted...
		id, err := f.rawInsert(ctx, db.ServiceRole(), f.coordA, f.mentorA, f.orgA, 30, nil)
		require.NoError(t, err)
		// ...a coordinator of another org, a peer mentor of this one, and a
		// member of nothing are refused, and nothing is written.
		for _, who := range []uuid.UUID{f.coordB, f.mentorA2, f.stranger} {
			before := count()
			_, err := f.rawInsert(ctx, db.ServiceRole(), who, f.mentorA, f.orgA, 30, nil)
			requireProxyErr(t, err, db.ErrCoordinatorNotInOrg, db.ErrCheck, "23514", db.ConstraintProxyActivitiesCoordinatorInOrgCheck)
			require.Equal(t, before, count())
		}
		// A signed-in user can only register as themself in an org they
		// coordinate: RLS refuses the others before the trigger runs.
		_, err = f.rawInsert(ctx, proxyAs(f.coordB, f.orgA), f.coordB, f.mentorA, f.orgA, 30, nil)
		requireProxyErr(t, err, db.ErrNotPermitted, db.ErrNotPermitted, "42501", "")
		_, err = f.rawInsert(ctx, proxyAs(f.coordA, f.orgA), f.coordA, f.mentorA, f.orgA, 30, nil)
		require.NoError(t, err)
		// The role is checked when the row is written, not forever: a
		// coordinator who leaves keeps their activities, which stay editable.
		f.d.Exec(t, `DELETE FROM org_members WHERE org_id = $1 AND user_id = $2 AND role = 'coordinator'`, f.orgA, f.coordA)
		_, err = f.rawExec(ctx, db.ServiceRole(), `UPDATE proxy_activities SET notes = 'after leaving' WHERE id = $1`, id)
		require.NoError(t, err)
		// Naming the columns without changing them is not a new attribution.
		_, err = f.rawExec(ctx, db.ServiceRole(), `UPDATE proxy_activities SET coordinator_id = coordinator_id, org_id = org_id WHERE id = $1`, id)
		require.NoError(t, err)
	})

	t.Run("PS-RLS-4 the membership helper called directly answers only what org_members shows the caller, never another org's memberships", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		people := []uuid.UUID{f.coordA, f.coordB, f.mentorA, f.mentorA2, f.mentorB, f.dual, f.coordMentorA, f.stranger}
		roles := []string{"coordinator", "peer_mentor", "org_admin"}
		admin := f.d.NewMember(t, f.orgB, "org_admin")
		people = append(people, admin)
		var answered, hidden int
		for _, caller := range people {
			type answer struct {
				User, Org            uuid.UUID
				Role                 string
				Helper, Visible, Has bool
			}
			var got []answer
			require.NoError(t, f.d.As(ctx, proxyAs(caller, f.orgA), func(tx pgx.Tx) error {
				rows, err := tx.Query(ctx, `SELECT u, o, r, private.has_org_role(u, o, r),
						EXISTS (SELECT 1 FROM org_members WHERE user_id = u AND org_id = o AND role = r), false
					FROM unnest($1::uuid[]) AS u, unnest($2::uuid[]) AS o, unnest($3::text[]) AS r`,
					people, []uuid.UUID{f.orgA, f.orgB}, roles)
				if err != nil {
					return err
				}
				got, err = pgx.CollectRows(rows, pgx.RowToStructByPos[answer])
				return err
			}))
			require.Len(t, got, len(people)*2*len(roles))
			for _, a := range got {
				require.Equal(t, a.Visible, a.Helper, "caller %s asks about %s %s in %s", caller, a.User, a.Role, a.Org)
				var exists bool
				f.d.QueryRow(t, `SELECT EXISTS (SELECT 1 FROM org_members WHERE user_id = $1 AND org_id = $2 AND role = $3)`,
					a.User, a.Org, a.Role).Scan(t, &exists)
				if exists && !a.Helper {
					hidden++
				}
				if a.Helper {
					answered++
				}
			}
		}
		require.Positive(t, answered, "the helper still answers what the caller may see")
		require.Positive(t, hidden, "memberships the caller may not see exist and stay hidden")
		// The case that leaked: a member of org B only asks about org A.
		var leaked bool
		require.NoError(t, f.d.As(ctx, proxyAs(f.coordB, f.orgB), func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT private.has_org_role($1, $2, 'peer_mentor')`, f.mentorA, f.orgA).Scan(&leaked)
		}))
		require.False(t, leaked)
	})
}

// activityDateWindow is the first and last activity date the database
// accepts today.
func activityDateWindow(t *testing.T, ctx context.Context, d *pgtest.DB) (first, last time.Time) {
	t.Helper()
	require.NoError(t, d.Pool.QueryRow(ctx, `SELECT DATE '2000-01-01', ((now() AT TIME ZONE 'UTC') + interval '1 year')::date`).Scan(&first, &last))
	require.Equal(t, db.EarliestActivityDate, first)
	return first, last
}
