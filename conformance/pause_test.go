package conformance

import (
	"context"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
	"github.com/mentordb/mentordb/db/migrate"
	"github.com/mentordb/mentordb/internal/preamble"
	schema "github.com/mentordb/mentordb/sql"
)

// pauseRPCFile is the one migration that holds the pause RLS and RPCs (PS-MIG-1).
const pauseRPCFile = "20261122000100_pause_rls_and_rpcs.sql"

// pauseFixture is the stage every pause test starts from: two orgs, their
// chapters, mentors and coordinators. Nobody is paused yet.
type pauseFixture struct {
	d    *pgtest.DB
	repo *db.PauseRepository

	orgA, orgB      uuid.UUID
	chA1, chA2, chB uuid.UUID
	mentor, mentor2 uuid.UUID // peer mentors of org A, chapter A1
	mentorBoth      uuid.UUID // peer mentor of org A, chapters A1 and A2
	mentor3         uuid.UUID // peer mentor of org A, chapter A2
	coordA          uuid.UUID // coordinator of org A, chapters A1 and A2
	coordB, mentorB uuid.UUID // coordinator and peer mentor of org B (chapter B)
	dualOrg         uuid.UUID // peer mentor of org A (chapter A1) and of org B (chapter B)
	stranger        uuid.UUID // a signed-in user with no membership
}

// pauseLog is one peer_mentor_status_log row, read as the owner.
type pauseLog struct {
	prev, next string
	changedBy  *uuid.UUID
}

