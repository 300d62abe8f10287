package conformance

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
)

// proxyAuditCases prove the audit log: written for every change, immutable.
func proxyAuditCases(t *testing.T) {
	t.Run("PA-AUD-1 INSERT, UPDATE and DELETE each write exactly one audit row with actor, action and row snapshots", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		me := proxyAs(f.coordA, f.orgA)
		a := f.create(t, ctx, f.coordA, f.orgA, f.mentorA)
		inserted := f.snapshot(t, a.ID)
		_, err := f.repo.Update(ctx, me, a.ID, db.ProxyActivityChange{
			AttributedMentorID: f.mentorA2, ActivityType: "call", Date: proxyDay, DurationMinutes: 20, Notes: "changed"})
		require.NoError(t, err)
		updated := f.snapshot(t, a.ID)
		require.NotEqual(t, inserted, updated)
		require.NoError(t, f.repo.Delete(ctx, me, a.ID))

		rows, err := f.d.Pool.Query(ctx, `SELECT action, actor, actor_role, org_id, old_row::text, new_row::text
			FROM proxy_audit_log WHERE activity_id = $1 ORDER BY id`, a.ID)
		require.NoError(t, err)
		type entry struct {
			Action    string
			Actor     *uuid.UUID
			ActorRole *string
			OrgID     uuid.UUID
			Old, New  *string
		}
		got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[entry])
		require.NoError(t, err)
		require.Len(t, got, 3, "one row per statement")
		for i, want := range []struct {
			action   string
			old, new *string
		}{{"INSERT", nil, &inserted}, {"UPDATE", &inserted, &updated}, {"DELETE", &updated, nil}} {
			e := got[i]
			require.Equal(t, want.action, e.Action)
			require.NotNil(t, e.Actor)
			require.Equal(t, f.coordA, *e.Actor, "actor is auth.uid()")
			require.Equal(t, "authenticated", *e.ActorRole)
			require.Equal(t, f.orgA, e.OrgID)
			proxyRequireJSONEqual(t, ctx, f, want.old, e.Old, want.action+" old_row")
			proxyRequireJSONEqual(t, ctx, f, want.new, e.New, want.action+" new_row")
		}
		// The repository reads the same rows back, also after the delete.
		log, err := f.repo.AuditLog(ctx, me, a.ID)
		require.NoError(t, err)
		require.Len(t, log, 3)
		require.Equal(t, []string{"INSERT", "UPDATE", "DELETE"}, []string{log[0].Action, log[1].Action, log[2].Action})
		require.Equal(t, f.coordA, log[2].Actor)

		// A change by service_role is audited too, with no user as actor.
		b := f.create(t, ctx, f.coordA, f.orgA, f.mentorA)
		_, err = f.rawExec(ctx, db.ServiceRole(), `UPDATE proxy_activities SET notes = 'by the service' WHERE id = $1`, b.ID)
		require.NoError(t, err)
		require.Equal(t, 1, f.count(t, `SELECT count(*) FROM proxy_audit_log WHERE activity_id = $1 AND action = 'UPDATE'
			AND actor IS NULL AND actor_role = 'service_role' AND new_row ->> 'notes' = 'by the service'`, b.ID))
		// A statement that changes nothing writes nothing; a failed one neither.
		_, err = f.rawExec(ctx, me, `UPDATE proxy_activities SET notes = 'x' WHERE id = $1`, uuid.New())
		require.NoError(t, err)
		_, err = f.rawExec(ctx, me, `UPDATE proxy_activities SET duration_minutes = 0 WHERE id = $1`, b.ID)
		require.ErrorIs(t, err, db.ErrNonPositiveDuration)
		require.Equal(t, 5, f.count(t, `SELECT count(*) FROM proxy_audit_log`))
		require.Equal(t, 1, f.count(t, `SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.proxy_activities'::regclass
			AND tgname = 'proxy_activities_write_audit' AND (tgtype & (1 | 4 | 8 | 16)) = (1 | 4 | 8 | 16) AND (tgtype & 2) = 0`),
			"an AFTER INSERT OR UPDATE OR DELETE row trigger")
	})

	t.Run("PA-AUD-1 PA-RLS-1 a bulk CreateMany writes one audit row per activity, goes through RLS, and is all or nothing", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		me := proxyAs(f.coordA, f.orgA)
		items := []db.NewProxyActivity{
			{AttributedMentorID: f.mentorA, ActivityType: "visit", Date: proxyDay, DurationMinutes: 30},
			{AttributedMentorID: f.mentorA2, ActivityType: "call", Date: proxyDay.AddDate(0, 0, 1), DurationMinutes: 15, Notes: "n"},
			{AttributedMentorID: f.mentorA, ActivityType: "group", Date: proxyDay.AddDate(0, 0, 2), DurationMinutes: 90, IsRecurring: true, TemplateID: f.tmplA},
		}
		created, err := f.repo.CreateMany(ctx, me, f.orgA, uuid.Nil, items)
		require.NoError(t, err)
		require.Len(t, created, 3)
		for i, a := range created {
			require.Equal(t, f.coordA, a.CoordinatorID)
			require.Equal(t, items[i].AttributedMentorID, a.AttributedMentorID, "rows come back in input order")
			require.Equal(t, items[i].ActivityType, a.ActivityType)
			require.Equal(t, 1, f.count(t, `SELECT count(*) FROM proxy_audit_log l JOIN proxy_activities p ON p.id = l.activity_id
				WHERE l.activity_id = $1 AND l.action = 'INSERT' AND l.actor = $2 AND l.old_row IS NULL AND l.new_row = to_jsonb(p)`, a.ID, f.coordA))
		}
		require.Equal(t, 3, f.count(t, `SELECT count(*) FROM proxy_audit_log`))

		// Through RLS: registering the batch as another coordinator is refused
		// by the policy (the pre-check passes: the mentors are fine).
		_, err = f.repo.CreateMany(ctx, me, f.orgA, f.coordA2, items)
		requireProxyErr(t, err, db.ErrNotPermitted, db.ErrNotPermitted, "42501", "")
		require.True(t, fromDatabase(err))
		// And a coordinator of another org, claiming org A, gets nothing in.
		_, err = f.repo.CreateMany(ctx, proxyAs(f.coordB, f.orgA), f.orgA, uuid.Nil, items)
		require.ErrorIs(t, err, db.ErrNotPermitted)

		// One bad row fails the whole batch, after rows before it were inserted.
		bad := append(append([]db.NewProxyActivity{}, items...), db.NewProxyActivity{
			AttributedMentorID: f.mentorA, ActivityType: "visit", Date: proxyDay, DurationMinutes: 0})
		_, err = f.repo.CreateMany(ctx, me, f.orgA, uuid.Nil, bad)
		requireProxyErr(t, err, db.ErrNonPositiveDuration, db.ErrCheck, "23514", db.ConstraintProxyActivitiesDurationMinutesCheck)
		bad[3] = db.NewProxyActivity{AttributedMentorID: f.mentorA, ActivityType: "visit", Date: proxyDay, DurationMinutes: 5, TemplateID: f.tmplB}
		_, err = f.repo.CreateMany(ctx, me, f.orgA, uuid.Nil, bad)
		requireProxyErr(t, err, db.ErrTemplateOtherOrg, db.ErrForeignKey, "23503", db.ConstraintProxyActivitiesTemplateSameOrgFkey)
		require.Equal(t, 3, f.count(t, `SELECT count(*) FROM proxy_activities`), "nothing of the failed batches")
		require.Equal(t, 3, f.count(t, `SELECT count(*) FROM proxy_audit_log`), "no audit rows of the failed batches")

		// COPY (service_role only) fires the same triggers: checks and audit.
		n, err := f.repo.Import(ctx, db.ServiceRole(), []db.NewProxyActivity{
			{CoordinatorID: f.coordA, AttributedMentorID: f.mentorA, OrgID: f.orgA, ActivityType: "visit", Date: proxyDay, DurationMinutes: 10},
			{CoordinatorID: f.coordB, AttributedMentorID: f.mentorB, OrgID: f.orgB, ActivityType: "visit", Date: proxyDay, DurationMinutes: 10},
		})
		require.NoError(t, err)
		require.EqualValues(t, 2, n)
		require.Equal(t, 5, f.count(t, `SELECT count(*) FROM proxy_audit_log WHERE action = 'INSERT'`))
		_, err = f.repo.Import(ctx, db.ServiceRole(), []db.NewProxyActivity{
			{CoordinatorID: f.coordA, AttributedMentorID: f.mentorB, OrgID: f.orgA, ActivityType: "visit", Date: proxyDay, DurationMinutes: 10}})
		requireProxyErr(t, err, db.ErrMentorNotInOrg, db.ErrCheck, "23514", db.ConstraintProxyActivitiesMentorInOrgCheck)
		_, err = f.repo.Import(ctx, me, items)
		requireProxyErr(t, err, db.ErrNotPermitted, db.ErrNotPermitted, "42501", db.PolicyProxyInsertOwn)
		require.Equal(t, 5, f.count(t, `SELECT count(*) FROM proxy_activities`))
	})

	t.Run("PA-AUD-2 authenticated and service_role cannot UPDATE, DELETE, TRUNCATE or INSERT proxy_audit_log", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		a := f.create(t, ctx, f.coordA, f.orgA, f.mentorA)
		before := proxyAuditDump(t, ctx, f)
		for _, c := range []db.Claims{proxyAs(f.coordA, f.orgA), db.ServiceRole(), db.Anon()} {
			for _, q := range proxyAuditWrites {
				_, err := f.rawExec(ctx, c, q, proxyArgs(q, a.ID, f.orgA)...)
				requireProxyErr(t, err, db.ErrNotPermitted, db.ErrNotPermitted, "42501", "")
			}
		}
		require.Equal(t, before, proxyAuditDump(t, ctx, f))
	})

	t.Run("PA-AUD-2 even with the privileges granted, the trigger refuses UPDATE, DELETE and TRUNCATE to authenticated and service_role", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		a := f.create(t, ctx, f.coordA, f.orgA, f.mentorA)
		// A misconfiguration in this test's database only.
		f.d.Exec(t, `GRANT UPDATE, DELETE, TRUNCATE ON public.proxy_audit_log TO authenticated, service_role`)
		f.d.Exec(t, `CREATE POLICY proxy_audit_log_oops ON public.proxy_audit_log FOR ALL TO authenticated USING (true) WITH CHECK (true)`)
		before := proxyAuditDump(t, ctx, f)
		for _, c := range []db.Claims{proxyAs(f.coordA, f.orgA), db.ServiceRole()} {
			for _, q := range proxyAuditWrites[:3] {
				_, err := f.rawExec(ctx, c, q, proxyArgs(q, a.ID, f.orgA)...)
				e := requireProxyErr(t, err, db.ErrImmutable, db.ErrNotPermitted, "42501", db.ConstraintProxyAuditLogImmutable)
				require.Contains(t, e.Message, "append-only")
			}
		}
		require.Equal(t, before, proxyAuditDump(t, ctx, f))
	})

	t.Run("PA-AUD-2 the owner cannot UPDATE, DELETE or TRUNCATE proxy_audit_log, also with session_replication_role = replica", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		a := f.create(t, ctx, f.coordA, f.orgA, f.mentorA)
		before := proxyAuditDump(t, ctx, f)
		for _, replica := range []bool{false, true} {
			for _, q := range proxyAuditWrites[:3] {
				func() {
					tx, err := f.d.Pool.Begin(ctx)
					require.NoError(t, err)
					// Always rolled back: a statement that wrongly succeeds
					// changes nothing, and the connection goes back to the pool.
					defer tx.Rollback(ctx)
					if replica {
						_, err = tx.Exec(ctx, `SET LOCAL session_replication_role = replica`)
						require.NoError(t, err)
					}
					_, err = tx.Exec(ctx, q, proxyArgs(q, a.ID, f.orgA)...)
					requireOwnerErr(t, err, "42501", db.ConstraintProxyAuditLogImmutable)
				}()
			}
		}
		require.Equal(t, before, proxyAuditDump(t, ctx, f))
		var enabled string
		require.NoError(t, f.d.Pool.QueryRow(ctx, `SELECT string_agg(tgname || '=' || tgenabled::text, ',' ORDER BY tgname) FROM pg_trigger
			WHERE tgrelid = 'public.proxy_audit_log'::regclass AND NOT tgisinternal`).Scan(&enabled))
		require.Equal(t, "proxy_audit_log_direct_insert=O,proxy_audit_log_immutable=A,proxy_audit_log_immutable_truncate=A", enabled, "ENABLE ALWAYS")
		var super bool
		require.NoError(t, f.d.Pool.QueryRow(ctx, `SELECT rolsuper FROM pg_roles WHERE rolname = current_user`).Scan(&super))
		require.True(t, super, "the fixture pool is the owner and a superuser")
	})

	t.Run("PA-AUD-2 coordinators read their own org's audit rows and not another org's; peer mentors none", func(t *testing.T) {
		t.Parallel()
		f := proxySetup(t)
		ctx := pgtest.Ctx(t)
		a1 := f.create(t, ctx, f.coordA, f.orgA, f.mentorA)
		a2 := f.create(t, ctx, f.coordA2, f.orgA, f.mentorA2)
		b1 := f.create(t, ctx, f.coordB, f.orgB, f.dual)
		require.NoError(t, f.repo.Delete(ctx, proxyAs(f.coordA2, f.orgA), a2.ID))
		orgA := []uuid.UUID{a1.ID, a2.ID}
		for _, tc := range []struct {
			name   string
			claims db.Claims
			want   []uuid.UUID
		}{
			{"coordinator of A", proxyAs(f.coordA, f.orgA), orgA},
			{"dual-role user", proxyAs(f.dual, f.orgB), orgA},
			{"coordinator of B claiming A", proxyAs(f.coordB, f.orgA), []uuid.UUID{b1.ID}},
			{"peer mentor", proxyAs(f.mentorA, f.orgA), nil},
			{"stranger", proxyAs(f.stranger, f.orgA), nil},
		} {
			require.ElementsMatch(t, tc.want, f.visible(t, ctx, tc.claims, "proxy_audit_log"), tc.name)
		}
		log, err := f.repo.AuditLog(ctx, proxyAs(f.coordA, f.orgA), a2.ID)
		require.NoError(t, err)
		require.Len(t, log, 2, "another coordinator's activity, deleted since")
		log, err = f.repo.AuditLog(ctx, proxyAs(f.coordB, f.orgA), a1.ID)
		require.NoError(t, err)
		require.Empty(t, log)
		_, err = f.repo.AuditLog(ctx, db.Anon(), a1.ID)
		require.ErrorIs(t, err, db.ErrNotPermitted)
	})
}

