package conformance

import (
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/faultproxy"
	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
)

// testFaultRetries: what a caller does after a failed request (retry it)
// is safe: a Create retried with its ID never makes a second row, and an ID
// reused for something else is a typed conflict.
func testFaultRetries(t *testing.T) {
	t.Run("DB-FAULT-1 PA-AUD-1 a Create whose COMMIT's answer was lost, retried with its ID, returns the row the first try committed: one row, one audit row", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		f := newFaultFixture(t, d)
		p := startProxy(t, d.URL)
		app := newFaultApp(t, viaProxy(t, d.URL, p))
		ctx := pgtest.Ctx(t)
		in := f.newActivity("retried")
		in.ID = uuid.New()
		p.Arm(faultproxy.CutBeforeCommitAnswer)
		_, err := app.ProxyActivities().Create(ctx, f.coordClaims, in)
		requireCommittedOrUnknown(t, err)
		require.EqualValues(t, 1, p.Fired())

		got, err := app.ProxyActivities().Create(ctx, f.coordClaims, in)
		require.NoError(t, err)
		require.Equal(t, in.ID, got.ID)
		require.Equal(t, "retried", got.Notes)
		var rows, audits int
		d.QueryRow(t, `SELECT (SELECT count(*) FROM proxy_activities WHERE id = $1),
			(SELECT count(*) FROM proxy_audit_log WHERE activity_id = $1)`, in.ID).Scan(t, &rows, &audits)
		require.Equal(t, 1, rows)
		require.Equal(t, 1, audits, "the retry wrote no second audit row")

		// Inside a request of the caller's composing, the same.
		require.NoError(t, app.Do(ctx, f.coordClaims, func(r *db.Request) error {
			again, err := r.Activities().Create(ctx, in)
			if err == nil && again.ID != in.ID {
				return errors.New("another id")
			}
			return err
		}))
	})

	t.Run("DB-FAULT-1 PA-RLS-2 a Create whose ID is taken by an activity with other fields, or by one the caller cannot see, fails with ErrIDConflict (Class ErrUnique) and changes nothing", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		f := newFaultFixture(t, d)
		other := newFaultFixture(t, d) // a coordinator of another org
		ctx := pgtest.Ctx(t)
		in := f.newActivity("first")
		in.ID = uuid.New()
		first, err := d.App.ProxyActivities().Create(ctx, f.coordClaims, in)
		require.NoError(t, err)

		changed := in
		changed.Notes = "something else"
		_, err = d.App.ProxyActivities().Create(ctx, f.coordClaims, changed)
		requireIDConflict(t, err)

		foreign := other.newActivity("first")
		foreign.ID = in.ID
		_, err = d.App.ProxyActivities().Create(ctx, other.coordClaims, foreign)
		requireIDConflict(t, err)
		require.NotContains(t, err.Error(), f.org.String(), "the conflict does not reveal the hidden row")

		var notes string
		var audits int
		d.QueryRow(t, `SELECT notes, (SELECT count(*) FROM proxy_audit_log WHERE activity_id = $1) FROM proxy_activities WHERE id = $1`, in.ID).Scan(t, &notes, &audits)
		require.Equal(t, "first", notes)
		require.Equal(t, 1, audits)

		again, err := d.App.ProxyActivities().Create(ctx, f.coordClaims, in)
		require.NoError(t, err, "the same Create again is no conflict")
		require.Equal(t, first.ID, again.ID)
		require.Equal(t, first.CreatedAt, again.CreatedAt, "it is the first row, not a new one")

		plain, err := d.App.ProxyActivities().Create(ctx, f.coordClaims, f.newActivity("no id"))
		require.NoError(t, err)
		require.NotEqual(t, uuid.Nil, plain.ID, "without an ID the database picks one")

		_, err = d.App.ProxyActivities().CreateMany(ctx, f.coordClaims, f.org, uuid.Nil, []db.NewProxyActivity{in})
		require.ErrorIs(t, err, db.ErrInvalidInput, "CreateMany takes no caller IDs")
	})
}

func requireIDConflict(t *testing.T, err error) {
	t.Helper()
	require.ErrorIs(t, err, db.ErrIDConflict)
	require.ErrorIs(t, err, db.ErrUnique)
	var e *db.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, db.ConstraintProxyActivitiesPkey, e.Constraint)
}

// requireCommittedOrUnknown is the first try of a request whose COMMIT's
// answer was cut: it committed, and db either found that out (pg_xact_status
// on another connection: no error) or says it cannot know
// (ErrOutcomeUnknown). Either way the retry that follows must find it.
func requireCommittedOrUnknown(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		require.ErrorIs(t, err, db.ErrOutcomeUnknown, "the first try's COMMIT was sent and its answer cut")
	}
}