func testPause(t *testing.T) {
	t.Parallel()
	pauseRequiredCases(t)

	setup := func(t *testing.T) *pauseFixture {
		t.Helper()
		d := pgtest.New(t)
		f := &pauseFixture{d: d, repo: d.App.Pauses()}
		f.orgA, f.orgB = d.NewOrg(t), d.NewOrg(t)
		f.chA1, f.chA2, f.chB = d.NewChapter(t, f.orgA), d.NewChapter(t, f.orgA), d.NewChapter(t, f.orgB)
		f.mentor = d.NewMember(t, f.orgA, "peer_mentor", f.chA1)
		f.mentor2 = d.NewMember(t, f.orgA, "peer_mentor", f.chA1)
		f.mentorBoth = d.NewMember(t, f.orgA, "peer_mentor", f.chA1, f.chA2)
		f.mentor3 = d.NewMember(t, f.orgA, "peer_mentor", f.chA2)
		f.coordA = d.NewMember(t, f.orgA, "coordinator", f.chA1, f.chA2)
		f.coordB = d.NewMember(t, f.orgB, "coordinator", f.chB)
		f.mentorB = d.NewMember(t, f.orgB, "peer_mentor", f.chB)
		f.dualOrg = d.NewMember(t, f.orgA, "peer_mentor", f.chA1)
		d.AddMember(t, f.orgB, f.dualOrg, "peer_mentor")
		d.AddChapterMember(t, f.orgB, f.chB, f.dualOrg)
		f.stranger = d.NewUser(t)
		return f
	}

	t.Run("PS-MIG-1 one migration file holds the pause RLS and RPCs, every CREATE POLICY before any GRANT EXECUTE", func(t *testing.T) {
		t.Parallel()
		stmts := pauseMigrationStatements(t, pauseRPCFile)
		lastPolicy, firstGrant := -1, len(stmts)
		var policies []string
		for i, s := range stmts {
			switch {
			case strings.HasPrefix(s, "CREATE POLICY"):
				lastPolicy = i
				policies = append(policies, strings.Fields(s)[2])
			case strings.HasPrefix(s, "GRANT EXECUTE"):
				firstGrant = min(firstGrant, i)
			}
		}
		require.NotEmpty(t, policies, "the file creates the policies")
		require.Less(t, firstGrant, len(stmts), "the file grants EXECUTE")
		require.Less(t, lastPolicy, firstGrant, "statement %d (CREATE POLICY) comes after statement %d (GRANT EXECUTE)", lastPolicy, firstGrant)

		// Every pause policy and RPC is created in this file and in no other.
		pauseObject := regexp.MustCompile(`^CREATE (POLICY \S+ ON public\.peer_mentor_status|FUNCTION public\.(activate_pause|deactivate_pause|get_active_pauses_for_chapter)\b)`)
		owners := map[string]string{}
		for _, file := range migrationFiles(t) {
			for _, s := range pauseMigrationStatements(t, file) {
				if m := pauseObject.FindString(s); m != "" {
					require.NotContains(t, owners, m, "created twice")
					owners[m] = file
				}
			}
		}
		require.Len(t, owners, len(policies)+3, "the pause policies and the three RPCs")
		for obj, file := range owners {
			require.Equal(t, pauseRPCFile, file, obj)
		}

		// The policies in force are exactly the file's, on tables with RLS on.
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		rows, err := d.Pool.Query(ctx, `SELECT policyname FROM pg_policies
			WHERE schemaname = 'public' AND tablename IN ('peer_mentor_status', 'peer_mentor_status_log')`)
		require.NoError(t, err)
		inForce, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		require.ElementsMatch(t, policies, inForce)
		var rls int
		require.NoError(t, d.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_class
			WHERE oid IN ('public.peer_mentor_status'::regclass, 'public.peer_mentor_status_log'::regclass) AND relrowsecurity`).Scan(&rls))
		require.Equal(t, 2, rls)
	})

	t.Run("PS-MIG-1 the pause migration was applied by the Go runner and recorded in the history", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		requireRecorded(t, d, pauseRPCFile)
		var fns int
		require.NoError(t, d.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_proc WHERE oid IN (
			'public.activate_pause(uuid, text, date)'::regprocedure,
			'public.deactivate_pause(uuid, text)'::regprocedure,
			'public.get_active_pauses_for_chapter(uuid)'::regprocedure)`).Scan(&fns))
		require.Equal(t, 3, fns)
	})

	t.Run("PS-RLS-1 seed case 1: a peer mentor can SELECT their own status row", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		ctx := pgtest.Ctx(t)
		f.mustPause(t, ctx, f.coordA, f.orgA, f.mentor)
		f.mustPause(t, ctx, f.coordA, f.orgA, f.mentor2)
		me := db.User(f.mentor, f.orgA)
		require.Equal(t, []uuid.UUID{f.mentor}, visibleMentors(t, ctx, f.d, me, "peer_mentor_status"))
		require.Equal(t, []uuid.UUID{f.mentor}, visibleMentors(t, ctx, f.d, me, "peer_mentor_status_log"))
		own, err := f.repo.OwnStatus(ctx, me, f.orgA)
		require.NoError(t, err)
		require.Equal(t, db.PausePaused, own.State)
		require.NotEqual(t, uuid.Nil, own.ID)
	})

	t.Run("PS-RLS-2 seed case 2: a peer mentor cannot SELECT another mentor's status", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		ctx := pgtest.Ctx(t)
		f.mustPause(t, ctx, f.coordA, f.orgA, f.mentor2)
		require.Equal(t, "paused", statusOf(t, f.d, f.mentor2, f.orgA), "the row exists")
		me := db.User(f.mentor, f.orgA)
		require.Empty(t, visibleMentors(t, ctx, f.d, me, "peer_mentor_status"))
		require.Empty(t, visibleMentors(t, ctx, f.d, me, "peer_mentor_status_log"))
		_, err := f.repo.Status(ctx, me, f.mentor2, f.orgA)
		require.ErrorIs(t, err, db.ErrNotFound)
		history, err := f.repo.History(ctx, me, f.mentor2, f.orgA)
		require.NoError(t, err)
		require.Empty(t, history)
	})

	t.Run("PS-RLS-3 seed case 3: a coordinator can SELECT every status in their org", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		ctx := pgtest.Ctx(t)
		for _, m := range []uuid.UUID{f.mentor, f.mentor2, f.mentorBoth, f.mentor3} {
			f.mustPause(t, ctx, m, f.orgA, m)
		}
		f.mustResume(t, ctx, f.mentor2, f.orgA, f.mentor2) // active rows too
		f.mustPause(t, ctx, f.coordB, f.orgB, f.mentorB)
		want := []uuid.UUID{f.mentor, f.mentor2, f.mentorBoth, f.mentor3}
		coord := db.User(f.coordA, f.orgA)
		require.ElementsMatch(t, want, visibleMentors(t, ctx, f.d, coord, "peer_mentor_status"))
		require.ElementsMatch(t, want, visibleMentors(t, ctx, f.d, coord, "peer_mentor_status_log"))
		all, err := f.repo.OrgStatuses(ctx, coord, f.orgA)
		require.NoError(t, err)
		require.Len(t, all, 4)
	})

	t.Run("PS-RLS-4 seed case 4: cross-org SELECT returns nothing, forged organization_id claim included", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		ctx := pgtest.Ctx(t)
		f.mustPause(t, ctx, f.coordA, f.orgA, f.mentor)
		f.mustPause(t, ctx, f.coordA, f.orgA, f.mentor2)
		f.mustPause(t, ctx, f.coordB, f.orgB, f.mentorB)
		cases := []struct {
			name   string
			claims db.Claims
			own    []uuid.UUID // what the caller does see: proof the query works
		}{
			{"coordinator of org B", db.User(f.coordB, f.orgB), []uuid.UUID{f.mentorB}},
			{"coordinator of org B, claim forged to org A", db.User(f.coordB, f.orgA), []uuid.UUID{f.mentorB}},
			{"mentor of org B", db.User(f.mentorB, f.orgB), []uuid.UUID{f.mentorB}},
			{"mentor of org B, claim forged to org A", db.User(f.mentorB, f.orgA), []uuid.UUID{f.mentorB}},
			{"no member, claim forged to org A", db.User(f.stranger, f.orgA), nil},
		}
		for _, c := range cases {
			for _, table := range []string{"peer_mentor_status", "peer_mentor_status_log"} {
				require.ElementsMatch(t, c.own, visibleMentors(t, ctx, f.d, c.claims, table), "%s: %s", c.name, table)
			}
			rows, err := f.repo.OrgStatuses(ctx, c.claims, f.orgA)
			require.NoError(t, err, c.name)
			require.Empty(t, rows, c.name)
			_, err = f.repo.Status(ctx, c.claims, f.mentor, f.orgA)
			require.ErrorIs(t, err, db.ErrNotFound, c.name)
		}
	})

	t.Run("PS-RPC-1 seed case 5: activate_pause pauses and inserts exactly one log row", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		ctx := pgtest.Ctx(t)
		back := pauseReturnDate(90) // within the accepted window (PS-IN-1) whenever the test runs
		// By the mentor themself (first pause: creates the row) ...
		got, err := f.repo.Pause(ctx, db.User(f.mentor, f.orgA), f.mentor, db.PauseOptions{Reason: "exams", ExpectedReturn: &back})
		require.NoError(t, err)
		require.Equal(t, db.PausePaused, got.State)
		require.Equal(t, f.mentor, got.PeerMentorID)
		require.Equal(t, f.orgA, got.OrgID)
		require.Equal(t, "exams", got.Reason)
		require.Equal(t, f.mentor, got.UpdatedBy)
		require.NotNil(t, got.PausedAt)
		require.NotNil(t, got.ExpectedReturn)
		require.True(t, back.Equal(*got.ExpectedReturn))
		require.Equal(t, "paused", statusOf(t, f.d, f.mentor, f.orgA))
		require.Equal(t, []pauseLog{{"active", "paused", &f.mentor}}, logRows(t, f.d, f.mentor, f.orgA))

		// ... and by a coordinator, through the RPC as a client calls it (existing row: the update path).
		f.mustPause(t, ctx, f.coordA, f.orgA, f.mentor2)
		f.mustResume(t, ctx, f.coordA, f.orgA, f.mentor2)
		var status string
		require.NoError(t, f.d.As(ctx, db.User(f.coordA, f.orgA), func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT status FROM activate_pause($1)`, f.mentor2).Scan(&status)
		}))
		require.Equal(t, "paused", status)
		require.Equal(t, "paused", statusOf(t, f.d, f.mentor2, f.orgA))
		require.Equal(t, []pauseLog{{"active", "paused", &f.coordA}, {"paused", "active", &f.coordA}, {"active", "paused", &f.coordA}},
			logRows(t, f.d, f.mentor2, f.orgA))
	})

	t.Run("PS-RPC-1 seed case 5: a failing log insert leaves the status unchanged (atomic)", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		ctx := pgtest.Ctx(t)
		failLogInserts(t, f.d)
		me := db.User(f.mentor, f.orgA)
		// First pause (INSERT path): no status row, no log row.
		_, err := f.repo.Pause(ctx, me, f.mentor, db.PauseOptions{Reason: pauseFailingReason})
		requirePauseError(t, err, db.ErrCheck, "23514", "pause_test_log_fails")
		require.Equal(t, "", statusOf(t, f.d, f.mentor, f.orgA))
		require.Empty(t, logRows(t, f.d, f.mentor, f.orgA))
		// Later pause (UPDATE path): still active, log unchanged.
		f.mustPause(t, ctx, f.mentor, f.orgA, f.mentor)
		f.mustResume(t, ctx, f.mentor, f.orgA, f.mentor)
		_, err = f.repo.Pause(ctx, me, f.mentor, db.PauseOptions{Reason: pauseFailingReason})
		requirePauseError(t, err, db.ErrCheck, "23514", "pause_test_log_fails")
		require.Equal(t, "active", statusOf(t, f.d, f.mentor, f.orgA))
		require.Len(t, logRows(t, f.d, f.mentor, f.orgA), 2)
	})

	t.Run("PS-RPC-2 seed case 6: deactivate_pause resumes and inserts exactly one log row", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		ctx := pgtest.Ctx(t)
		back := pauseReturnDate(90) // within the accepted window (PS-IN-1) whenever the test runs
		_, err := f.repo.Pause(ctx, db.User(f.coordA, f.orgA), f.mentor, db.PauseOptions{Reason: "travel", ExpectedReturn: &back})
		require.NoError(t, err)
		got, err := f.repo.Resume(ctx, db.User(f.mentor, f.orgA), f.mentor, "back")
		require.NoError(t, err)
		require.Equal(t, db.PauseActive, got.State)
		require.Equal(t, "back", got.Reason)
		require.Equal(t, f.mentor, got.UpdatedBy)
		require.Nil(t, got.PausedAt)
		require.Nil(t, got.ExpectedReturn)
		require.Equal(t, "active", statusOf(t, f.d, f.mentor, f.orgA))
		require.Equal(t, []pauseLog{{"active", "paused", &f.coordA}, {"paused", "active", &f.mentor}}, logRows(t, f.d, f.mentor, f.orgA))
		history, err := f.repo.History(ctx, db.User(f.mentor, f.orgA), f.mentor, f.orgA)
		require.NoError(t, err)
		require.Len(t, history, 2)
		require.Equal(t, "back", history[1].Reason)

		// By a coordinator, through the RPC as a client calls it.
		f.mustPause(t, ctx, f.mentor2, f.orgA, f.mentor2)
		var status string
		require.NoError(t, f.d.As(ctx, db.User(f.coordA, f.orgA), func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT status FROM deactivate_pause($1, 'ok')`, f.mentor2).Scan(&status)
		}))
		require.Equal(t, "active", status)
		require.Equal(t, []pauseLog{{"active", "paused", &f.mentor2}, {"paused", "active", &f.coordA}}, logRows(t, f.d, f.mentor2, f.orgA))
	})

	t.Run("PS-RPC-2 a failing log insert leaves the status unchanged (atomic)", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		ctx := pgtest.Ctx(t)
		failLogInserts(t, f.d)
		f.mustPause(t, ctx, f.mentor, f.orgA, f.mentor)
		_, err := f.repo.Resume(ctx, db.User(f.coordA, f.orgA), f.mentor, pauseFailingReason)
		requirePauseError(t, err, db.ErrCheck, "23514", "pause_test_log_fails")
		require.Equal(t, "paused", statusOf(t, f.d, f.mentor, f.orgA))
		require.Equal(t, []pauseLog{{"active", "paused", &f.mentor}}, logRows(t, f.d, f.mentor, f.orgA))
		f.mustResume(t, ctx, f.coordA, f.orgA, f.mentor) // the same call without the failing log row works
	})

	t.Run("PS-RPC-4 seed case 8: an organization_id claim that does not match the mentor's org raises MD001", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		ctx := pgtest.Ctx(t)
		f.mustPause(t, ctx, f.mentor2, f.orgA, f.mentor2) // so deactivate has a row to find
		cases := []struct {
			name   string
			claims db.Claims
			mentor uuid.UUID
		}{
			{"mentor of org A claiming org B", db.User(f.mentor, f.orgB), f.mentor},
			{"mentor of org A claiming an org that does not exist", db.User(f.mentor2, uuid.New()), f.mentor2},
			{"coordinator of org B pausing a mentor of org A", db.User(f.coordB, f.orgB), f.mentor2},
		}
		for _, c := range cases {
			for _, rpc := range []string{`SELECT activate_pause($1)`, `SELECT deactivate_pause($1)`} {
				err := callAs(ctx, f.d, c.claims, rpc, c.mentor)
				requirePauseError(t, err, db.ErrOrgMismatch, db.SQLStateOrgMismatch, db.ConstraintPeerMentorStatusOrgMismatch)
			}
		}
		require.Equal(t, "", statusOf(t, f.d, f.mentor, f.orgA))
		require.Equal(t, "paused", statusOf(t, f.d, f.mentor2, f.orgA))
		require.Len(t, logRows(t, f.d, f.mentor2, f.orgA), 1)
		require.Equal(t, 1, pauseCountRows(t, f.d, "peer_mentor_status_log"), "nothing written for any org")

		// A claim forged to the mentor's org by an outsider is not a mismatch: it is refused outright.
		err := callAs(ctx, f.d, db.User(f.coordB, f.orgA), `SELECT deactivate_pause($1)`, f.mentor2)
		requirePauseError(t, err, db.ErrNotPermitted, db.SQLStateNotPermitted, db.ConstraintPeerMentorStatusNotPermitted)
		require.Equal(t, "paused", statusOf(t, f.d, f.mentor2, f.orgA))
	})

	t.Run("PS-RPC-5 get_active_pauses_for_chapter returns that chapter's paused mentors only, nothing for another org's chapter", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		ctx := pgtest.Ctx(t)
		for _, m := range []uuid.UUID{f.mentor, f.mentor2, f.mentorBoth, f.mentor3} {
			f.mustPause(t, ctx, f.coordA, f.orgA, m)
		}
		f.mustResume(t, ctx, f.coordA, f.orgA, f.mentor2) // active again: not listed
		f.mustPause(t, ctx, f.coordB, f.orgB, f.mentorB)  // other org
		f.mustPause(t, ctx, f.coordB, f.orgB, f.dualOrg)  // in chapter A1, but paused in org B only
		chapter := func(claims db.Claims, ch uuid.UUID) []uuid.UUID {
			var ids []uuid.UUID
			require.NoError(t, f.d.As(ctx, claims, func(tx pgx.Tx) error {
				rows, err := tx.Query(ctx, `SELECT peer_mentor_id FROM get_active_pauses_for_chapter($1)`, ch)
				if err != nil {
					return err
				}
				ids, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
				return err
			}))
			via, err := f.repo.ChapterPauses(ctx, claims, ch)
			require.NoError(t, err)
			require.Len(t, via, len(ids), "the repository agrees")
			return ids
		}
		coordA, coordB := db.User(f.coordA, f.orgA), db.User(f.coordB, f.orgB)
		require.ElementsMatch(t, []uuid.UUID{f.mentor, f.mentorBoth}, chapter(coordA, f.chA1))
		require.ElementsMatch(t, []uuid.UUID{f.mentorBoth, f.mentor3}, chapter(coordA, f.chA2))
		require.ElementsMatch(t, []uuid.UUID{f.mentorB, f.dualOrg}, chapter(coordB, f.chB))
		require.Empty(t, chapter(coordA, f.chB), "another org's chapter")
		require.Empty(t, chapter(coordB, f.chA1), "another org's chapter")
		require.Empty(t, chapter(db.User(f.coordB, f.orgA), f.chA1), "another org's chapter, claim forged")
		require.Empty(t, chapter(coordA, uuid.New()), "no such chapter")
		// A coordinator of both orgs: dualOrg, paused in org B only, is listed for chapter B, not for chapter A1.
		both := f.d.NewMember(t, f.orgA, "coordinator")
		f.d.AddMember(t, f.orgB, both, "coordinator")
		require.ElementsMatch(t, []uuid.UUID{f.mentor, f.mentorBoth}, chapter(db.User(both, f.orgA), f.chA1))
		require.ElementsMatch(t, []uuid.UUID{f.mentorB, f.dualOrg}, chapter(db.User(both, f.orgA), f.chB))
	})

	t.Run("PS-RPC-6 anon gets a PostgreSQL error (42501) from every RPC", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		ctx := pgtest.Ctx(t)
		f.mustPause(t, ctx, f.coordA, f.orgA, f.mentor2)
		for _, call := range []struct{ sql, fn string }{
			{`SELECT activate_pause($1)`, "activate_pause"},
			{`SELECT deactivate_pause($1)`, "deactivate_pause"},
			{`SELECT * FROM get_active_pauses_for_chapter($1)`, "get_active_pauses_for_chapter"},
		} {
			arg := f.mentor
			if call.fn == "deactivate_pause" {
				arg = f.mentor2
			} else if call.fn == "get_active_pauses_for_chapter" {
				arg = f.chA1
			}
			err := callAs(ctx, f.d, db.Anon(), call.sql, arg)
			requirePauseError(t, err, db.ErrNotPermitted, "42501", "")
			var pgErr *pgconn.PgError
			require.ErrorAs(t, err, &pgErr)
			require.Contains(t, pgErr.Message, "permission denied for function "+call.fn)
		}
		require.Equal(t, "", statusOf(t, f.d, f.mentor, f.orgA))
		require.Equal(t, "paused", statusOf(t, f.d, f.mentor2, f.orgA))
	})

	t.Run("PS-RPC-6 callers without a valid organization_id claim get a PostgreSQL error", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		ctx := pgtest.Ctx(t)
		f.mustPause(t, ctx, f.mentor2, f.orgA, f.mentor2)
		withMeta := func(meta, app map[string]any) db.Claims {
			return db.Claims{Sub: f.coordA, Role: db.RoleAuthenticated, UserMetadata: meta, AppMetadata: app}
		}
		bad := []struct {
			name   string
			claims db.Claims
		}{
			{"no org claim", db.User(f.coordA, uuid.Nil)},
			{"malformed uuid", withMeta(map[string]any{db.OrgClaim: "not-a-uuid"}, nil)},
			{"uuid with trailing junk", withMeta(map[string]any{db.OrgClaim: f.orgA.String() + "x"}, nil)},
			{"number", withMeta(map[string]any{db.OrgClaim: 42}, nil)},
			{"empty string", withMeta(map[string]any{db.OrgClaim: ""}, nil)},
			{"in app_metadata instead of user_metadata", withMeta(nil, map[string]any{db.OrgClaim: f.orgA.String()})},
		}
		for _, c := range bad {
			for _, rpc := range []struct {
				sql    string
				mentor uuid.UUID
			}{{`SELECT activate_pause($1)`, f.mentor}, {`SELECT deactivate_pause($1)`, f.mentor2}} {
				err := callAs(ctx, f.d, c.claims, rpc.sql, rpc.mentor)
				requirePauseError(t, err, db.ErrInvalidClaims, db.SQLStateMissingOrgClaim, db.ConstraintPeerMentorStatusOrgClaim)
			}
		}
		// A token without sub, as PostgREST would pass it (db.As refuses to send one).
		err := pauseRawRequest(ctx, f.d, fmt.Sprintf(`{"role":"authenticated","user_metadata":{"organization_id":%q}}`, f.orgA),
			`SELECT activate_pause($1)`, f.mentor)
		var pgErr *pgconn.PgError
		require.ErrorAs(t, err, &pgErr)
		require.Equal(t, "42501", pgErr.Code)
		require.Equal(t, string(db.ConstraintPeerMentorStatusNotPermitted), pgErr.ConstraintName)

		require.Equal(t, "", statusOf(t, f.d, f.mentor, f.orgA))
		require.Equal(t, "paused", statusOf(t, f.d, f.mentor2, f.orgA))
		require.Equal(t, 1, pauseCountRows(t, f.d, "peer_mentor_status_log"))
	})

	t.Run("PS-RPC-6 EXECUTE on the RPCs is granted to authenticated only, not to anon or PUBLIC", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		for _, fn := range []string{
			"public.activate_pause(uuid, text, date)",
			"public.deactivate_pause(uuid, text)",
			"public.get_active_pauses_for_chapter(uuid)",
			"private.pause_org_context(uuid)",
		} {
			var aclSet, anon, authenticated, public bool
			var grantees []string
			require.NoError(t, d.Pool.QueryRow(ctx, `
				SELECT p.proacl IS NOT NULL,
				       has_function_privilege('anon', p.oid, 'EXECUTE'),
				       has_function_privilege('authenticated', p.oid, 'EXECUTE'),
				       EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0),
				       ARRAY(SELECT DISTINCT pg_get_userbyid(a.grantee) FROM aclexplode(p.proacl) a
				             WHERE a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner ORDER BY 1)
				FROM pg_proc p WHERE p.oid = $1::text::regprocedure`, fn).Scan(&aclSet, &anon, &authenticated, &public, &grantees))
			require.True(t, aclSet, "%s: a NULL proacl means the default, EXECUTE to PUBLIC", fn)
			require.False(t, public, "%s: PUBLIC holds a privilege", fn)
			require.False(t, anon, "%s: anon may execute", fn)
			require.True(t, authenticated, fn)
			require.Equal(t, []string{"authenticated"}, grantees, fn)
		}
	})

	t.Run("PS-LOG-1 every status change by every path has exactly one log row, and every log row a change", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		ctx := pgtest.Ctx(t)
		changes := 0
		// RPC.
		f.mustPause(t, ctx, f.mentor, f.orgA, f.mentor)
		changes++
		// Direct UPDATE through the Data API, as the mentor.
		n, err := pauseExec(ctx, f.d, db.User(f.mentor, f.orgA), `UPDATE peer_mentor_status SET status = 'active' WHERE peer_mentor_id = $1`, f.mentor)
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
		changes++
		// Updates that change nothing are refused, so they cannot slip past the log.
		for _, sql := range []string{
			`UPDATE peer_mentor_status SET status = 'active' WHERE peer_mentor_id = $1`,
			`UPDATE peer_mentor_status SET reason = 'edited' WHERE peer_mentor_id = $1`,
		} {
			_, err := pauseExec(ctx, f.d, db.User(f.mentor, f.orgA), sql, f.mentor)
			requirePauseError(t, err, db.ErrInvalidTransition, db.SQLStateInvalidTransition, db.ConstraintPeerMentorStatusTransition)
		}
		// Direct INSERT through the Data API, as a coordinator: created paused, logged.
		n, err = pauseExec(ctx, f.d, db.User(f.coordA, f.orgA), `INSERT INTO peer_mentor_status (peer_mentor_id, org_id, status) VALUES ($1, $2, 'paused')`, f.mentor2, f.orgA)
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
		changes++
		// Direct INSERT of an active row: a mentor without a row is active, so no change and no log row.
		_, err = pauseExec(ctx, f.d, db.User(f.mentorBoth, f.orgA), `INSERT INTO peer_mentor_status (peer_mentor_id, org_id, status) VALUES ($1, $2, 'active')`, f.mentorBoth, f.orgA)
		require.NoError(t, err)
		// Another mentor's row is out of reach (RLS), and nobody in the API deletes.
		n, err = pauseExec(ctx, f.d, db.User(f.mentor, f.orgA), `UPDATE peer_mentor_status SET status = 'active' WHERE peer_mentor_id = $1`, f.mentor2)
		require.NoError(t, err)
		require.Zero(t, n)
		for _, claims := range []db.Claims{db.User(f.mentor, f.orgA), db.User(f.coordA, f.orgA), db.ServiceRole()} {
			_, err = pauseExec(ctx, f.d, claims, `DELETE FROM peer_mentor_status WHERE peer_mentor_id = $1`, f.mentor)
			requirePauseError(t, err, db.ErrNotPermitted, "42501", "")
		}
		// service_role reads but does not write statuses.
		_, err = pauseExec(ctx, f.d, db.ServiceRole(), `UPDATE peer_mentor_status SET status = 'paused' WHERE peer_mentor_id = $1`, f.mentor)
		requirePauseError(t, err, db.ErrNotPermitted, "42501", "")
		// The owner, with and without session_replication_role = replica.
		pauseOwnerExec(t, ctx, f.d, false, `UPDATE peer_mentor_status SET status = 'active' WHERE peer_mentor_id = $1`, f.mentor2)
		changes++
		pauseOwnerExec(t, ctx, f.d, true, `UPDATE peer_mentor_status SET status = 'paused' WHERE peer_mentor_id = $1`, f.mentor)
		changes++
		// And the RPC again.
		f.mustResume(t, ctx, f.coordA, f.orgA, f.mentor)
		changes++

		require.Equal(t, changes, pauseCountRows(t, f.d, "peer_mentor_status_log"))
		require.Equal(t, "active", statusOf(t, f.d, f.mentor, f.orgA))
		require.Equal(t, []pauseLog{{"active", "paused", &f.mentor}, {"paused", "active", &f.mentor}, {"active", "paused", nil}, {"paused", "active", &f.coordA}},
			logRows(t, f.d, f.mentor, f.orgA))
		require.Equal(t, []pauseLog{{"active", "paused", &f.coordA}, {"paused", "active", nil}}, logRows(t, f.d, f.mentor2, f.orgA))
		requireLogMatchesStatus(t, f.d)
	})

	t.Run("PS-LOG-1 a forged log insert is refused for authenticated, service_role and the owner", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		ctx := pgtest.Ctx(t)
		f.mustPause(t, ctx, f.mentor, f.orgA, f.mentor)
		var statusID uuid.UUID
		f.d.QueryRow(t, `SELECT id FROM peer_mentor_status WHERE peer_mentor_id = $1`, f.mentor).Scan(t, &statusID)
		// The most plausible forgery: it matches the status row exactly.
		const forge = `INSERT INTO peer_mentor_status_log (status_id, peer_mentor_id, org_id, previous_status, new_status)
			VALUES ($1, $2, $3, 'active', 'paused')`
		for _, claims := range []db.Claims{db.User(f.mentor, f.orgA), db.User(f.coordA, f.orgA), db.ServiceRole()} {
			_, err := pauseExec(ctx, f.d, claims, forge, statusID, f.mentor, f.orgA)
			requirePauseError(t, err, db.ErrNotPermitted, "42501", "")
		}
		for _, replica := range []bool{false, true} {
			err := pauseOwnerTry(ctx, f.d, replica, forge, statusID, f.mentor, f.orgA)
			requirePauseOwnerError(t, err, "42501", db.ConstraintPeerMentorStatusLogDirectInsert)
		}
		require.Equal(t, 1, pauseCountRows(t, f.d, "peer_mentor_status_log"))
		requireLogMatchesStatus(t, f.d)
	})

	t.Run("PS-LOG-1 log rows cannot be updated, deleted or truncated by authenticated, service_role or the owner", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		ctx := pgtest.Ctx(t)
		f.mustPause(t, ctx, f.mentor, f.orgA, f.mentor)
		f.mustResume(t, ctx, f.coordA, f.orgA, f.mentor)
		before := pauseLogSnapshot(t, f.d)
		require.Len(t, before, 2)
		writes := []string{
			`UPDATE peer_mentor_status_log SET reason = 'rewritten' WHERE peer_mentor_id = $1`,
			`DELETE FROM peer_mentor_status_log WHERE peer_mentor_id = $1`,
			`TRUNCATE peer_mentor_status_log`,
		}
		for _, sql := range writes {
			var args []any
			if strings.Contains(sql, "$1") {
				args = []any{f.mentor}
			}
			for _, claims := range []db.Claims{db.User(f.mentor, f.orgA), db.User(f.coordA, f.orgA), db.ServiceRole()} {
				_, err := pauseExec(ctx, f.d, claims, sql, args...)
				requirePauseError(t, err, db.ErrNotPermitted, "42501", "")
			}
			for _, replica := range []bool{false, true} {
				err := pauseOwnerTry(ctx, f.d, replica, sql, args...)
				requirePauseOwnerError(t, err, db.SQLStateLogImmutable, db.ConstraintPeerMentorStatusLogImmutable)
			}
		}
		require.Equal(t, before, pauseLogSnapshot(t, f.d))
	})

	t.Run("DB-2 pause errors come back through the repository as typed errors with their constraint names", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		ctx := pgtest.Ctx(t)
		f.mustPause(t, ctx, f.mentor2, f.orgA, f.mentor2)
		none := db.PauseOptions{}
		cases := []struct {
			name       string
			call       func() error
			kind       error
			code       string
			constraint db.Constraint
		}{
			{"org mismatch", func() error {
				_, err := f.repo.Pause(ctx, db.User(f.mentor, f.orgB), f.mentor, none)
				return err
			}, db.ErrOrgMismatch, db.SQLStateOrgMismatch, db.ConstraintPeerMentorStatusOrgMismatch},
			{"pause a paused mentor", func() error {
				_, err := f.repo.Pause(ctx, db.User(f.coordA, f.orgA), f.mentor2, none)
				return err
			}, db.ErrInvalidTransition, db.SQLStateInvalidTransition, db.ConstraintPeerMentorStatusTransition},
			{"resume an active mentor", func() error {
				f.mustResume(t, ctx, f.coordA, f.orgA, f.mentor2)
				_, err := f.repo.Resume(ctx, db.User(f.coordA, f.orgA), f.mentor2, "")
				return err
			}, db.ErrInvalidTransition, db.SQLStateInvalidTransition, db.ConstraintPeerMentorStatusTransition},
			{"resume a mentor never paused", func() error {
				_, err := f.repo.Resume(ctx, db.User(f.mentor3, f.orgA), f.mentor3, "")
				return err
			}, db.ErrUnknownMentor, db.SQLStateUnknownMentor, db.ConstraintPeerMentorStatusUnknownMentor},
			{"a mentor pausing another mentor", func() error {
				_, err := f.repo.Pause(ctx, db.User(f.mentor, f.orgA), f.mentor3, none)
				return err
			}, db.ErrNotPermitted, db.SQLStateNotPermitted, db.ConstraintPeerMentorStatusNotPermitted},
			{"no org claim", func() error {
				_, err := f.repo.Pause(ctx, db.User(f.mentor, uuid.Nil), f.mentor, none)
				return err
			}, db.ErrInvalidClaims, db.SQLStateMissingOrgClaim, db.ConstraintPeerMentorStatusOrgClaim},
			// The log's own defences, reached through db.As with the grants
			// that the API roles lack given to service_role in this clone:
			// the triggers still refuse.
			{"log update even when granted", func() error {
				grantLogWrites(t, f.d)
				_, err := pauseExec(ctx, f.d, db.ServiceRole(), `UPDATE peer_mentor_status_log SET reason = 'x'`)
				return err
			}, db.ErrImmutable, db.SQLStateLogImmutable, db.ConstraintPeerMentorStatusLogImmutable},
			{"log delete even when granted", func() error {
				_, err := pauseExec(ctx, f.d, db.ServiceRole(), `DELETE FROM peer_mentor_status_log`)
				return err
			}, db.ErrImmutable, db.SQLStateLogImmutable, db.ConstraintPeerMentorStatusLogImmutable},
			{"forged log insert even when granted", func() error {
				_, err := pauseExec(ctx, f.d, db.ServiceRole(), `INSERT INTO peer_mentor_status_log (status_id, peer_mentor_id, org_id, previous_status, new_status)
					SELECT id, peer_mentor_id, org_id, 'paused', status FROM peer_mentor_status`)
				return err
			}, db.ErrNotPermitted, "42501", db.ConstraintPeerMentorStatusLogDirectInsert},
		}
		for _, c := range cases {
			err := c.call()
			require.Error(t, err, c.name)
			requirePauseError(t, err, c.kind, c.code, c.constraint)
		}
		require.Equal(t, 2, pauseCountRows(t, f.d, "peer_mentor_status_log"), "no failed call wrote a log row")
	})

	pauseConcurrency(t, setup)
}

