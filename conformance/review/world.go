package review

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mentordb/mentordb/conformance/access"
	"github.com/mentordb/mentordb/db"
)

// world is access.World built in one database, written as the owner with
// plain SQL (the Access suite builds the same world; here it must build on
// whatever schema a side has, so it uses no repository of db). Cells run as
// PostgREST-equivalent requests through db and roll back.
type world struct {
	pool *pgxpool.Pool
	app  *db.DB
	refs map[access.Ref]any
}

func buildWorld(ctx context.Context, pool *pgxpool.Pool, spec *access.Spec) (*world, error) {
	w := &world{pool: pool, app: db.New(pool), refs: map[access.Ref]any{}}
	var err error
	one := func(sql string, args ...any) uuid.UUID {
		var id uuid.UUID
		if err == nil {
			if e := pool.QueryRow(ctx, sql, args...).Scan(&id); e != nil {
				err = fmt.Errorf("world: %s: %w", sql, e)
			}
		}
		return id
	}
	exec := func(sql string, args ...any) {
		if err == nil {
			if _, e := pool.Exec(ctx, sql, args...); e != nil {
				err = fmt.Errorf("world: %s: %w", sql, e)
			}
		}
	}
	org := func() uuid.UUID {
		return one(`INSERT INTO public.organizations (name) VALUES ('org ' || gen_random_uuid()) RETURNING id`)
	}
	chapter := func(o uuid.UUID) uuid.UUID {
		return one(`INSERT INTO public.chapters (org_id, name) VALUES ($1, 'chapter ' || gen_random_uuid()) RETURNING id`, o)
	}
	user := func() uuid.UUID {
		id := uuid.New()
		exec(`INSERT INTO auth.users (id, email, raw_user_meta_data, raw_app_meta_data) VALUES ($1, $2, '{}', '{}')`, id, id.String()+"@example.test")
		return id
	}
	join := func(o, u uuid.UUID, role string, chapters ...uuid.UUID) {
		exec(`INSERT INTO public.org_members (org_id, user_id, role) VALUES ($1, $2, $3)`, o, u, role)
		for _, c := range chapters {
			exec(`INSERT INTO public.chapter_members (chapter_id, org_id, user_id) VALUES ($1, $2, $3)`, c, o, u)
		}
	}
	member := func(o uuid.UUID, role string, chapters ...uuid.UUID) uuid.UUID {
		u := user()
		join(o, u, role, chapters...)
		return u
	}
	set := func(r access.Ref, v any) { w.refs[r] = v }

	orgA, orgB := org(), org()
	set(access.OrgA, orgA)
	set(access.OrgB, orgB)
	set(access.OrgC, org())
	chA1, chA2, chB1 := chapter(orgA), chapter(orgA), chapter(orgB)
	set(access.ChapterA1, chA1)
	set(access.ChapterA2, chA2)
	set(access.ChapterA3, chapter(orgA))
	set(access.ChapterB1, chB1)
	m := member(orgA, "peer_mentor", chA1)
	mb := member(orgB, "peer_mentor", chB1)
	ca1 := member(orgA, "coordinator", chA1)
	cb := member(orgB, "coordinator", chB1)
	set(access.UserM, m)
	set(access.UserM2, member(orgA, "peer_mentor", chA1))
	set(access.UserMB, mb)
	set(access.UserCA1, ca1)
	set(access.UserCA2, member(orgA, "coordinator", chA2))
	set(access.UserCM, member(orgA, "coordinator", chA1, chA2))
	set(access.UserCB, cb)
	dual := member(orgA, "coordinator", chA2)
	join(orgB, dual, "peer_mentor", chB1)
	set(access.UserD, dual)
	set(access.UserF, member(orgB, "coordinator", chB1))
	set(access.UserU, user())

	const template = `INSERT INTO public.recurring_activity_templates (org_id, created_by, activity_type, title)
		VALUES ($1, $2, 'visit', 'weekly visit') RETURNING id`
	set(access.TemplateTA, one(template, orgA, ca1))
	set(access.TemplateTB, one(template, orgB, cb))
	const activity = `INSERT INTO public.proxy_activities (coordinator_id, attributed_mentor_id, org_id, activity_type, date, duration_minutes)
		VALUES ($1, $2, $3, 'visit', DATE '2026-11-01', 45) RETURNING id`
	pa := one(activity, ca1, m, orgA)
	set(access.ActivityPA, pa)
	set(access.ActivityPB, one(activity, cb, mb, orgB))
	var auditPA, logM int64
	if err == nil {
		if e := pool.QueryRow(ctx, `SELECT id FROM public.proxy_audit_log WHERE activity_id = $1 AND action = 'INSERT'`, pa).Scan(&auditPA); e != nil {
			err = fmt.Errorf("world: the audit row of PA: %w", e)
		}
	}
	set(access.AuditPA, auditPA)
	const pause = `INSERT INTO public.peer_mentor_status (peer_mentor_id, org_id, status) VALUES ($1, $2, 'paused') RETURNING id`
	statusM := one(pause, m, orgA)
	set(access.StatusM, statusM)
	set(access.StatusMB, one(pause, mb, orgB))
	if err == nil {
		if e := pool.QueryRow(ctx, `SELECT id FROM public.peer_mentor_status_log WHERE status_id = $1`, statusM).Scan(&logM); e != nil {
			err = fmt.Errorf("world: the log row of M's pause: %w", e)
		}
	}
	set(access.LogM, logM)
	if err != nil {
		return nil, err
	}
	for _, f := range spec.World {
		if _, ok := w.refs[f.Ref]; !ok {
			return nil, fmt.Errorf("world: fixture %q (%s) is not built here", f.Ref, f.About)
		}
	}
	return w, nil
}

