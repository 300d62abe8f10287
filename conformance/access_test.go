package conformance

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mentordb/mentordb/conformance/access"
	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
)

// updateAccessMatrix rewrites docs/access-matrix.md from this run instead of
// comparing it (also MENTORDB_UPDATE_DOCS=1, which works with ./...).
var updateAccessMatrix = flag.Bool("update-access-matrix", false, "rewrite "+access.DocPath+" from this run of the access matrix")

// testAccess is the generator of the access matrix (issue 6): every cell of
// access.Matrix, as "<object>/<probe>/<actor> <IDs>", each one
// PostgREST-equivalent request that is rolled back, on one shared clone;
// the spec's catalog facts against pg_catalog; and docs/access-matrix.md
// rendered from the spec and this run's results.
func testAccess(t *testing.T) {
	t.Parallel()
	spec := &access.Matrix
	if err := spec.Validate(); err != nil {
		t.Fatalf("the access spec contradicts itself:\n%v", err)
	}
	var mu sync.Mutex
	results := access.Results{}
	start := time.Now()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		t.Logf("access matrix: %d cells, %d actors, %v", spec.Cells(), len(spec.Actors), time.Since(start).Round(time.Millisecond))
		checkAccessDoc(t, spec, results)
	})
	t.Logf("mentordb-metric: access_matrix_cells=%d", spec.Cells())
	t.Logf("mentordb-metric: access_matrix_actors=%d", len(spec.Actors))

	// One clone and one world for the whole matrix: every cell rolls back,
	// and targets are single rows, so cells cannot see each other's writes.
	d := pgtest.New(t)
	w := newAccessWorld(t, d, spec)

	t.Run("catalog drift: every exposed object, policy and API-role privilege is in the spec and vice versa", func(t *testing.T) {
		t.Parallel()
		onlySpec, onlyCatalog := access.Diff(spec.Facts(), accessCatalogFacts(t, d))
		for _, l := range onlySpec {
			t.Errorf("in the spec, not in the database: %s", l)
		}
		for _, l := range onlyCatalog {
			t.Errorf("in the database, not in the spec (declare it in conformance/access/spec.go): %s", l)
		}
	})

	for i := range spec.Objects {
		o := &spec.Objects[i]
		t.Run(o.Name, func(t *testing.T) {
			t.Parallel()
			for j := range o.Probes {
				p := &o.Probes[j]
				t.Run(p.Title(), func(t *testing.T) {
					t.Parallel()
					for k := range spec.Actors {
						a := &spec.Actors[k]
						t.Run(access.CellLeaf(p, a), func(t *testing.T) {
							t.Parallel()
							got, detail := w.run(t, o, p, a)
							mu.Lock()
							results[access.CellKey(o, p, a)] = got
							mu.Unlock()
							if want := p.Expect[a.Key]; got != want {
								t.Errorf("%s on %s (%s) as %s: expected %v, got %v%s", p.Title(), o.Name, p.Target, a.Label, want, got, detail)
							}
						})
					}
				})
			}
		})
	}
}

// checkAccessDoc compares (or, when asked, rewrites) docs/access-matrix.md
// with what this run renders. Only a run of every cell can judge it.
func checkAccessDoc(t *testing.T, spec *access.Spec, results access.Results) {
	if _, _, missing := spec.Passed(results); missing > 0 {
		t.Logf("%d of %d access cells did not run (a -run filter?): %s not compared", missing, spec.Cells(), access.DocPath)
		return
	}
	doc := access.Render(spec, results)
	path := filepath.Join("..", filepath.FromSlash(access.DocPath))
	if *updateAccessMatrix || os.Getenv("MENTORDB_UPDATE_DOCS") == "1" {
		if err := os.WriteFile(path, doc, 0o644); err != nil {
			t.Errorf("write %s: %v", access.DocPath, err)
			return
		}
		t.Logf("wrote %s", access.DocPath)
		return
	}
	committed, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%s: %v; generate it with %s", access.DocPath, err, access.RegenerateCommand)
		return
	}
	if !bytes.Equal(committed, doc) {
		t.Errorf("%s is stale (first difference at line %d); regenerate it with %s", access.DocPath, firstDifferentLine(committed, doc), access.RegenerateCommand)
	}
}