// pauseFailingReason is the reason whose log row failLogInserts rejects.
const pauseFailingReason = "log insert fails"

// failLogInserts makes, in this test's clone only, every log insert with
// pauseFailingReason fail, so a test can see what an RPC leaves behind when its
// log row cannot be written.
func failLogInserts(t *testing.T, d *pgtest.DB) {
	t.Helper()
	d.Exec(t, `ALTER TABLE peer_mentor_status_log ADD CONSTRAINT pause_test_log_fails CHECK (reason IS DISTINCT FROM '`+pauseFailingReason+`')`)
}

// grantLogWrites gives service_role, in this test's clone only, the write
// grants on the log that no API role has, to show the triggers hold anyway.
func grantLogWrites(t *testing.T, d *pgtest.DB) {
	t.Helper()
	d.Exec(t, `GRANT INSERT, UPDATE, DELETE, TRUNCATE ON peer_mentor_status_log TO service_role`)
}

func (f *pauseFixture) mustPause(t *testing.T, ctx context.Context, actor, org, mentor uuid.UUID) {
	t.Helper()
	_, err := f.repo.Pause(ctx, db.User(actor, org), mentor, db.PauseOptions{})
	require.NoError(t, err)
}

func (f *pauseFixture) mustResume(t *testing.T, ctx context.Context, actor, org, mentor uuid.UUID) {
	t.Helper()
	_, err := f.repo.Resume(ctx, db.User(actor, org), mentor, "")
	require.NoError(t, err)
}

