package db

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrPooler: the server session changed under the connection, which is what
// a pooler in transaction mode (Supabase's pooler on port 6543, PgBouncer
// with pool_mode = transaction) does between transactions. pgx's default
// statement cache prepares named statements on the session it was on; the
// next transaction may run on another server connection, where the
// statement "does not exist" (SQLSTATE 26000) or another client's statement
// of the same name "already exists" (42P05). Open with TransactionPooler.
var ErrPooler = errors.New("db: prepared statement lost to a transaction-mode pooler (open with db.TransactionPooler())")

// Option configures Open.
type Option func(*openOptions)

type openOptions struct {
	pooler        bool
	pingIdleAfter time.Duration
}

// TransactionPooler tells Open that the URL points at a pooler in
// transaction mode (Supabase's pooler on port 6543, PgBouncer with
// pool_mode = transaction), where one client's consecutive transactions may
// run on different server connections and a server connection serves other
// clients in between. It sets pgx's QueryExecModeExec on the pool: every
// statement is the unnamed statement with its parameters, in one round
// trip, so nothing named outlives the transaction; and, with nothing to
// cache, no statement or description cache. pgx's default
// (QueryExecModeCacheStatement) prepares named statements once per
// connection, which such a pooler breaks (ErrPooler).
//
// A request follows whatever exec mode its connection has, so pgx's own
// ways of saying the same thing (default_query_exec_mode=exec,
// cache_describe or simple_protocol in the URL or the ConnConfig) work as
// well, and a service may replace AfterConnect: nothing of the decision
// lives anywhere else. DoTx, on the caller's transaction, follows that
// transaction's connection. A request's role and claims need nothing from
// the pooler: they are transaction-local (DB-POOL-1).
func TransactionPooler() Option { return func(o *openOptions) { o.pooler = true } }

// PingIdleAfter sets how long a connection may sit idle in the pool before
// it is pinged on its next use. pgxpool's default pings after one second,
// which costs a quiet service one extra round trip on most requests; Open's
// default is DefaultPingIdleAfter. A connection that died while idle for
// less than this is found by the request itself, which fails with a
// connection error before anything of it committed (BEGIN travels with the
// statement); zero pings never.
func PingIdleAfter(d time.Duration) Option { return func(o *openOptions) { o.pingIdleAfter = d } }

// DefaultPingIdleAfter is Open's idle time before a liveness ping: long
// enough that a service under any steady load never pays it, short enough
// to catch connections dropped by a NAT or a pooler's idle timeout (minutes).
const DefaultPingIdleAfter = 30 * time.Second

// PoolConfig is the pgxpool configuration Open uses for url and opts, for
// callers that tune more (pool size, tracing) before pgxpool.NewWithConfig
// and db.New.
func PoolConfig(url string, opts ...Option) (*pgxpool.Config, error) {
	o := openOptions{pingIdleAfter: DefaultPingIdleAfter}
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("db: parse database url: %w", err)
	}
	if o.pooler {
		cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
		// Nothing to cache: unnamed statements only.
		cfg.ConnConfig.StatementCacheCapacity = 0
		cfg.ConnConfig.DescriptionCacheCapacity = 0
	}
	idle := o.pingIdleAfter
	cfg.ShouldPing = func(_ context.Context, p pgxpool.ShouldPingParams) bool {
		return idle > 0 && p.IdleDuration > idle
	}
	next := cfg.AfterConnect
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		registerWireTypes(c.TypeMap())
		if next != nil {
			return next(ctx, c)
		}
		return nil
	}
	return cfg, nil
}

// registerWireTypes teaches a connection's type map the PostgreSQL types of
// the Go types the repositories send, so statements sent without a prior
// describe (QueryExecModeExec: the pooler mode and the per-call plans) can
// encode them: without it a []uuid.UUID has no known type and fails to
// encode. Idempotent.
func registerWireTypes(m *pgtype.Map) {
	if _, ok := m.TypeForValue([]uuid.UUID(nil)); ok {
		return
	}
	m.RegisterDefaultPgType(uuid.UUID{}, "uuid")
	m.RegisterDefaultPgType([]uuid.UUID(nil), "_uuid")
}
