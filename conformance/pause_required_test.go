package conformance

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
)

// pauseRequiredCases prove the status table's own column rules by writing
// past the RPCs: as the owner, and as a coordinator updating a status row
// directly through a request.
func pauseRequiredCases(t *testing.T) {
	t.Run("DB-2 a status row needs its mentor, org and a status; a status other than active or paused is refused, typed, naming peer_mentor_status_status_check", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		org := d.NewOrg(t)
		chapter := d.NewChapter(t, org)
		coordinator := d.NewMember(t, org, "coordinator", chapter)
		mentor := d.NewMember(t, org, "peer_mentor", chapter)
		other := d.NewMember(t, org, "peer_mentor", chapter)

		row := map[string]any{"peer_mentor_id": other, "org_id": org, "status": "active"}
		requireInsertable(t, d, "peer_mentor_status", row)
		for _, col := range []string{"peer_mentor_id", "org_id", "status"} {
			requireNullRefused(t, d, "peer_mentor_status", row, col)
		}
		requireRefused(t, d, "peer_mentor_status", map[string]any{"peer_mentor_id": other, "org_id": org, "status": "away"},
			"23514", "peer_mentor_status_status_check")

		ctx := pgtest.Ctx(t)
		d.Exec(t, `INSERT INTO peer_mentor_status (peer_mentor_id, org_id, status) VALUES ($1, $2, 'paused')`, mentor, org)
		err := d.As(ctx, db.User(coordinator, org), func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE public.peer_mentor_status SET status = 'away' WHERE peer_mentor_id = $1`, mentor)
			return err
		})
		require.ErrorIs(t, err, db.ErrCheck)
		var dbErr *db.Error
		require.ErrorAs(t, err, &dbErr)
		require.Equal(t, db.Constraint("peer_mentor_status_status_check"), dbErr.Constraint)
		var status string
		d.QueryRow(t, `SELECT status FROM peer_mentor_status WHERE peer_mentor_id = $1`, mentor).Scan(t, &status)
		require.Equal(t, "paused", status)
	})

	t.Run("PS-RLS-3 a coordinator cannot change, through the Data API, the status row of someone who no longer holds the peer_mentor role in the org", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		org := d.NewOrg(t)
		chapter := d.NewChapter(t, org)
		coordinator := d.NewMember(t, org, "coordinator", chapter)
		mentor := d.NewMember(t, org, "peer_mentor", chapter)
		d.Exec(t, `INSERT INTO peer_mentor_status (peer_mentor_id, org_id, status) VALUES ($1, $2, 'paused')`, mentor, org)
		d.Exec(t, `DELETE FROM org_members WHERE org_id = $1 AND user_id = $2 AND role = 'peer_mentor'`, org, mentor)
		ctx := pgtest.Ctx(t)
		var n int
		err := d.As(ctx, db.User(coordinator, org), func(tx pgx.Tx) error {
			// The row is still the coordinator's to see (USING) ...
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM public.peer_mentor_status WHERE peer_mentor_id = $1`, mentor).Scan(&n); err != nil {
				return err
			}
			// ... but not to change: WITH CHECK wants a peer mentor.
			_, err := tx.Exec(ctx, `UPDATE public.peer_mentor_status SET status = 'active' WHERE peer_mentor_id = $1`, mentor)
			return err
		})
		require.Equal(t, 1, n)
		require.ErrorIs(t, err, db.ErrNotPermitted)
		var status string
		d.QueryRow(t, `SELECT status FROM peer_mentor_status WHERE peer_mentor_id = $1`, mentor).Scan(t, &status)
		require.Equal(t, "paused", status)
	})

	t.Run("PS-RLS-3 PS-RLS-4 an UPDATE that reads no column (only the update policy's USING picks the rows) changes the caller's own rows and no other mentor's or org's", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		org, otherOrg := d.NewOrg(t), d.NewOrg(t)
		chapter, otherChapter := d.NewChapter(t, org), d.NewChapter(t, otherOrg)
		coordinator := d.NewMember(t, org, "coordinator", chapter)
		mentor := d.NewMember(t, org, "peer_mentor", chapter)
		colleague := d.NewMember(t, org, "peer_mentor", chapter)
		stranger := d.NewMember(t, otherOrg, "peer_mentor", otherChapter)
		for _, row := range []struct{ mentor, org any }{{mentor, org}, {colleague, org}, {stranger, otherOrg}} {
			d.Exec(t, `INSERT INTO peer_mentor_status (peer_mentor_id, org_id, status) VALUES ($1, $2, 'active')`, row.mentor, row.org)
		}
		ctx := pgtest.Ctx(t)
		statuses := func() map[string]string {
			got := map[string]string{}
			rows, err := d.Pool.Query(ctx, `SELECT peer_mentor_id::text, status FROM peer_mentor_status`)
			require.NoError(t, err)
			defer rows.Close()
			for rows.Next() {
				var id, status string
				require.NoError(t, rows.Scan(&id, &status))
				got[id] = status
			}
			require.NoError(t, rows.Err())
			return got
		}
		// No WHERE and a constant SET: PostgreSQL then applies the UPDATE
		// policy's USING alone (a statement that reads a column would also
		// be filtered by the SELECT policy), so this is what USING admits.
		update := func(claims db.Claims, status string) int64 {
			var tag pgconn.CommandTag
			require.NoError(t, d.As(ctx, claims, func(tx pgx.Tx) (err error) {
				tag, err = tx.Exec(ctx, `UPDATE public.peer_mentor_status SET status = $1`, status)
				return err
			}))
			return tag.RowsAffected()
		}

		require.EqualValues(t, 2, update(db.User(coordinator, org), "paused"), "every row of the coordinator's org")
		require.Equal(t, map[string]string{mentor.String(): "paused", colleague.String(): "paused", stranger.String(): "active"}, statuses())

		require.EqualValues(t, 1, update(db.User(mentor, org), "active"), "the peer mentor's own row")
		require.Equal(t, map[string]string{mentor.String(): "active", colleague.String(): "paused", stranger.String(): "active"}, statuses())
	})

	t.Run("PS-LOG-1 in replica mode too, the owner's insert of a paused row writes its log row and a no-change update is refused", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		org := d.NewOrg(t)
		chapter := d.NewChapter(t, org)
		mentor := d.NewMember(t, org, "peer_mentor", chapter)
		ctx := pgtest.Ctx(t)
		require.NoError(t, pauseOwnerTry(ctx, d, true, `INSERT INTO peer_mentor_status (peer_mentor_id, org_id, status) VALUES ($1, $2, 'paused')`, mentor, org))
		var logs int
		d.QueryRow(t, `SELECT count(*) FROM peer_mentor_status_log WHERE peer_mentor_id = $1 AND previous_status = 'active' AND new_status = 'paused'`, mentor).Scan(t, &logs)
		require.Equal(t, 1, logs, "the insert's log row, written in replica mode")
		err := pauseOwnerTry(ctx, d, true, `UPDATE peer_mentor_status SET status = 'paused' WHERE peer_mentor_id = $1`, mentor)
		requirePauseOwnerError(t, err, "MD002", "peer_mentor_status_transition")
		d.QueryRow(t, `SELECT count(*) FROM peer_mentor_status_log WHERE peer_mentor_id = $1`, mentor).Scan(t, &logs)
		require.Equal(t, 1, logs)
	})

	t.Run("PS-RPC-6 anon is refused EXECUTE on each RPC itself, not only on what the RPC calls", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		for _, call := range []struct{ name, sql string }{
			{"activate_pause", `SELECT public.activate_pause(gen_random_uuid())`},
			{"deactivate_pause", `SELECT public.deactivate_pause(gen_random_uuid())`},
			{"get_active_pauses_for_chapter", `SELECT count(*) FROM public.get_active_pauses_for_chapter(gen_random_uuid())`},
		} {
			err := d.As(ctx, db.Anon(), func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, call.sql)
				return err
			})
			var pgErr *pgconn.PgError
			require.ErrorAs(t, err, &pgErr, call.name)
			require.Equal(t, "42501", pgErr.Code, pgErr.Message)
			require.Equal(t, "permission denied for function "+call.name, pgErr.Message)
		}
	})
}
