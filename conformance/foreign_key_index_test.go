package conformance

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
)

// foreignKeyIndexCases show that every foreign key's lookup (the one
// PostgreSQL runs when the referenced row is deleted, and the one an app
// runs to list a parent's children) reads an index that leads with the
// key. The tables are small here, so sequential scans are switched off for
// the EXPLAIN: the planner then reads the cheapest index, which is the
// key's own when it exists and a full scan of another index when it does
// not.
func foreignKeyIndexCases(t *testing.T) {
	t.Run("PA-IDX-1 every foreign key's lookup reads the index made for it (EXPLAIN, sequential scans off)", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		id := uuid.New()
		cases := []struct{ index, sql string }{
			{"chapters_org_id_idx", `SELECT 1 FROM public.chapters WHERE org_id = $1`},
			{"chapter_members_org_id_idx", `SELECT 1 FROM public.chapter_members WHERE org_id = $1`},
			{"chapter_members_user_id_idx", `SELECT 1 FROM public.chapter_members WHERE user_id = $1`},
			{"chapter_members_chapter_org_idx", `SELECT 1 FROM public.chapter_members WHERE chapter_id = $1 AND org_id = $1`},
			{"org_members_user_id_idx", `SELECT 1 FROM public.org_members WHERE user_id = $1`},
			{"recurring_activity_templates_org_id_idx", `SELECT 1 FROM public.recurring_activity_templates WHERE org_id = $1`},
			{"recurring_activity_templates_created_by_idx", `SELECT 1 FROM public.recurring_activity_templates WHERE created_by = $1`},
			{"proxy_audit_log_activity_id_idx", `SELECT 1 FROM public.proxy_audit_log WHERE activity_id = $1`},
			{"proxy_audit_log_org_id_at_idx", `SELECT 1 FROM public.proxy_audit_log WHERE org_id = $1`},
			{"peer_mentor_status_org_id_idx", `SELECT 1 FROM public.peer_mentor_status WHERE org_id = $1`},
			{"peer_mentor_status_updated_by_idx", `SELECT 1 FROM public.peer_mentor_status WHERE updated_by = $1`},
			{"peer_mentor_status_log_status_id_idx", `SELECT 1 FROM public.peer_mentor_status_log WHERE status_id = $1`},
			{"peer_mentor_status_log_peer_mentor_id_idx", `SELECT 1 FROM public.peer_mentor_status_log WHERE peer_mentor_id = $1`},
			{"peer_mentor_status_log_org_id_idx", `SELECT 1 FROM public.peer_mentor_status_log WHERE org_id = $1`},
			{"peer_mentor_status_log_changed_by_idx", `SELECT 1 FROM public.peer_mentor_status_log WHERE changed_by = $1`},
		}
		tx, err := d.Pool.Begin(ctx)
		require.NoError(t, err)
		defer tx.Rollback(ctx) //nolint:errcheck
		_, err = tx.Exec(ctx, `SET LOCAL enable_seqscan = off`)
		require.NoError(t, err)
		for _, c := range cases {
			ex := explain(t, ctx, tx, captured{sql: c.sql, args: []any{id}})
			used := ex.find(func(n *planNode) bool { return n.IndexName != "" })
			require.NotEmpty(t, used, "%s: no index read:\n%s", c.sql, ex.raw)
			require.Equal(t, c.index, used[0].IndexName, "%s:\n%s", c.sql, ex.raw)
		}
	})
}