func firstDifferentLine(a, b []byte) int {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return i + 1
		}
	}
	return min(len(la), len(lb)) + 1
}

// accessWorld is the fixture world of access.World in one clone, written as
// the owner. Cells share it; none of them commits a change to it (the
// revoked-coordinator cells commit only their own fresh user).
type accessWorld struct {
	d    *pgtest.DB
	refs map[access.Ref]any
}

func newAccessWorld(t *testing.T, d *pgtest.DB, spec *access.Spec) *accessWorld {
	t.Helper()
	w := &accessWorld{d: d, refs: map[access.Ref]any{}}
	set := func(r access.Ref, v any) { w.refs[r] = v }

	orgA, orgB := d.NewOrg(t), d.NewOrg(t)
	set(access.OrgA, orgA)
	set(access.OrgB, orgB)
	set(access.OrgC, d.NewOrg(t))
	chA1, chA2, chB1 := d.NewChapter(t, orgA), d.NewChapter(t, orgA), d.NewChapter(t, orgB)
	set(access.ChapterA1, chA1)
	set(access.ChapterA2, chA2)
	set(access.ChapterA3, d.NewChapter(t, orgA))
	set(access.ChapterB1, chB1)

	m := d.NewMember(t, orgA, "peer_mentor", chA1)
	mb := d.NewMember(t, orgB, "peer_mentor", chB1)
	ca1 := d.NewMember(t, orgA, "coordinator", chA1)
	cb := d.NewMember(t, orgB, "coordinator", chB1)
	set(access.UserM, m)
	set(access.UserM2, d.NewMember(t, orgA, "peer_mentor", chA1))
	set(access.UserMB, mb)
	set(access.UserCA1, ca1)
	set(access.UserCA2, d.NewMember(t, orgA, "coordinator", chA2))
	set(access.UserCM, d.NewMember(t, orgA, "coordinator", chA1, chA2))
	set(access.UserCB, cb)
	dual := d.NewMember(t, orgA, "coordinator", chA2)
	d.AddMember(t, orgB, dual, "peer_mentor")
	d.AddChapterMember(t, orgB, chB1, dual)
	set(access.UserD, dual)
	set(access.UserF, d.NewMember(t, orgB, "coordinator", chB1))
	set(access.UserU, d.NewUser(t))

	newID := func(sql string, args ...any) uuid.UUID {
		var id uuid.UUID
		d.QueryRow(t, sql, args...).Scan(t, &id)
		return id
	}
	const template = `INSERT INTO recurring_activity_templates (org_id, created_by, activity_type, title)
		VALUES ($1, $2, 'visit', 'weekly visit') RETURNING id`
	set(access.TemplateTA, newID(template, orgA, ca1))
	set(access.TemplateTB, newID(template, orgB, cb))
	const activity = `INSERT INTO proxy_activities (coordinator_id, attributed_mentor_id, org_id, activity_type, date, duration_minutes)
		VALUES ($1, $2, $3, 'visit', DATE '2026-11-01', 45) RETURNING id`
	pa := newID(activity, ca1, m, orgA)
	set(access.ActivityPA, pa)
	set(access.ActivityPB, newID(activity, cb, mb, orgB))
	var auditPA int64
	d.QueryRow(t, `SELECT id FROM proxy_audit_log WHERE activity_id = $1 AND action = 'INSERT'`, pa).Scan(t, &auditPA)
	set(access.AuditPA, auditPA)
	const pause = `INSERT INTO peer_mentor_status (peer_mentor_id, org_id, status) VALUES ($1, $2, 'paused') RETURNING id`
	statusM := newID(pause, m, orgA)
	set(access.StatusM, statusM)
	set(access.StatusMB, newID(pause, mb, orgB))
	var logM int64
	d.QueryRow(t, `SELECT id FROM peer_mentor_status_log WHERE status_id = $1`, statusM).Scan(t, &logM)
	set(access.LogM, logM)

	for _, f := range spec.World {
		if _, ok := w.refs[f.Ref]; !ok {
			t.Fatalf("the generator does not build fixture %q (%s)", f.Ref, f.About)
		}
	}
	return w
}

