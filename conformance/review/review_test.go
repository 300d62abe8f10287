package review

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/access"
	"github.com/mentordb/mentordb/conformance/squawk"
	"github.com/mentordb/mentordb/db/migrate"
	"github.com/mentordb/mentordb/internal/harness/pgserver"
	"github.com/mentordb/mentordb/internal/harness/provision"
	"github.com/mentordb/mentordb/internal/harness/testdb"
)

var server *pgserver.Server

func TestMain(m *testing.M) {
	os.Exit(testdb.Main(m, testdb.Config{Migrator: provision.Migrator{},
		Started: func(_ context.Context, s *pgserver.Server) { server = s }}))
}

// Every fixture is the repository's migrations (the base) plus one file of
// testdata (the head), reviewed on the test binary's server. The base's
// template and access results are shared (cache).
var cache Cache

const fixtureVersion = "20991231000000"

func repoFiles(t *testing.T) Files {
	t.Helper()
	src := migrate.Default()
	f, err := FromFS("repository", src.Migrations, src.Rollbacks)
	require.NoError(t, err)
	return f
}

// fixture reviews testdata/<name>: up.sql as a new migration, down.sql (when
// present) as its rollback, judged by the repository's access spec.
func fixture(t *testing.T, name string) *Report {
	t.Helper()
	return fixtureWith(t, name, &access.Matrix)
}

// fixtureWith judges the head by spec: a branch that changes the access
// spec with the schema.
func fixtureWith(t *testing.T, name string, spec *access.Spec) *Report {
	t.Helper()
	srv := testdb.Server(t)
	base := repoFiles(t)
	head := Files{Label: "fixture " + name, Migrations: map[string][]byte{}, Rollbacks: map[string][]byte{}}
	for n, b := range base.Migrations {
		head.Migrations[n] = b
	}
	for n, b := range base.Rollbacks {
		head.Rollbacks[n] = b
	}
	file := fixtureVersion + "_" + name + ".sql"
	up, err := os.ReadFile(filepath.Join("testdata", name, "up.sql"))
	require.NoError(t, err)
	head.Migrations[file] = up
	if down, err := os.ReadFile(filepath.Join("testdata", name, "down.sql")); err == nil {
		head.Rollbacks[file] = down
	}
	o := Options{AdminURL: srv.URL, Base: base, Head: head, Spec: spec, Cache: &cache, Logf: t.Logf,
		SquawkConfigDir: filepath.Join("..", "squawk")}
	if o.Squawk, err = squawk.Find(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("REV-1 needs squawk: %v", err)
		}
		o.SquawkMissing = err.Error()
	}
	// A review is several steps (two builds, the matrix twice, plans): a
	// bound of its own, wider than one step's, for a loaded machine.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r, err := Run(ctx, o)
	require.NoError(t, err)
	require.Equal(t, []string{file}, r.NewMigrations)
	return r
}

