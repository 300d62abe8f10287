package conformance

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/faultproxy"
	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
)

// faultFixture is one org with a coordinator and a mentor, on d.
type faultFixture struct {
	d                  *pgtest.DB
	org, coord, mentor uuid.UUID
	coordClaims        db.Claims
}

func newFaultFixture(t *testing.T, d *pgtest.DB) *faultFixture {
	t.Helper()
	f := &faultFixture{d: d, org: d.NewOrg(t)}
	f.coord = d.NewMember(t, f.org, "coordinator")
	f.mentor = d.NewMember(t, f.org, "peer_mentor")
	f.coordClaims = db.User(f.coord, f.org)
	return f
}

// faultApp is a db over its own pool to rawURL whose sessions carry a
// fresh application_name, so the scenario can find (pg_terminate_backend)
// and wait for (quiesce) exactly its own backends.
type faultApp struct {
	*db.DB
	pool *pgxpool.Pool
	name string
}

func newFaultApp(t *testing.T, rawURL string, opts ...db.Option) *faultApp {
	t.Helper()
	cfg, err := db.PoolConfig(rawURL, opts...)
	require.NoError(t, err)
	name := "fault_" + uuid.NewString()[:8]
	cfg.ConnConfig.RuntimeParams["application_name"] = name
	// Room for every connection a scenario may leave closing: pgx closes a
	// connection broken by a context in the background, waiting up to 15 s
	// for the server's goodbye, which a stalled proxy never forwards, and
	// the pool counts it until then.
	cfg.MaxConns = 16
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return &faultApp{DB: db.New(pool), pool: pool, name: name}
}

// viaProxy returns d's URL with the proxy as its host.
func viaProxy(t *testing.T, rawURL string, p *faultproxy.Proxy) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	u.Host = p.Addr()
	return u.String()
}

func startProxy(t *testing.T, rawURL string) *faultproxy.Proxy {
	t.Helper()
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	p, err := faultproxy.Start(u.Host)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p
}

// quiesce closes the app's pool and waits until the server has no session
// of it left: a request cut off from its client may still be running (or
// about to read what it was sent), and only a backend that has ended has
// nothing more to commit.
func (a *faultApp) quiesce(t *testing.T, admin *pgxpool.Pool) {
	t.Helper()
	a.pool.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		err := admin.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, a.name).Scan(&n)
		if err == nil && n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sessions of %s still on the server after 10 s (%d, %v)", a.name, n, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// createMarker makes each Create of a scenario recognisable afterwards (its
// notes), whether or not the call reported it.
func (f *faultFixture) createMarker(scenario string, i int) string {
	return fmt.Sprintf("fault %s %d", scenario, i)
}

func (f *faultFixture) newActivity(note string) db.NewProxyActivity {
	return db.NewProxyActivity{AttributedMentorID: f.mentor, OrgID: f.org, ActivityType: "visit", Date: proxyDay, DurationMinutes: 30, Notes: note}
}

// committedNotes are the notes of the org's activities, read as the owner.
func (f *faultFixture) committedNotes(t *testing.T, admin *pgxpool.Pool) map[string]bool {
	t.Helper()
	rows, err := admin.Query(context.Background(), `SELECT coalesce(notes, '') FROM proxy_activities WHERE org_id = $1`, f.org)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		out[n] = true
	}
	require.NoError(t, rows.Err())
	return out
}

// newMentors adds n peer mentors to the org (users as the owner, as
// Supabase Auth writes them; memberships in one service_role request).
func (f *faultFixture) newMentors(t *testing.T, admin *pgxpool.Pool, app *db.DB, n int) []uuid.UUID {
	t.Helper()
	ctx := context.Background()
	ids := make([]uuid.UUID, n)
	for i := range ids {
		ids[i] = uuid.New()
	}
	_, err := admin.Exec(ctx, `INSERT INTO auth.users (id, email, raw_user_meta_data, raw_app_meta_data)
		SELECT u, u::text || '@example.test', '{}', '{}' FROM unnest($1::uuid[]) AS u`, ids)
	require.NoError(t, err)
	require.NoError(t, app.Do(ctx, db.ServiceRole(), func(r *db.Request) error {
		for _, id := range ids {
			if _, err := r.Admin().AddMember(ctx, f.org, id, "peer_mentor"); err != nil {
				return err
			}
		}
		return nil
	}))
	return ids
}

// pauseCall is one Pause or Resume of a scenario, each of its own mentor,
// so what committed is read afterwards from the status log.
type pauseCall struct {
	mentor uuid.UUID
	resume bool
}

// pauseCalls prepares n calls: half Pause a mentor who has no status yet,
// half Resume one paused beforehand.
func (f *faultFixture) pauseCalls(t *testing.T, admin *pgxpool.Pool, app *db.DB, n int) []pauseCall {
	t.Helper()
	ctx := context.Background()
	mentors := f.newMentors(t, admin, app, n)
	calls := make([]pauseCall, n)
	for i, m := range mentors {
		calls[i] = pauseCall{mentor: m, resume: i%2 == 1}
	}
	require.NoError(t, app.Do(ctx, f.coordClaims, func(r *db.Request) error {
		for _, c := range calls {
			if c.resume {
				if _, err := r.Pauses().Pause(ctx, c.mentor, db.PauseOptions{Reason: "before the scenario"}); err != nil {
					return err
				}
			}
		}
		return nil
	}))
	return calls
}

// run makes the call as the coordinator.
func (c pauseCall) run(ctx context.Context, app *db.DB, claims db.Claims) error {
	if c.resume {
		_, err := app.Pauses().Resume(ctx, claims, c.mentor, "back")
		return err
	}
	_, err := app.Pauses().Pause(ctx, claims, c.mentor, db.PauseOptions{Reason: "away"})
	return err
}

// committedPauses is, per mentor, whether the scenario's call committed:
// a log row into the state the call asked for, written by the call (the
// fixture's own pauses carry another reason).
func (f *faultFixture) committedPauses(t *testing.T, admin *pgxpool.Pool) map[uuid.UUID]bool {
	t.Helper()
	rows, err := admin.Query(context.Background(), `SELECT peer_mentor_id FROM peer_mentor_status_log
		WHERE org_id = $1 AND reason IN ('away', 'back')`, f.org)
	require.NoError(t, err)
	defer rows.Close()
	out := map[uuid.UUID]bool{}
	for rows.Next() {
		var m uuid.UUID
		require.NoError(t, rows.Scan(&m))
		require.False(t, out[m], "one log row per call: mentor %s has two", m)
		out[m] = true
	}
	require.NoError(t, rows.Err())
	return out
}