// callAs runs sql in one request as claims.
func callAs(ctx context.Context, d *pgtest.DB, claims db.Claims, sql string, args ...any) error {
	_, err := pauseExec(ctx, d, claims, sql, args...)
	return err
}

// pauseExec runs sql in one request as claims and returns the rows it affected.
func pauseExec(ctx context.Context, d *pgtest.DB, claims db.Claims, sql string, args ...any) (int64, error) {
	var n int64
	err := d.As(ctx, claims, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, sql, args...)
		n = tag.RowsAffected()
		return err
	})
	return n, err
}

// pauseRawRequest is a PostgREST request with claims db.As would refuse to send.
func pauseRawRequest(ctx context.Context, d *pgtest.DB, claims string, sql string, args ...any) error {
	return pgx.BeginFunc(ctx, d.Pool, func(tx pgx.Tx) error {
		if err := preamble.Apply(ctx, tx, db.RoleAuthenticated, claims); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, sql, args...)
		return err
	})
}

// pauseOwnerTry runs sql as the owner (superuser) in one transaction, optionally
// with session_replication_role = replica, which switches off ordinary
// triggers.
func pauseOwnerTry(ctx context.Context, d *pgtest.DB, replica bool, sql string, args ...any) error {
	return pgx.BeginFunc(ctx, d.Pool, func(tx pgx.Tx) error {
		if replica {
			if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, sql, args...)
		return err
	})
}

