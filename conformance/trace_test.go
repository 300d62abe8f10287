package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
	"github.com/mentordb/mentordb/internal/preamble"
)

// DB-TRACE-1: every statement of a request reaches the pool's pgx tracer, as
// query events or batch-query events, and the request's claims reach it only
// redacted.

// traceEvent is one call of the tracer. id pairs a start with its end (and
// a batch's queries with the batch): the start puts it in the context pgx
// hands to the end.
type traceEvent struct {
	id   int
	kind string // query start, query end, batch start, batch query, batch end
	sql  string
	args []any
	tag  string
	err  error
}

// recordingTracer is a pgx.QueryTracer and pgx.BatchTracer that keeps
// every event.
type recordingTracer struct {
	mu     sync.Mutex
	lastID int
	events []traceEvent
}

type traceIDKey struct{}

func (r *recordingTracer) start(ctx context.Context, e traceEvent) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastID++
	e.id = r.lastID
	r.events = append(r.events, e)
	return context.WithValue(ctx, traceIDKey{}, e.id)
}

// add records an event of the start whose id ctx carries (0: none).
func (r *recordingTracer) add(ctx context.Context, e traceEvent) {
	e.id, _ = ctx.Value(traceIDKey{}).(int)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recordingTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	return r.start(ctx, traceEvent{kind: "query start", sql: d.SQL, args: d.Args})
}

func (r *recordingTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	r.add(ctx, traceEvent{kind: "query end", tag: d.CommandTag.String(), err: d.Err})
}

func (r *recordingTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return r.start(ctx, traceEvent{kind: "batch start"})
}

func (r *recordingTracer) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	r.add(ctx, traceEvent{kind: "batch query", sql: d.SQL, args: d.Args, tag: d.CommandTag.String(), err: d.Err})
}

func (r *recordingTracer) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchEndData) {
	r.add(ctx, traceEvent{kind: "batch end", err: d.Err})
}

// take returns the events recorded since the last take and forgets them.
func (r *recordingTracer) take() []traceEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := r.events
	r.events = nil
	return ev
}

// tracedApp is a db on d whose pool (one connection, configured as db.Open
// configures one) has tr as its tracer. The connection is made before it
// returns, so no event of connecting is recorded.
func tracedApp(t *testing.T, d *pgtest.DB, tr *recordingTracer) *db.DB {
	t.Helper()
	cfg, err := db.PoolConfig(d.URL)
	require.NoError(t, err)
	cfg.MaxConns, cfg.MinConns = 1, 1
	cfg.ConnConfig.Tracer = tr
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	require.NoError(t, pool.Ping(context.Background()))
	tr.take()
	return db.New(pool)
}

// statements are the SQL texts the events carry (query starts and batch
// queries), in order.
func statements(events []traceEvent) []string {
	var out []string
	for _, e := range events {
		if e.kind == "query start" || e.kind == "batch query" {
			out = append(out, e.sql)
		}
	}
	return out
}

// requirePaired checks that every start has exactly one end with its id and
// every end and batch query belongs to a start, and that each end carries a
// command tag or an error.
func requirePaired(t *testing.T, events []traceEvent) {
	t.Helper()
	starts := map[int]string{}
	ends := map[int]int{}
	for _, e := range events {
		switch e.kind {
		case "query start", "batch start":
			starts[e.id] = e.kind
		case "query end", "batch end", "batch query":
			kind, ok := starts[e.id]
			require.True(t, ok, "%s (%q) with no start before it", e.kind, e.sql)
			require.Equal(t, strings.Fields(kind)[0], strings.Fields(e.kind)[0], "%s paired with a %s", e.kind, kind)
			if e.kind == "batch query" {
				require.True(t, e.tag != "" || e.err != nil, "batch query %q ended with neither a command tag nor an error", e.sql)
				continue
			}
			ends[e.id]++
		}
	}
	for id, kind := range starts {
		require.Equal(t, 1, ends[id], "%s #%d: ends", kind, id)
	}
	require.Len(t, ends, len(starts), "as many ends as starts")
	for _, e := range events {
		if e.kind == "query end" {
			require.True(t, e.tag != "" || e.err != nil, "query end #%d with neither a command tag nor an error", e.id)
		}
	}
}

// requireStatement checks that some recorded statement satisfies match.
func requireStatement(t *testing.T, events []traceEvent, what string, match func(sql string) bool) {
	t.Helper()
	for _, s := range statements(events) {
		if match(s) {
			return
		}
	}
	require.Fail(t, "not traced: "+what, "recorded statements: %q", statements(events))
}