// proxyAuditWrites are the statements no role may run on the log ($1 an
// activity id, $2 an org id); the INSERT is refused only for lack of grant.
var proxyAuditWrites = []string{
	`UPDATE proxy_audit_log SET action = 'DELETE', new_row = NULL WHERE activity_id = $1 AND org_id = $2`,
	`DELETE FROM proxy_audit_log WHERE activity_id = $1 AND org_id = $2`,
	`TRUNCATE proxy_audit_log`,
	`INSERT INTO proxy_audit_log (activity_id, org_id, action) VALUES ($1, $2, 'DELETE')`,
}

// proxyArgs returns args if q takes parameters, else none.
func proxyArgs(q string, args ...any) []any {
	if !strings.Contains(q, "$1") {
		return nil
	}
	return args
}

// proxyAuditDump is the whole log as text, read as the owner.
func proxyAuditDump(t *testing.T, ctx context.Context, f *proxyFixture) string {
	t.Helper()
	var s string
	require.NoError(t, f.d.Pool.QueryRow(ctx, `SELECT coalesce(string_agg(to_jsonb(l)::text, E'\n' ORDER BY id), '') FROM proxy_audit_log l`).Scan(&s))
	require.NotEmpty(t, s)
	return s
}

// proxyRequireJSONEqual compares two jsonb texts as jsonb (nil is SQL NULL).
func proxyRequireJSONEqual(t *testing.T, ctx context.Context, f *proxyFixture, want, got *string, what string) {
	t.Helper()
	if want == nil || got == nil {
		require.Equal(t, want == nil, got == nil, what)
		return
	}
	var eq bool
	require.NoError(t, f.d.Pool.QueryRow(ctx, `SELECT $1::jsonb = $2::jsonb`, *want, *got).Scan(&eq))
	require.True(t, eq, "%s:\nwant %s\ngot  %s", what, *want, *got)
}
