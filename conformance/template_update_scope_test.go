package conformance

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
)

// templateUpdateScopeCases prove what the template UPDATE policy's USING
// admits on its own. A statement with no WHERE and a constant SET reads no
// column, so PostgreSQL filters its rows by the UPDATE policy alone, not by
// the SELECT policy too.
func templateUpdateScopeCases(t *testing.T) {
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
}
