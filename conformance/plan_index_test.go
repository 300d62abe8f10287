package conformance

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/internal/harness/seed"
)

// planIndexCases show, on the Plans suite's seeded clone, that each index
// PA-IDX-1 asks for beyond the covering and date indexes (whose report and
// list plans the suite already checks) is the one PostgreSQL reads for the
// lookup it exists for. Dropping any of them changes the plan.
func planIndexCases(t *testing.T, d *pgtest.DB, st *seed.Stats) {
	org := st.Orgs[0]
	cases := []struct {
		index, sql string
		args       []any
	}{
		{"proxy_activities_coordinator_id_idx", `SELECT id FROM public.proxy_activities WHERE coordinator_id = $1`, []any{org.Coordinators[0]}},
		{"proxy_activities_attributed_mentor_id_idx", `SELECT id FROM public.proxy_activities WHERE attributed_mentor_id = $1`, []any{org.Mentors[0]}},
		{"proxy_activities_org_id_attributed_mentor_id_idx",
			`SELECT org_id, attributed_mentor_id FROM public.proxy_activities WHERE org_id = $1 AND attributed_mentor_id = $2`, []any{org.ID, org.Mentors[0]}},
		{"proxy_activities_template_id_org_id_idx", `SELECT id FROM public.proxy_activities WHERE template_id = $1`, []any{uuid.New()}},
	}
	t.Run("PA-IDX-1 at 100,000 rows per org each seed and foreign-key index is the one the planner reads for its lookup (EXPLAIN)", func(t *testing.T) {
		ctx := pgtest.Ctx(t)
		for _, c := range cases {
			tx, err := d.Pool.Begin(ctx)
			require.NoError(t, err)
			ex := explain(t, ctx, tx, captured{sql: c.sql, args: c.args})
			require.NoError(t, tx.Rollback(ctx))
			used := ex.find(func(n *planNode) bool { return n.IndexName == c.index })
			require.NotEmpty(t, used, "%s is not read for %s:\n%s", c.index, c.sql, ex.raw)
		}
	})
}
