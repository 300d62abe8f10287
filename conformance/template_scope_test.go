package conformance

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
)

// templateScopeCases prove what the template UPDATE and DELETE policies'
// USING admit on their own. A statement with no WHERE (and, for an UPDATE,
// a constant SET) and no RETURNING reads no column, so PostgreSQL filters
// its rows by that command's policy alone, not by the SELECT policy too.
func templateScopeCases(t *testing.T) {
	t.Run("DB-1 a coordinator's UPDATE of templates that reads no column changes their org's templates and none of another org", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		org, otherOrg := d.NewOrg(t), d.NewOrg(t)
		coordinator := d.NewMember(t, org, "coordinator", d.NewChapter(t, org))
		otherCoordinator := d.NewMember(t, otherOrg, "coordinator", d.NewChapter(t, otherOrg))
		const insert = `INSERT INTO recurring_activity_templates (org_id, created_by, activity_type, title) VALUES ($1, $2, 'visit', 'before')`
		d.Exec(t, insert, org, coordinator)
		d.Exec(t, insert, otherOrg, otherCoordinator)

		ctx := pgtest.Ctx(t)
		var affected int64
		require.NoError(t, d.As(ctx, db.User(coordinator, org), func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, `UPDATE public.recurring_activity_templates SET title = 'after'`)
			affected = tag.RowsAffected()
			return err
		}))
		require.EqualValues(t, 1, affected)
		var mine, theirs string
		d.QueryRow(t, `SELECT title FROM recurring_activity_templates WHERE org_id = $1`, org).Scan(t, &mine)
		d.QueryRow(t, `SELECT title FROM recurring_activity_templates WHERE org_id = $1`, otherOrg).Scan(t, &theirs)
		require.Equal(t, "after", mine)
		require.Equal(t, "before", theirs, "another org's template is out of the policy's reach")
	})

	t.Run("DB-1 a DELETE of templates that reads no column removes, for a coordinator, their org's templates and none of another org, and for a peer mentor none", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		org, otherOrg := d.NewOrg(t), d.NewOrg(t)
		chapter := d.NewChapter(t, org)
		coordinator := d.NewMember(t, org, "coordinator", chapter)
		mentor := d.NewMember(t, org, "peer_mentor", chapter)
		otherCoordinator := d.NewMember(t, otherOrg, "coordinator", d.NewChapter(t, otherOrg))
		const insert = `INSERT INTO recurring_activity_templates (org_id, created_by, activity_type, title) VALUES ($1, $2, 'visit', 'kept')`
		d.Exec(t, insert, org, coordinator)
		d.Exec(t, insert, otherOrg, otherCoordinator)

		ctx := pgtest.Ctx(t)
		remove := func(claims db.Claims) int64 {
			var affected int64
			require.NoError(t, d.As(ctx, claims, func(tx pgx.Tx) error {
				tag, err := tx.Exec(ctx, `DELETE FROM public.recurring_activity_templates`)
				affected = tag.RowsAffected()
				return err
			}))
			return affected
		}
		count := func(o any) int {
			var n int
			d.QueryRow(t, `SELECT count(*) FROM recurring_activity_templates WHERE org_id = $1`, o).Scan(t, &n)
			return n
		}

		require.Zero(t, remove(db.User(mentor, org)), "a peer mentor of the org deletes no template")
		require.Equal(t, 1, count(org))
		require.Equal(t, 1, count(otherOrg))

		require.EqualValues(t, 1, remove(db.User(coordinator, org)))
		require.Zero(t, count(org), "the coordinator's org's template is gone")
		require.Equal(t, 1, count(otherOrg), "another org's template is out of the policy's reach")
	})
}
