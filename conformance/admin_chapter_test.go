package conformance

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
)

// adminChapterCases prove that a chapter membership always carries its
// chapter's org, also for service_role writing the table itself (it holds
// INSERT and UPDATE on it), not only through db's Admin calls, which derive
// the org from the chapter.
func adminChapterCases(t *testing.T) {
	t.Run("DB-ADM-1 a chapter membership naming an org other than its chapter's is refused, on INSERT and on UPDATE, even for service_role", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		org, other := d.NewOrg(t), d.NewOrg(t)
		chapter := d.NewChapter(t, org)
		user := d.NewMember(t, org, "peer_mentor", chapter)
		d.AddMember(t, other, user, "peer_mentor")
		for _, q := range []string{
			`INSERT INTO public.chapter_members (chapter_id, org_id, user_id) VALUES ($1, $2, $3) ON CONFLICT (chapter_id, user_id) DO UPDATE SET org_id = excluded.org_id`,
			`UPDATE public.chapter_members SET org_id = $2 WHERE chapter_id = $1 AND user_id = $3`,
		} {
			err := d.As(ctx, db.ServiceRole(), func(tx pgx.Tx) error { _, err := tx.Exec(ctx, q, chapter, other, user); return err })
			requireCode(t, err, "23503", db.ConstraintChapterMembersChapterOrgFkey)
		}
		var got int
		d.QueryRow(t, `SELECT count(*) FROM chapter_members WHERE chapter_id = $1 AND org_id = $2`, chapter, org).Scan(t, &got)
		require.Equal(t, 1, got)
	})
	t.Run("DB-ADM-1 service code acting as service_role may call the membership helpers the foundation grants it EXECUTE on; with no user in its claims they answer for no one", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		org := d.NewOrg(t)
		coord := d.NewMember(t, org, "coordinator")
		var isCoord bool
		var orgs int
		require.NoError(t, d.As(ctx, db.ServiceRole(), func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT private.has_org_role($1, $2, 'coordinator'),
				cardinality(ARRAY(SELECT private.org_ids_with_role(ARRAY['coordinator'])))`, coord, org).Scan(&isCoord, &orgs)
		}))
		// has_org_role answers only about memberships the caller's user
		// may read, and org_ids_with_role lists the caller's user's orgs.
		require.False(t, isCoord, "service_role's claims name no user")
		require.Zero(t, orgs, "service_role's claims name no user")
	})
}
