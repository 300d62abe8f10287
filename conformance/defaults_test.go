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

// defaultCases prove the column defaults a writer relies on when it leaves a
// column out, as PostgREST does for every field a request omits.
func defaultCases(t *testing.T) {
	t.Run("PA-COL-1 a row written without its timestamps gets the time of its write in every table, and an activity inserted without is_recurring is not recurring", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		var before, after time.Time
		d.QueryRow(t, `SELECT clock_timestamp()`).Scan(t, &before)
		org := d.NewOrg(t)
		chapter := d.NewChapter(t, org)
		coord := d.NewMember(t, org, "coordinator")
		mentor := d.NewMember(t, org, "peer_mentor", chapter)
		d.Exec(t, `INSERT INTO recurring_activity_templates (org_id, created_by, activity_type, title) VALUES ($1, $2, 'visit', 'weekly')`, org, coord)
		// As PostgREST inserts a body that omits is_recurring and the
		// timestamps.
		var id uuid.UUID
		var recurring bool
		require.NoError(t, d.As(ctx, db.User(coord, org), func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `INSERT INTO public.proxy_activities (coordinator_id, attributed_mentor_id, org_id, activity_type, date, duration_minutes)
				VALUES ($1, $2, $3, 'visit', $4, 30) RETURNING id, is_recurring`, coord, mentor, org, proxyDay).Scan(&id, &recurring)
		}))
		require.False(t, recurring)
		_, err := d.App.Pauses().Pause(ctx, db.User(mentor, org), mentor, db.PauseOptions{Reason: "exams"})
		require.NoError(t, err)
		d.QueryRow(t, `SELECT clock_timestamp()`).Scan(t, &after)

		for _, c := range []struct{ table, column string }{
			{"organizations", "created_at"}, {"chapters", "created_at"}, {"org_members", "created_at"},
			{"chapter_members", "created_at"}, {"recurring_activity_templates", "created_at"},
			{"proxy_activities", "created_at"}, {"proxy_activities", "updated_at"}, {"proxy_audit_log", "at"},
			{"peer_mentor_status", "updated_at"}, {"peer_mentor_status_log", "changed_at"},
		} {
			var rows, inWindow int
			d.QueryRow(t, `SELECT count(*), count(*) FILTER (WHERE `+c.column+` BETWEEN $1 AND $2) FROM public.`+c.table, before, after).
				Scan(t, &rows, &inWindow)
			require.Positive(t, rows, c.table)
			require.Equal(t, rows, inWindow, "%s.%s is the time of the write", c.table, c.column)
		}
	})
}
