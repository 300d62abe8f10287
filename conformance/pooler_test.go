package conformance

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
	"github.com/mentordb/mentordb/db/migrate"
	"github.com/mentordb/mentordb/internal/harness/testdb"
)

// testPooler runs db through the provider's PgBouncer in pool_mode =
// transaction with two server connections per database, handed out in turn
// (server_round_robin), as Supabase's pooler on port 6543 is used.
func testPooler(t *testing.T) {
	t.Parallel()
	poolerModeCases(t)

	t.Run("DB-POOL-1 many users of different orgs interleaved on two server connections see only their own rows and claims, and leave nothing on the connection", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		app, pool := poolerApp(t, d, db.TransactionPooler())

		type actor struct {
			org, user uuid.UUID
			mentor    uuid.UUID
		}
		var actors []actor
		for range 3 {
			org := d.NewOrg(t)
			for range 4 {
				actors = append(actors, actor{org: org, user: d.NewMember(t, org, "coordinator"), mentor: d.NewMember(t, org, "peer_mentor")})
			}
		}
		const rounds = 8
		var (
			mu         sync.Mutex
			orgsOnPID  = map[int32]map[uuid.UUID]bool{} // server session → orgs it served
			probedPIDs = map[int32]int{}                // server session → clean probes
		)
		var wg sync.WaitGroup
		errs := make(chan error, len(actors))
		for _, a := range actors {
			wg.Go(func() {
				errs <- func() error {
					claims := db.User(a.user, a.org)
					mine := map[uuid.UUID]bool{}
					for i := range rounds {
						created, err := app.ProxyActivities().Create(ctx, claims, db.NewProxyActivity{
							AttributedMentorID: a.mentor, OrgID: a.org, ActivityType: "visit", Date: proxyDay, DurationMinutes: 10 + i,
						})
						if err != nil {
							return fmt.Errorf("create: %w", err)
						}
						mine[created.ID] = true

						// Who the server says we are, inside the request.
						var pid int32
						var role, sub, org string
						err = app.DoReadOnly(ctx, claims, func(r *db.Request) error {
							tx := r.Tx()
							return tx.QueryRow(ctx, `SELECT pg_backend_pid(), current_user, auth.uid()::text,
								auth.jwt() -> 'user_metadata' ->> 'organization_id'`).Scan(&pid, &role, &sub, &org)
						})
						if err != nil {
							return fmt.Errorf("whoami: %w", err)
						}
						if role != "authenticated" || sub != a.user.String() || org != a.org.String() {
							return fmt.Errorf("request of %s in %s saw role %q, sub %q, org %q", a.user, a.org, role, sub, org)
						}
						mu.Lock()
						if orgsOnPID[pid] == nil {
							orgsOnPID[pid] = map[uuid.UUID]bool{}
						}
						orgsOnPID[pid][a.org] = true
						mu.Unlock()

						page, err := app.ProxyActivities().ListForOrg(ctx, claims, a.org, db.Period{From: proxyDay, To: proxyDay.AddDate(0, 0, 1)}, nil, 500)
						if err != nil {
							return fmt.Errorf("list: %w", err)
						}
						seen := 0
						for _, it := range page.Items {
							if it.OrgID != a.org {
								return fmt.Errorf("%s of %s saw activity %s of org %s", a.user, a.org, it.ID, it.OrgID)
							}
							if mine[it.ID] {
								seen++
							}
						}
						if seen != len(mine) {
							return fmt.Errorf("%s sees %d of its own %d activities", a.user, seen, len(mine))
						}

						// Outside any request, on whichever server session the
						// pooler hands out next: nothing of anyone's request.
						p, err := probeSession(ctx, pool)
						if err != nil {
							return err
						}
						if err := p.clean(); err != nil {
							return err
						}
						mu.Lock()
						probedPIDs[p.pid]++
						mu.Unlock()
					}
					return nil
				}()
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		require.LessOrEqual(t, len(orgsOnPID), testdb.Bouncer(t).PoolSize, "every request ran on the pooler's few server sessions")
		shared := 0
		for pid, orgs := range orgsOnPID {
			if len(orgs) > 1 {
				shared++
			}
			require.Positive(t, probedPIDs[pid], "server session %d served requests and was probed clean afterwards", pid)
		}
		require.Positive(t, shared, "requests of different orgs were interleaved on one server session")
		t.Logf("DB-POOL-1 %d actors × %d rounds on server sessions %v", len(actors), rounds, probedPIDs)
	})

	t.Run("DB-POOL-1 without db.TransactionPooler a request's named prepared statements behind a transaction-mode pooler fail with db.ErrPooler, and the request changes nothing", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		org := d.NewOrg(t)
		coord, mentor := d.NewMember(t, org, "coordinator"), d.NewMember(t, org, "peer_mentor")
		app, _ := poolerApp(t, d) // misconfigured: no TransactionPooler
		warmServerSessions(t, d.BouncerURL(t), 2)
		var err error
		for i := 0; i < 20 && err == nil; i++ {
			_, err = app.ProxyActivities().Create(ctx, db.User(coord, org), db.NewProxyActivity{
				AttributedMentorID: mentor, OrgID: org, ActivityType: "visit", Date: proxyDay, DurationMinutes: 30,
			})
		}
		require.ErrorIs(t, err, db.ErrPooler, "a statement prepared on one server session meets another")
		var created, audited int
		d.QueryRow(t, `SELECT count(*) FROM proxy_activities`).Scan(t, &created)
		d.QueryRow(t, `SELECT count(*) FROM proxy_audit_log`).Scan(t, &audited)
		require.Equal(t, created, audited, "the failed request left no activity without its audit row")
	})

	t.Run("DB-POOL-1 migrate refuses a transaction-mode pooler before taking its session lock", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		url := d.BouncerURL(t)
		warmServerSessions(t, url, 2)
		cfg, err := pgx.ParseConfig(url)
		require.NoError(t, err)
		cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
		sqlDB := stdlib.OpenDB(*cfg)
		t.Cleanup(func() { sqlDB.Close() })
		_, err = migrate.New(sqlDB, migrate.Default()).Up(ctx)
		require.ErrorIs(t, err, migrate.ErrNeedsSession)
		var locks int
		d.QueryRow(t, `SELECT count(*) FROM pg_locks l JOIN pg_database db ON db.oid = l.database
			WHERE l.locktype = 'advisory' AND db.datname = current_database()`).Scan(t, &locks)
		require.Zero(t, locks, "no advisory lock left on a pooled server session")
	})
}

