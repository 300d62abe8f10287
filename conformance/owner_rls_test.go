package conformance

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
)

// ownerRLSCases prove the premise of the threat model about the table owner
// (HACKING.md, "Threat model (CONF-5)"): it bypasses RLS, because every
// table enables RLS and none forces it. Forcing it would subject the owner,
// and every SECURITY DEFINER function it owns, to policies written for
// signed-in callers.
func ownerRLSCases(t *testing.T) {
	t.Run("CONF-5 PS-LOG-2 the non-superuser owner is not subject to RLS on any table: with no claims it reads every row of each", func(t *testing.T) {
		t.Parallel()
		f := ownerSetup(t, false)
		ctx := pgtest.Ctx(t)
		// A row in the tables the fixture leaves empty.
		chapter := f.d.NewChapter(t, f.org)
		f.d.AddChapterMember(t, f.org, chapter, f.mentor)
		f.d.Exec(t, `INSERT INTO recurring_activity_templates (org_id, created_by, activity_type, title) VALUES ($1, $2, 'visit', 'weekly')`, f.org, f.coord)

		rows, err := f.d.Pool.Query(ctx, `SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relrowsecurity ORDER BY 1`)
		require.NoError(t, err)
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		require.NotEmpty(t, tables)
		for _, table := range tables {
			var all, owner int
			f.d.QueryRow(t, `SELECT count(*) FROM `+table).Scan(t, &all)
			require.Positive(t, all, "%s has rows", table)
			require.NoError(t, f.asOwner(ctx, false, func(tx pgx.Tx) error {
				return tx.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&owner)
			}))
			require.Equal(t, all, owner, "the owner reads every row of %s", table)
		}
	})
}