func (w *world) uuid(r access.Ref) uuid.UUID {
	u, _ := w.refs[r].(uuid.UUID)
	return u
}

func (w *world) claims(a *access.Actor, user uuid.UUID) db.Claims {
	switch a.Role {
	case access.Anon:
		return db.Anon()
	case access.ServiceRole:
		return db.ServiceRole()
	}
	org := uuid.Nil
	if a.Claim != "" {
		org = w.uuid(a.Claim)
	}
	return db.User(user, org)
}

var errRollback = errors.New("cell observed; roll back")

// revoked is a fresh coordinator of org A (chapter A1) whose membership is
// deleted after a first request, as the Access suite's revoked actor.
func (w *world) revoked(ctx context.Context, a *access.Actor) (uuid.UUID, error) {
	orgA, chA1 := w.uuid(access.OrgA), w.uuid(access.ChapterA1)
	u := uuid.New()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO auth.users (id, email, raw_user_meta_data, raw_app_meta_data) VALUES ($1, $2, '{}', '{}')`, []any{u, u.String() + "@example.test"}},
		{`INSERT INTO public.org_members (org_id, user_id, role) VALUES ($1, $2, 'coordinator')`, []any{orgA, u}},
		{`INSERT INTO public.chapter_members (chapter_id, org_id, user_id) VALUES ($1, $2, $3)`, []any{chA1, orgA, u}},
	} {
		if _, err := w.pool.Exec(ctx, q.sql, q.args...); err != nil {
			return uuid.Nil, err
		}
	}
	// The first request, with the claims the cell keeps: it is what makes
	// the revocation mid-session.
	err := w.app.DoReadOnly(ctx, w.claims(a, u), func(r *db.Request) error {
		var n int
		return r.Tx().QueryRow(ctx, `SELECT count(*) FROM public.proxy_activities WHERE id = $1`, w.refs[access.ActivityPA]).Scan(&n)
	})
	if err != nil {
		return uuid.Nil, err
	}
	_, err = w.pool.Exec(ctx, `DELETE FROM public.org_members WHERE org_id = $1 AND user_id = $2`, orgA, u)
	return u, err
}

// run runs one cell and returns what the database did.
func (w *world) run(ctx context.Context, o *access.Object, p *access.Probe, a *access.Actor) (access.Outcome, error) {
	var user uuid.UUID
	switch {
	case a.Revoked:
		u, err := w.revoked(ctx, a)
		if err != nil {
			return access.Outcome{}, fmt.Errorf("revoked coordinator: %w", err)
		}
		user = u
	case a.User != "":
		user = w.uuid(a.User)
	}
	self := user
	if self == uuid.Nil {
		self = w.uuid(p.Behalf())
	}
	args := make([]any, len(p.Args))
	for i, r := range p.Args {
		if r == access.Self {
			args[i] = self
			continue
		}
		args[i] = w.refs[r]
	}
	request := w.app.Do
	if p.IsReadOnly() {
		request = w.app.DoReadOnly
	}
	var got access.Outcome
	err := request(ctx, w.claims(a, user), func(r *db.Request) error {
		tx := r.Tx()
		var n int64
		var stmtErr error
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
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		return access.Outcome{}, fmt.Errorf("the request failed outside the statement: %w", err)
	}
	return got, nil
}

// exists reports whether the object is in the database (a function with
// the same identity arguments, which carry parameter names).
func exists(ctx context.Context, pool *pgxpool.Pool, o *access.Object) (bool, error) {
	var ok bool
	err := pool.QueryRow(ctx, `SELECT to_regclass('public.' || quote_ident($1)) IS NOT NULL`, o.Name).Scan(&ok)
	if o.Kind == access.Function {
		err = pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_proc WHERE pronamespace = 'public'::regnamespace
			AND proname = $1 AND pg_get_function_identity_arguments(oid) = $2)`, o.Name, o.Args).Scan(&ok)
	}
	return ok, err
}