// poolerApp opens db through the test binary's PgBouncer as db.Open would
// with opts.
func poolerApp(t *testing.T, d *pgtest.DB, opts ...db.Option) (*db.DB, *pgxpool.Pool) {
	t.Helper()
	cfg, err := db.PoolConfig(d.BouncerURL(t), opts...)
	require.NoError(t, err)
	cfg.MaxConns = 16
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return db.New(pool), pool
}

// warmServerSessions makes PgBouncer open n server sessions for the
// database of url, by holding n transactions open at once; handed out in
// turn afterwards, they make one client's consecutive transactions run on
// different server sessions.
func warmServerSessions(t *testing.T, url string, n int) {
	t.Helper()
	ctx := pgtest.Ctx(t)
	txs := make([]pgx.Tx, n)
	for i := range txs {
		c, err := pgx.Connect(ctx, url+"&default_query_exec_mode=simple_protocol")
		require.NoError(t, err)
		t.Cleanup(func() { c.Close(context.Background()) })
		txs[i], err = c.Begin(ctx)
		require.NoError(t, err)
		_, err = txs[i].Exec(ctx, "SELECT 1")
		require.NoError(t, err)
	}
	for _, tx := range txs {
		require.NoError(t, tx.Commit(ctx))
	}
}

// sessionState is what a server session holds outside any request.
type sessionState struct {
	pid                                 int32
	user, role, claims, searchPath, sto string
}

const probeSessionSQL = `SELECT pg_backend_pid(), current_user, current_setting('role'),
	coalesce(current_setting('request.jwt.claims', true), ''), current_setting('search_path'),
	current_setting('statement_timeout')`

func probeSession(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (sessionState, error) {
	var s sessionState
	err := q.QueryRow(ctx, probeSessionSQL).Scan(&s.pid, &s.user, &s.role, &s.claims, &s.searchPath, &s.sto)
	if err != nil {
		return s, fmt.Errorf("probe: %w", err)
	}
	return s, nil
}

// clean: the login role, no role set, no claims, the server's search_path
// and statement_timeout (pgtest servers run with the defaults).
func (s sessionState) clean() error {
	if s.user != "postgres" || s.role != "none" || s.claims != "" || s.searchPath != `"$user", public` || s.sto != "0" {
		return fmt.Errorf("server session %d left dirty: %+v", s.pid, s)
	}
	return nil
}
