package conformance

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
)

// wireDoTxCases count DoTx's round trips against Do's for the same work.
func wireDoTxCases(t *testing.T) {
	t.Run("DB-WIRE-1 DoTx on the caller's transaction costs at most one round trip more than Do for the same work (Create, Pause, one own statement)", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		app, pool, counter := countedApp(t, d)
		org := d.NewOrg(t)
		coord := d.NewMember(t, org, "coordinator")
		claims := db.User(coord, org)
		var mentors []uuid.UUID
		for range 4 {
			mentors = append(mentors, d.NewMember(t, org, "peer_mentor"))
		}
		next := 0
		work := func(r *db.Request) error {
			m := mentors[next]
			next++
			if _, err := r.Activities().Create(ctx, db.NewProxyActivity{
				AttributedMentorID: m, OrgID: org, ActivityType: "visit", Date: proxyDay, DurationMinutes: 30}); err != nil {
				return err
			}
			if _, err := r.Pauses().Pause(ctx, m, db.PauseOptions{Reason: "holiday"}); err != nil {
				return err
			}
			var n int
			return r.Tx().QueryRow(ctx, `SELECT count(*) FROM proxy_activities WHERE attributed_mentor_id = $1`, m).Scan(&n)
		}
		doTrips := tripsOf(t, counter, func() error { return app.Do(ctx, claims, work) })
		tx, err := pool.Begin(ctx)
		require.NoError(t, err)
		defer tx.Rollback(ctx)
		doTxTrips := tripsOf(t, counter, func() error { return db.DoTx(ctx, tx, claims, work) })
		require.NoError(t, tx.Commit(ctx))
		t.Logf("round trips: Do %d, DoTx %d", doTrips, doTxTrips)
		require.LessOrEqual(t, doTxTrips, doTrips+1, "DoTx %d round trips, Do %d", doTxTrips, doTrips)
	})
}