// judged returns the rules of the fail and warn findings, without the
// not-run warning of a machine without squawk.
func judged(r *Report, level Level) []string {
	var out []string
	for _, f := range r.Findings {
		if f.Level == level && !(f.Rule == RuleNotRun && f.Object == "squawk") {
			out = append(out, f.Rule+" "+f.Object)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func squawkRules(r *Report) []string {
	var out []string
	for _, fr := range r.Risk {
		for _, s := range fr.Squawk {
			out = append(out, s.File+" "+s.Rule)
		}
	}
	return out
}

// ran reports whether squawk ran (outside CI a machine may lack it).
func ran(r *Report) bool { return len(r.Find(RuleNotRun, "squawk")) == 0 }

func TestReview(t *testing.T) {
	t.Run("REV-1 a policy widened to anon fails: the anon SELECT cell of proxy_activities, with the policy and the grant", func(t *testing.T) {
		t.Parallel()
		r := fixture(t, "policy_to_anon")
		require.Equal(t, Fail, r.Verdict)
		require.Len(t, r.Access.Changed, 1, "only anon's SELECT of proxy_activities changes")
		c := r.Access.Changed[0]
		require.Equal(t, "public.proxy_activities", c.Object)
		require.Equal(t, "SELECT", c.Probe)
		require.Equal(t, "anon", c.Actor)
		require.Equal(t, "42501 no privilege", c.Base)
		require.Equal(t, "1 row", c.Head)
		require.Equal(t, "widened", c.Change)
		require.False(t, c.Declared)
		resp := strings.Join(c.Responsible, "\n")
		require.Contains(t, resp, "added POLICY public.proxy_activities proxy_activities_select_anon: CREATE POLICY proxy_activities_select_anon ON public.proxy_activities FOR SELECT TO anon USING (true);")
		require.Contains(t, resp, "GRANT SELECT ON TABLE public.proxy_activities TO anon;")
		require.Equal(t, []string{
			"access-widened public.proxy_activities",
			"access-widened public.proxy_activities / SELECT / anon",
		}, judged(r, Fail))
		require.Contains(t, r.Access.Grants, FactChange{Fact: "grant table public.proxy_activities to anon: SELECT", Change: "gained"})
		require.Equal(t, "restores", r.Risk[0].Rollback)
	})

	t.Run("REV-1 the same widening declared by the branch's access spec is shown as intended and does not fail", func(t *testing.T) {
		t.Parallel()
		r := fixtureWith(t, "policy_to_anon", anonReadsActivities())
		require.NotEqual(t, Fail, r.Verdict)
		require.Empty(t, judged(r, Fail))
		require.Len(t, r.Access.Changed, 1)
		require.True(t, r.Access.Changed[0].Declared)
		require.Equal(t, "widened", r.Access.Changed[0].Change)
		intended := r.Find(RuleAccessIntended, "")
		var objects []string
		for _, f := range intended {
			objects = append(objects, f.Object)
		}
		require.ElementsMatch(t, []string{
			"public.proxy_activities / SELECT / anon",
			"grant table public.proxy_activities to anon: SELECT",
			"policy public.proxy_activities proxy_activities_select_anon PERMISSIVE FOR SELECT TO anon",
		}, objects)
	})

	t.Run("REV-1 a table added without RLS fails, and is named as an object the access spec has no row for", func(t *testing.T) {
		t.Parallel()
		r := fixture(t, "table_without_rls")
		require.Equal(t, Fail, r.Verdict)
		require.Equal(t, []string{
			"access-widened public.mentor_notes",
			"table-without-rls public.mentor_notes",
		}, judged(r, Fail))
		require.Contains(t, judged(r, Warn), "object-unspecified public.mentor_notes")
		require.Equal(t, []string{"public.mentor_notes"}, r.Access.Unknown)
		require.Empty(t, r.Access.Changed, "no cell of the spec's objects changes")
		var added []string
		for _, e := range r.Catalog.Added {
			added = append(added, e.Title())
		}
		require.Contains(t, added, "TABLE public.mentor_notes")
		require.Contains(t, added, "ACL on TABLE public.mentor_notes")
		require.Empty(t, r.Risk[0].Locks, "creating a table locks no existing one")
	})

	t.Run("REV-1 a dropped index warns, with the ACCESS EXCLUSIVE lock its statement takes on proxy_activities", func(t *testing.T) {
		t.Parallel()
		r := fixture(t, "index_dropped")
		require.Equal(t, Warn, r.Verdict)
		require.Empty(t, judged(r, Fail))
		require.Contains(t, judged(r, Warn), "index-dropped public.proxy_activities_date_idx")
		require.Equal(t, []StatementLock{{Statement: 1, SQL: "DROP INDEX public.proxy_activities_date_idx", Table: "public.proxy_activities",
			Mode: "AccessExclusiveLock", Blocks: blocks["AccessExclusiveLock"]}}, r.Risk[0].Locks)
		require.Empty(t, r.Access.Changed)
		// At the review's scale the org's list reads that index on the base;
		// without it, it reads another.
		require.Contains(t, judged(r, Warn), "plan-changed ListProxyActivitiesForOrg")
		for _, q := range r.Plans.Queries {
			if q.Query == "ListProxyActivitiesForOrg" {
				require.Contains(t, q.Base.Scans, "Index Scan using proxy_activities_date_idx on proxy_activities")
				require.NotContains(t, strings.Join(q.Head.Scans, " "), "proxy_activities_date_idx")
				require.True(t, q.ScanChanged)
			}
		}
		if ran(r) {
			// The rollback's CREATE INDEX (not CONCURRENTLY) is flagged too.
			require.Equal(t, []string{"migration " + fixtureVersion + "_index_dropped.sql require-concurrent-index-deletion",
				"rollback " + fixtureVersion + "_index_dropped.sql require-concurrent-index-creation"}, squawkRules(r))
		}
	})

	t.Run("REV-1 a weakened CHECK warns with both definitions; no access cell changes", func(t *testing.T) {
		t.Parallel()
		r := fixture(t, "check_weakened")
		require.Equal(t, Warn, r.Verdict)
		require.Empty(t, judged(r, Fail))
		f := r.Find(RuleCheckChanged, "public.proxy_activities proxy_activities_duration_minutes_max_check")
		require.Len(t, f, 1)
		require.Contains(t, f[0].Message, "CHECK ((duration_minutes <= 1440))")
		require.Contains(t, f[0].Message, "CHECK ((duration_minutes <= 10080))")
		require.Equal(t, "AccessExclusiveLock", r.Risk[0].Locks[0].Mode)
		require.Equal(t, "public.proxy_activities", r.Risk[0].Locks[0].Table)
		require.Equal(t, 1, r.Risk[0].Locks[0].Statement)
		require.Equal(t, "restores", r.Risk[0].Rollback)
		require.Empty(t, r.Access.Changed)
	})

	t.Run("REV-1 a SECURITY DEFINER function without search_path fails, and its EXECUTE grant is undeclared", func(t *testing.T) {
		t.Parallel()
		r := fixture(t, "definer_without_search_path")
		require.Equal(t, Fail, r.Verdict)
		require.Equal(t, []string{
			"access-widened public.count_activities()",
			"definer-search-path public.count_activities()",
		}, judged(r, Fail))
		require.Contains(t, judged(r, Warn), "object-unspecified public.count_activities()")
		require.Contains(t, r.Access.Grants, FactChange{Fact: "grant function public.count_activities() to authenticated: EXECUTE", Change: "gained"})
	})

	t.Run("REV-1 a rollback that forgets an object fails, naming the object it leaves behind", func(t *testing.T) {
		t.Parallel()
		r := fixture(t, "rollback_forgets")
		require.Equal(t, Fail, r.Verdict)
		require.Equal(t, []string{"rollback-differs " + fixtureVersion + "_rollback_forgets.sql"}, judged(r, Fail))
		require.Equal(t, "differs", r.Risk[0].Rollback)
		require.Len(t, r.Risk[0].RollbackDiff.Added, 1)
		require.Equal(t, "INDEX public.proxy_activities_template_date_idx", r.Risk[0].RollbackDiff.Added[0].Title())
		require.Empty(t, r.Risk[0].RollbackDiff.Dropped)
		require.Contains(t, r.Find(RuleRollbackDiffers, "")[0].Message, "left behind: INDEX public.proxy_activities_template_date_idx")
		// The head is rebuilt after such a rollback: its catalog still has
		// both indexes.
		var added []string
		for _, e := range r.Catalog.Added {
			added = append(added, e.Title())
		}
		require.Equal(t, []string{"INDEX public.proxy_activities_activity_type_idx", "INDEX public.proxy_activities_template_date_idx"}, added)
		// Two CREATE INDEX statements, each a SHARE lock on the table: the
		// first takes it, the second holds nothing stronger.
		require.Equal(t, []StatementLock{{Statement: 1, SQL: "CREATE INDEX proxy_activities_activity_type_idx ON public.proxy_activities (activity_type)",
			Table: "public.proxy_activities", Mode: "ShareLock", Blocks: blocks["ShareLock"]}}, r.Risk[0].Locks)
	})

	t.Run("REV-1 a migration without a rollback fails", func(t *testing.T) {
		t.Parallel()
		r := fixture(t, "no_rollback")
		require.Equal(t, Fail, r.Verdict)
		require.Equal(t, []string{"rollback-missing " + fixtureVersion + "_no_rollback.sql"}, judged(r, Fail))
		require.Equal(t, "missing", r.Risk[0].Rollback)
	})

	t.Run("REV-1 a change that loses nothing passes: a comment, shown in the catalog delta", func(t *testing.T) {
		t.Parallel()
		r := fixture(t, "comment_only")
		require.Empty(t, judged(r, Fail))
		require.Empty(t, judged(r, Warn))
		require.NotEqual(t, Fail, r.Verdict)
		require.Len(t, r.Catalog.Added, 1)
		require.Equal(t, "COMMENT on COLUMN public.proxy_activities.notes", r.Catalog.Added[0].Title())
		require.Empty(t, r.Catalog.Dropped)
		require.Empty(t, r.Catalog.Changed)
		require.Empty(t, r.Access.Changed)
		require.Empty(t, r.Access.Grants)
		require.Equal(t, "restores", r.Risk[0].Rollback)
		require.Len(t, r.Plans.Queries, 6, "the key queries were planned on both sides")
		for _, q := range r.Plans.Queries {
			require.Empty(t, q.Base.Error, q.Query)
			require.Equal(t, q.Base.Scans, q.Head.Scans, q.Query)
		}
		require.Equal(t, []StatementLock{{Statement: 1, SQL: "COMMENT ON COLUMN public.proxy_activities.notes IS 'Free text from the coordinator, at most 4000 characters.'",
			Table: "public.proxy_activities", Mode: "ShareUpdateExclusiveLock", Blocks: blocks["ShareUpdateExclusiveLock"]}}, r.Risk[0].Locks)
	})

	// After the parallel subtests: the base's template goes with them.
	t.Cleanup(func() {
		if server != nil {
			require.NoError(t, cache.Drop(context.Background(), server.URL))
		}
	})
}

// anonReadsActivities is the access spec as a branch that means anon to
// read every proxy activity would change it: the grant, the policy and the
// anon SELECT cell. access.Matrix itself is left as it is (a deep enough
// copy).
func anonReadsActivities() *access.Spec {
	spec := access.Matrix
	spec.Objects = slices.Clone(access.Matrix.Objects)
	for i := range spec.Objects {
		o := &spec.Objects[i]
		if o.Name != "proxy_activities" {
			continue
		}
		grants := map[access.Role][]string{}
		for r, g := range o.Grants {
			grants[r] = g
		}
		grants[access.Anon] = []string{"SELECT"}
		o.Grants = grants
		o.Policies = append(slices.Clone(o.Policies), access.Policy{Name: "proxy_activities_select_anon", Cmd: "SELECT", Roles: []string{"anon"}})
		o.Probes = slices.Clone(o.Probes)
		for j := range o.Probes {
			p := &o.Probes[j]
			if p.Op != access.Select {
				continue
			}
			expect := access.Expectations{}
			for k, v := range p.Expect {
				expect[k] = v
			}
			expect[access.ActAnon] = access.Rows(1)
			p.Expect = expect
		}
	}
	return &spec
}
