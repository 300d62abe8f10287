package conformance

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/faultproxy"
	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
)

// testFaultPauseRetries: a Pause or Resume retried after a failure whose
// first try committed reports the state reached (ErrTransitionReached with
// the status), not a bare ErrInvalidTransition; a repeat by someone else,
// or with another reason, is ErrInvalidTransition only, and comes with the
// state the mentor is in.
func testFaultPauseRetries(t *testing.T) {
	t.Run("DB-FAULT-1 PS-LOG-1 a Pause and a Resume whose COMMIT's answer was lost, retried by the same caller with the same reason, return the status reached, with one log row each", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		f := newFaultFixture(t, d)
		p := startProxy(t, d.URL)
		app := newFaultApp(t, viaProxy(t, d.URL, p))
		ctx := pgtest.Ctx(t)
		opts := db.PauseOptions{Reason: "exams"}

		p.Arm(faultproxy.CutBeforeCommitAnswer)
		_, err := app.Pauses().Pause(ctx, f.coordClaims, f.mentor, opts)
		requireCommittedOrUnknown(t, err)
		st, err := app.Pauses().Pause(ctx, f.coordClaims, f.mentor, opts)
		require.ErrorIs(t, err, db.ErrTransitionReached, "the retry finds the pause its first try made")
		require.ErrorIs(t, err, db.ErrInvalidTransition, "and is still a refused transition for callers that know no more")
		require.Equal(t, db.PausePaused, st.State)
		require.Equal(t, f.coord, st.UpdatedBy)
		require.Equal(t, "exams", st.Reason)

		p.Arm(faultproxy.CutBeforeCommitAnswer)
		_, err = app.Pauses().Resume(ctx, f.coordClaims, f.mentor, "back")
		requireCommittedOrUnknown(t, err)
		st, err = app.Pauses().Resume(ctx, f.coordClaims, f.mentor, "back")
		require.ErrorIs(t, err, db.ErrTransitionReached, "the retry finds the resume its first try made")
		require.Equal(t, db.PauseActive, st.State)
		require.EqualValues(t, 2, p.Fired())

		var logs int
		d.QueryRow(t, `SELECT count(*) FROM peer_mentor_status_log WHERE peer_mentor_id = $1`, f.mentor).Scan(t, &logs)
		require.Equal(t, 2, logs, "one log row per change: the retries wrote none")
	})

	t.Run("DB-FAULT-1 PS-RPC-1 pausing a mentor someone else paused, or with another reason, is ErrInvalidTransition with the status the mentor is in", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		f := newFaultFixture(t, d)
		ctx := pgtest.Ctx(t)
		_, err := d.App.Pauses().Pause(ctx, f.coordClaims, f.mentor, db.PauseOptions{Reason: "exams"})
		require.NoError(t, err)

		st, err := d.App.Pauses().Pause(ctx, f.coordClaims, f.mentor, db.PauseOptions{Reason: "holiday"})
		require.ErrorIs(t, err, db.ErrInvalidTransition, "another reason is another pause, refused")
		require.NotErrorIs(t, err, db.ErrTransitionReached)
		require.Equal(t, db.PausePaused, st.State, "the error comes with the state reached")
		require.Equal(t, "exams", st.Reason)
		require.Equal(t, f.coord, st.UpdatedBy)

		_, err = d.App.Pauses().Pause(ctx, db.User(f.mentor, f.org), f.mentor, db.PauseOptions{Reason: "exams"})
		require.ErrorIs(t, err, db.ErrInvalidTransition, "the same reason from another caller is refused")
		require.NotErrorIs(t, err, db.ErrTransitionReached)

		_, err = d.App.Pauses().Resume(ctx, f.coordClaims, f.mentor, "back")
		require.NoError(t, err)
		st, err = d.App.Pauses().Resume(ctx, db.User(f.mentor, f.org), f.mentor, "back")
		require.ErrorIs(t, err, db.ErrInvalidTransition)
		require.NotErrorIs(t, err, db.ErrTransitionReached)
		require.Equal(t, db.PauseActive, st.State)

		var logs int
		d.QueryRow(t, `SELECT count(*) FROM peer_mentor_status_log WHERE peer_mentor_id = $1`, f.mentor).Scan(t, &logs)
		require.Equal(t, 2, logs)
	})
}