func (w *accessWorld) user(t *testing.T, r access.Ref) uuid.UUID {
	t.Helper()
	u, ok := w.refs[r].(uuid.UUID)
	if !ok {
		t.Fatalf("fixture %q is not a user or org", r)
	}
	return u
}

// revokedCoordinator is a fresh coordinator of org A (chapter A1) for one
// cell: a first request with its claims proves coordinator access, then its
// org_members row is deleted. The cell's request is the second one, with the
// same claims.
func (w *accessWorld) revokedCoordinator(t *testing.T, ctx context.Context, a *access.Actor) uuid.UUID {
	t.Helper()
	orgA, chA1 := w.user(t, access.OrgA), w.user(t, access.ChapterA1)
	r := w.d.NewMember(t, orgA, "coordinator", chA1)
	var before int
	err := w.d.As(ctx, w.claims(t, a, r), func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM public.proxy_activities WHERE id = $1`, w.refs[access.ActivityPA]).Scan(&before)
	})
	if err != nil || before != 1 {
		t.Fatalf("before revocation the coordinator should see PA: %d rows, %v", before, err)
	}
	w.d.Exec(t, `DELETE FROM org_members WHERE org_id = $1 AND user_id = $2`, orgA, r)
	return r
}

func (w *accessWorld) claims(t *testing.T, a *access.Actor, user uuid.UUID) db.Claims {
	switch a.Role {
	case access.Anon:
		return db.Anon()
	case access.ServiceRole:
		return db.ServiceRole()
	}
	org := uuid.Nil
	if a.Claim != "" {
		org = w.user(t, a.Claim)
	}
	return db.User(user, org)
}

// errRollbackCell ends every cell's request after its outcome is observed,
// so the request's transaction rolls back and cells stay independent.
var errRollbackCell = errors.New("access cell observed; roll back")

// run runs one cell (probe p of object o, as actor a) and returns what the database did, and the error it
// raised if any.
func (w *accessWorld) run(t *testing.T, o *access.Object, p *access.Probe, a *access.Actor) (access.Outcome, string) {
	t.Helper()
	ctx := pgtest.Ctx(t)
	var user uuid.UUID
	switch {
	case a.Revoked:
		user = w.revokedCoordinator(t, ctx, a)
	case a.User != "":
		user = w.user(t, a.User)
	}
	self := user
	if self == uuid.Nil {
		self = w.user(t, p.Behalf())
	}
	args := make([]any, len(p.Args))
	for i, r := range p.Args {
		if r == access.Self {
			args[i] = self
			continue
		}
		v, ok := w.refs[r]
		if !ok {
			t.Fatalf("unknown fixture %q", r)
		}
		args[i] = v
	}
	request := w.d.App.Do
	if p.IsReadOnly() {
		request = w.d.App.DoReadOnly
	}
	var got access.Outcome
	var stmtErr error
	err := request(ctx, w.claims(t, a, user), func(r *db.Request) error {
		tx := r.Tx()
		var n int64
		if p.Counts() {
			stmtErr = tx.QueryRow(ctx, p.SQL, args...).Scan(&n)
		} else {
			var tag pgconn.CommandTag
			tag, stmtErr = tx.Exec(ctx, p.SQL, args...)
			n = tag.RowsAffected()
		}
		var pgErr *pgconn.PgError
		switch {
		case stmtErr == nil:
			got = access.Succeeded(int(n))
		case errors.As(stmtErr, &pgErr):
			got = access.Observe(o, pgErr.Code, pgErr.ConstraintName, pgErr.Message)
		default:
			return stmtErr
		}
		return errRollbackCell
	})
	if !errors.Is(err, errRollbackCell) {
		t.Fatalf("the request failed outside the statement: %v", err)
	}
	if stmtErr != nil {
		return got, " (" + stmtErr.Error() + ")"
	}
	return got, ""
}

// accessCatalogFacts derives access.Spec.Facts' lines from pg_catalog.
// Privileges are effective ones (has_*_privilege): what a role holds by its
// own grants, PUBLIC's and those of roles it inherits.
func accessCatalogFacts(t *testing.T, d *pgtest.DB) []string {
	t.Helper()
	ctx := pgtest.Ctx(t)
	const roles = `(VALUES ('anon'), ('authenticated'), ('service_role')) AS r(role)`
	queries := []string{
		// Every relation in public; only tables can be declared.
		`SELECT CASE WHEN c.relkind IN ('r', 'p') THEN format('table public.%s rls=%s', c.relname, c.relrowsecurity::text)
			ELSE format('relation public.%s kind=%s', c.relname, c.relkind) END
		FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`,
		// Table-level privileges.
		`SELECT format('grant table public.%s to %s: %s', c.relname, r.role, p.priv)
		FROM pg_class c CROSS JOIN ` + roles + `
		CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) AS p(priv)
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
			AND has_table_privilege(r.role, c.oid, p.priv)`,
		// Column-level privileges where the table-level one is not held.
		`SELECT format('grant table public.%s to %s: %s(%s)', c.relname, r.role, p.priv, string_agg(a.attname, ', ' ORDER BY a.attnum))
		FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		CROSS JOIN ` + roles + `
		CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'REFERENCES']) AS p(priv)
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
			AND NOT has_table_privilege(r.role, c.oid, p.priv)
			AND has_column_privilege(r.role, c.oid, a.attnum, p.priv)
		GROUP BY c.relname, r.role, p.priv`,
		// Sequences: the spec declares none, so any privilege is drift.
		`SELECT format('grant sequence public.%s to %s: %s', c.relname, r.role, p.priv)
		FROM pg_class c CROSS JOIN ` + roles + ` CROSS JOIN unnest(ARRAY['USAGE', 'SELECT', 'UPDATE']) AS p(priv)
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'S' AND has_sequence_privilege(r.role, c.oid, p.priv)`,
		// Every function in public.
		`SELECT format('function public.%s(%s) security_definer=%s', p.proname, pg_get_function_identity_arguments(p.oid), p.prosecdef::text)
		FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace`,
		// EXECUTE on functions in public and private.
		`SELECT format('grant function %s.%s(%s) to %s: EXECUTE', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), r.role)
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace CROSS JOIN ` + roles + `
		WHERE n.nspname IN ('public', 'private') AND has_function_privilege(r.role, p.oid, 'EXECUTE')`,
		// The schemas.
		`SELECT format('grant schema %s to %s: %s', n.nspname, r.role, p.priv)
		FROM pg_namespace n CROSS JOIN ` + roles + ` CROSS JOIN unnest(ARRAY['USAGE', 'CREATE']) AS p(priv)
		WHERE n.nspname IN ('public', 'private') AND has_schema_privilege(r.role, n.oid, p.priv)`,
	}
	var facts []string
	for _, q := range queries {
		rows, err := d.Pool.Query(ctx, q)
		if err != nil {
			t.Fatalf("catalog: %v\n%s", err, q)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("catalog: %v\n%s", err, q)
		}
		facts = append(facts, lines...)
	}
	rows, err := d.Pool.Query(ctx, `SELECT tablename::text, policyname::text, permissive = 'PERMISSIVE', cmd, roles::text[]
		FROM pg_policies WHERE schemaname = 'public'`)
	if err != nil {
		t.Fatalf("pg_policies: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, name, cmd string
		var permissive bool
		var pr []string
		if err := rows.Scan(&table, &name, &permissive, &cmd, &pr); err != nil {
			t.Fatalf("pg_policies: %v", err)
		}
		facts = append(facts, access.PolicyFact(table, name, permissive, cmd, pr))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("pg_policies: %v", err)
	}
	return facts
}