func hasPrefixFold(s, prefix string) bool {
	s = strings.TrimSpace(s)
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// requireRequestFrame checks the statements every request sends around its
// own: BEGIN, the preamble that sets role and claims, and COMMIT.
func requireRequestFrame(t *testing.T, events []traceEvent) {
	t.Helper()
	requireStatement(t, events, "BEGIN", func(s string) bool { return hasPrefixFold(s, "begin") })
	requireStatement(t, events, "the preamble (role and claims)", func(s string) bool { return strings.Contains(s, preamble.Statement) })
	requireStatement(t, events, "COMMIT", func(s string) bool {
		return hasPrefixFold(s, "commit") || strings.Contains(strings.ToLower(s), ";commit") || strings.Contains(strings.ToLower(s), "; commit")
	})
}

func testTrace(t *testing.T) {
	t.Parallel()

	type fixture struct {
		d      *pgtest.DB
		tr     *recordingTracer
		app    *db.DB
		claims db.Claims
		act    db.ProxyActivity
		in     db.NewProxyActivity
	}
	// secretEmail and secretNickname are in the claims of every request
	// below, and must never be readable in what the tracer receives.
	const secretEmail, secretNickname = "secret-mail@example.org", "secret-nickname-7c3e9a"
	setup := func(t *testing.T) *fixture {
		d := pgtest.New(t)
		org := d.NewOrg(t)
		coord := d.NewMember(t, org, "coordinator")
		mentor := d.NewMember(t, org, "peer_mentor")
		f := &fixture{d: d, tr: &recordingTracer{}}
		f.claims = db.Claims{Sub: coord, Role: db.RoleAuthenticated, Email: secretEmail,
			UserMetadata: map[string]any{db.OrgClaim: org.String(), "nickname": secretNickname}}
		f.in = db.NewProxyActivity{AttributedMentorID: mentor, OrgID: org, ActivityType: "visit", Date: proxyDay, DurationMinutes: 30}
		a, err := d.App.ProxyActivities().Create(pgtest.Ctx(t), f.claims, f.in) // untraced pool
		require.NoError(t, err)
		f.act = a
		f.app = tracedApp(t, d, f.tr)
		return f
	}

	t.Run("DB-TRACE-1 a one-call repository method's statements reach the pool's tracer: BEGIN, the preamble, its statement and COMMIT, starts and ends paired", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		ctx := pgtest.Ctx(t)
		_, err := f.app.ProxyActivities().Get(ctx, f.claims, f.act.ID)
		require.NoError(t, err)
		get := f.tr.take()
		t.Logf("Get: %d events", len(get))
		requireStatement(t, get, "Get's SELECT of proxy_activities", func(s string) bool { return strings.Contains(s, "proxy_activities") })
		requireRequestFrame(t, get)
		requirePaired(t, get)

		_, err = f.app.ProxyActivities().Create(ctx, f.claims, f.in)
		require.NoError(t, err)
		create := f.tr.take()
		t.Logf("Create: %d events", len(create))
		requireStatement(t, create, "Create's INSERT INTO proxy_activities", func(s string) bool { return strings.Contains(s, "INSERT INTO proxy_activities") })
		requireRequestFrame(t, create)
		requirePaired(t, create)
	})

	t.Run("DB-TRACE-1 a request's own statements reach the pool's tracer with their command tags, with its BEGIN, preamble and COMMIT, starts and ends paired", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		ctx := pgtest.Ctx(t)
		own := []string{`SELECT 'trace probe one'::text`, `SELECT count(*) FROM organizations WHERE name <> 'trace probe two'`}
		require.NoError(t, f.app.Do(ctx, f.claims, func(r *db.Request) error {
			for _, sql := range own {
				if _, err := r.Tx().Exec(ctx, sql); err != nil {
					return err
				}
			}
			return nil
		}))
		events := f.tr.take()
		t.Logf("d.Do: recorded statements %q", statements(events))
		for _, sql := range own {
			requireStatement(t, events, sql, func(s string) bool { return strings.Contains(s, sql) })
		}
		requireRequestFrame(t, events)
		requirePaired(t, events)
		// Each of the caller's statements ends with its own command tag.
		for _, sql := range own {
			var ended bool
			for _, e := range events {
				if e.kind == "query start" && e.sql == sql {
					for _, end := range events {
						if end.kind == "query end" && end.id == e.id {
							require.NoError(t, end.err, sql)
							require.Equal(t, "SELECT 1", end.tag, sql)
							ended = true
						}
					}
				}
				if e.kind == "batch query" && strings.Contains(e.sql, sql) {
					require.NoError(t, e.err, sql)
					require.Equal(t, "SELECT 1", e.tag, sql)
					ended = true
				}
			}
			require.True(t, ended, "%s: no end recorded with its command tag", sql)
		}
	})

	t.Run("DB-TRACE-1 the request's claims (email, user_metadata) never reach the tracer in clear, while the preamble that sets them does", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		ctx := pgtest.Ctx(t)
		_, err := f.app.ProxyActivities().Get(ctx, f.claims, f.act.ID)
		require.NoError(t, err)
		require.NoError(t, f.app.Do(ctx, f.claims, func(r *db.Request) error {
			var n int
			return r.Tx().QueryRow(ctx, `SELECT count(*) FROM proxy_activities WHERE id = $1`, f.act.ID).Scan(&n)
		}))
		events := f.tr.take()
		// Not vacuous: the statement that carries the claims was traced.
		requireStatement(t, events, "the preamble (role and claims)", func(s string) bool { return strings.Contains(s, preamble.Statement) })
		require.Empty(t, leaks(events, secretEmail, secretNickname), "the request's claims in clear")
	})
}

// leaks returns where a secret is readable in events: in a statement's SQL
// or error, or in an argument (or the argument list) formatted with %v, %+v,
// %#v, %s or as JSON.
func leaks(events []traceEvent, secrets ...string) []string {
	var out []string
	for _, e := range events {
		forms := []string{e.sql}
		if e.err != nil {
			forms = append(forms, e.err.Error())
		}
		for _, a := range append([]any{e.args}, e.args...) {
			forms = append(forms, fmt.Sprintf("%v", a), fmt.Sprintf("%+v", a), fmt.Sprintf("%#v", a), fmt.Sprintf("%s", a))
			if j, err := json.Marshal(a); err == nil {
				forms = append(forms, string(j))
			}
		}
		for _, s := range forms {
			for _, secret := range secrets {
				if strings.Contains(s, secret) {
					out = append(out, fmt.Sprintf("%s #%d (%.40q...) shows %q", e.kind, e.id, e.sql, secret))
				}
			}
		}
	}
	return out
}