func pauseOwnerExec(t *testing.T, ctx context.Context, d *pgtest.DB, replica bool, sql string, args ...any) {
	t.Helper()
	require.NoError(t, pauseOwnerTry(ctx, d, replica, sql, args...))
}

// visibleMentors returns the distinct peer_mentor_id of the rows of table
// that claims can SELECT, with no filter but RLS.
func visibleMentors(t *testing.T, ctx context.Context, d *pgtest.DB, claims db.Claims, table string) []uuid.UUID {
	t.Helper()
	var ids []uuid.UUID
	require.NoError(t, d.As(ctx, claims, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT DISTINCT peer_mentor_id FROM `+pgx.Identifier{table}.Sanitize())
		if err != nil {
			return err
		}
		ids, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		return err
	}))
	return ids
}

// statusOf reads a mentor's status as the owner ("" when there is no row).
func statusOf(t *testing.T, d *pgtest.DB, mentor, org uuid.UUID) string {
	t.Helper()
	var s string
	err := d.Pool.QueryRow(context.Background(), `SELECT status FROM peer_mentor_status WHERE peer_mentor_id = $1 AND org_id = $2`, mentor, org).Scan(&s)
	if err == pgx.ErrNoRows {
		return ""
	}
	require.NoError(t, err)
	return s
}

// logRows reads a mentor's log in one org as the owner, oldest first.
func logRows(t *testing.T, d *pgtest.DB, mentor, org uuid.UUID) []pauseLog {
	t.Helper()
	rows, err := d.Pool.Query(context.Background(), `SELECT previous_status, new_status, changed_by FROM peer_mentor_status_log
		WHERE peer_mentor_id = $1 AND org_id = $2 ORDER BY id`, mentor, org)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pauseLog, error) {
		var l pauseLog
		return l, r.Scan(&l.prev, &l.next, &l.changedBy)
	})
	require.NoError(t, err)
	return out
}

func pauseCountRows(t *testing.T, d *pgtest.DB, table string) int {
	t.Helper()
	var n int
	d.QueryRow(t, `SELECT count(*) FROM `+pgx.Identifier{table}.Sanitize()).Scan(t, &n)
	return n
}

// pauseLogSnapshot is every log row, every column, as the owner.
func pauseLogSnapshot(t *testing.T, d *pgtest.DB) []string {
	t.Helper()
	rows, err := d.Pool.Query(context.Background(), `SELECT to_jsonb(l)::text FROM peer_mentor_status_log l ORDER BY id`)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return out
}

// requireLogMatchesStatus checks PS-LOG-1 over the whole database: each
// status row's log, oldest first, is a chain of changes starting from active
// (the implicit status before a row exists) and ending at the row's status;
// every log row belongs to the status row it names.
func requireLogMatchesStatus(t *testing.T, d *pgtest.DB) {
	t.Helper()
	var orphans int
	d.QueryRow(t, `SELECT count(*) FROM peer_mentor_status_log l LEFT JOIN peer_mentor_status s
		ON s.id = l.status_id AND s.peer_mentor_id = l.peer_mentor_id AND s.org_id = l.org_id WHERE s.id IS NULL`).Scan(t, &orphans)
	require.Zero(t, orphans, "log rows without their status row")
	rows, err := d.Pool.Query(context.Background(), `SELECT peer_mentor_id, org_id, status FROM peer_mentor_status`)
	require.NoError(t, err)
	type st struct {
		mentor, org uuid.UUID
		status      string
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (st, error) {
		var s st
		return s, r.Scan(&s.mentor, &s.org, &s.status)
	})
	require.NoError(t, err)
	for _, s := range all {
		requirePauseChain(t, logRows(t, d, s.mentor, s.org), s.status)
	}
}

// requirePauseChain checks that log is a chain of real changes from active to final.
func requirePauseChain(t *testing.T, log []pauseLog, final string) {
	t.Helper()
	at := "active"
	for i, l := range log {
		require.Equal(t, at, l.prev, "log row %d does not start where the previous one ended", i)
		require.NotEqual(t, l.prev, l.next, "log row %d is not a change", i)
		at = l.next
	}
	require.Equal(t, final, at, "the log does not end at the current status")
}

// requirePauseError checks an error from db.As or a repository: its sentinel,
// SQLSTATE and constraint name.
func requirePauseError(t *testing.T, err error, kind error, code string, constraint db.Constraint) {
	t.Helper()
	require.ErrorIs(t, err, kind)
	var dbErr *db.Error
	require.ErrorAs(t, err, &dbErr)
	require.Equal(t, code, dbErr.Code, dbErr.Message)
	require.Equal(t, constraint, dbErr.Constraint, dbErr.Message)
	require.NotNil(t, dbErr.Class, "every pause error has a class: %s", dbErr.Message)
	require.ErrorIs(t, err, dbErr.Class)
}

// requirePauseOwnerError checks a raw PostgreSQL error (from the owner pool).
func requirePauseOwnerError(t *testing.T, err error, code string, constraint db.Constraint) {
	t.Helper()
	var pgErr *pgconn.PgError
	require.ErrorAs(t, err, &pgErr)
	require.Equal(t, code, pgErr.Code, pgErr.Message)
	require.Equal(t, string(constraint), pgErr.ConstraintName, pgErr.Message)
}

// pauseMigrationStatements splits an embedded migration as the runner and
// the Supabase CLI do, dropping each statement's leading comments.
func pauseMigrationStatements(t *testing.T, file string) []string {
	t.Helper()
	body, err := fs.ReadFile(schema.Migrations, "migrations/"+file)
	require.NoError(t, err)
	var out []string
	for _, s := range migrate.Split(string(body)) {
		for {
			s = strings.TrimSpace(s)
			if !strings.HasPrefix(s, "--") {
				break
			}
			_, rest, _ := strings.Cut(s, "\n")
			s = rest
		}
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// pauseReturnDate is the UTC date days after today: an expected return date
// must lie within a window that starts on the day of the pause.
func pauseReturnDate(days int) time.Time {
	y, m, d := time.Now().UTC().AddDate(0, 0, days).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
