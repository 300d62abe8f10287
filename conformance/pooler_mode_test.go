package conformance

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
)

// poolerModeCases prove that a request follows the connection's own query
// exec mode: however a service tells pgx that it talks to a
// transaction-mode pooler, requests (and DoTx on the service's own
// transaction) send nothing named through it.
func poolerModeCases(t *testing.T) {
	pools := []struct {
		name string
		cfg  func(t *testing.T, url string) *pgxpool.Config
	}{
		{"db.TransactionPooler, then the service's own AfterConnect", func(t *testing.T, url string) *pgxpool.Config {
			cfg, err := db.PoolConfig(url, db.TransactionPooler())
			require.NoError(t, err)
			cfg.AfterConnect = func(context.Context, *pgx.Conn) error { return nil }
			return cfg
		}},
		{"pgx's own setting in the URL (default_query_exec_mode=exec), no db option", func(t *testing.T, url string) *pgxpool.Config {
			cfg, err := pgxpool.ParseConfig(url + "&default_query_exec_mode=exec")
			require.NoError(t, err)
			return cfg
		}},
		{"pgx's own setting (cache_describe), no db option", func(t *testing.T, url string) *pgxpool.Config {
			cfg, err := pgxpool.ParseConfig(url + "&default_query_exec_mode=cache_describe")
			require.NoError(t, err)
			return cfg
		}},
	}
	for _, p := range pools {
		t.Run("DB-POOL-1 requests and DoTx work behind a transaction-mode pooler configured by "+p.name, func(t *testing.T) {
			t.Parallel()
			d := pgtest.New(t)
			ctx := pgtest.Ctx(t)
			url := d.BouncerURL(t)
			cfg := p.cfg(t, url)
			cfg.MaxConns = 2
			pool, err := pgxpool.NewWithConfig(ctx, cfg)
			require.NoError(t, err)
			t.Cleanup(pool.Close)
			app := db.New(pool)
			org := d.NewOrg(t)
			coord, mentor := d.NewMember(t, org, "coordinator"), d.NewMember(t, org, "peer_mentor")
			claims := db.User(coord, org)
			warmServerSessions(t, url, 2)
			var ids []uuid.UUID
			for i := range 6 { // consecutive transactions land on different server sessions
				a, err := app.ProxyActivities().Create(ctx, claims, db.NewProxyActivity{
					AttributedMentorID: mentor, OrgID: org, ActivityType: "visit", Date: proxyDay, DurationMinutes: 10 + i})
				require.NoError(t, err, "Create, round %d", i)
				_, err = app.ProxyActivities().Get(ctx, claims, a.ID)
				require.NoError(t, err, "Get, round %d", i)
				require.NoError(t, app.Do(ctx, claims, func(r *db.Request) error {
					if _, err := r.Activities().Get(ctx, a.ID); err != nil {
						return err
					}
					var n int
					return r.Tx().QueryRow(ctx, `SELECT count(*) FROM proxy_activities WHERE id = $1`, a.ID).Scan(&n)
				}), "Do, round %d", i)
				tx, err := pool.Begin(ctx)
				require.NoError(t, err)
				err = db.DoTx(ctx, tx, claims, func(r *db.Request) error {
					_, err := r.Activities().Get(ctx, a.ID)
					return err
				})
				require.NoError(t, err, "DoTx, round %d", i)
				require.NoError(t, tx.Commit(ctx))
				ids = append(ids, a.ID)
			}
			require.Len(t, ids, 6)
		})
	}
}
