package db

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mentordb/mentordb/gen"
	"github.com/mentordb/mentordb/internal/preamble"
)

// The API roles a request may run as. PostgREST refuses any other role claim,
// and so do we: a role outside this set would let a token pick, say, postgres.
const (
	RoleAnon          = "anon"
	RoleAuthenticated = "authenticated"
	RoleServiceRole   = "service_role"
)

// Claims are the JWT claims of a request, as Supabase's auth service issues
// them. UserMetadata is editable by the user from the client, so its
// organization_id (see OrgClaim) selects an org context and never proves
// membership: the database re-checks membership rows.
type Claims struct {
	Sub          uuid.UUID      `json:"sub,omitzero"`
	Role         string         `json:"role"`
	Email        string         `json:"email,omitempty"`
	UserMetadata map[string]any `json:"user_metadata,omitempty"`
	AppMetadata  map[string]any `json:"app_metadata,omitempty"`
}

// OrgClaim is the user_metadata key that carries the org context:
// auth.jwt() -> 'user_metadata' ->> 'organization_id'.
const OrgClaim = "organization_id"

// User returns the claims of a signed-in user acting in org (uuid.Nil for no
// org context).
func User(sub, org uuid.UUID) Claims {
	c := Claims{Sub: sub, Role: RoleAuthenticated}
	if org != uuid.Nil {
		c.UserMetadata = map[string]any{OrgClaim: org.String()}
	}
	return c
}

// Anon returns the claims PostgREST uses for a request without a token.
func Anon() Claims { return Claims{Role: RoleAnon} }

// ServiceRole returns the claims of the service_role key.
func ServiceRole() Claims { return Claims{Role: RoleServiceRole} }

// DB runs work against a mentordb database the way PostgREST runs a request.
type DB struct {
	pool *pgxpool.Pool
}

// New wraps a pool. The pool's login role must be able to SET ROLE to the API
// roles (on Supabase: postgres or authenticator).
func New(pool *pgxpool.Pool) *DB { return &DB{pool: pool} }

// Open connects to url and returns a pool configured by PoolConfig: pass
// TransactionPooler when url is a pooler in transaction mode (Supabase's
// port 6543), and PingIdleAfter to change when idle connections are pinged.
func Open(ctx context.Context, url string, opts ...Option) (*pgxpool.Pool, error) {
	cfg, err := PoolConfig(url, opts...)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("db: open pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("db: connect: %w", err)
	}
	return pool, nil
}

// Pool returns the underlying pool.
func (d *DB) Pool() *pgxpool.Pool { return d.pool }

// Request is one transaction acting as one caller, the way PostgREST runs one
// HTTP request: the role and the claims are set locally at its start, so
// RLS, grants and auth.uid() see the caller, and everything done through it
// commits or rolls back together. Get one from Do, DoReadOnly or DoTx; it is
// valid only inside the function it was passed to.
//
// The repositories bound to a request (Activities, Templates, Pauses, Admin)
// take no claims: they act as the request's caller, in its transaction, next
// to the caller's own SQL on Tx. After a database error the transaction is
// aborted: return the error, as PostgreSQL refuses further statements.
type Request struct {
	tx     *requestTx
	claims Claims
}

// Tx is the request's transaction, for the caller's own SQL. Everything
// reached through it (its statements, batches, copies, savepoints, large
// objects and its Conn) runs inside the request as the request's caller
// (role and claims), so RLS applies to it as to the repositories. It keeps
// pgx's contract, errors included (a *pgconn.PgError; Interpret gives the
// typed form), except that Commit and Rollback belong to Do and DoTx, which
// end the request when fn returns. It is trusted code's transaction, not a
// sandbox: SQL run on it can change its own claims (set_config), so never
// run SQL a caller supplied on it.
func (r *Request) Tx() pgx.Tx { return r.tx }

// Claims are the claims the request acts as.
func (r *Request) Claims() Claims { return r.claims }

// Do runs fn as the caller described by claims, exactly as PostgREST runs
// one request: one READ COMMITTED transaction whose first statement sets,
// locally, the role from the role claim, request.jwt.claims and search_path;
// then fn; then commit. An error from fn, or a panic, rolls everything back.
// Database errors of the repositories come back interpreted (see Error); an
// error fn returns comes back as fn returned it, and errors.As finds the
// interpreted *Error in it when it holds a database error. Claims outside
// the API roles, or authenticated claims without sub, are ErrInvalidClaims
// before the database is asked anything. When the connection fails the
// error's class is ErrConnection and its kind says whether anything may
// have committed (ErrNotSent, ErrRolledBack, ErrOutcomeUnknown).
func (d *DB) Do(ctx context.Context, claims Claims, fn func(r *Request) error) error {
	return d.run(ctx, claims, pgx.ReadWrite, false, fn)
}

// DoReadOnly is Do in a READ ONLY transaction, as PostgREST runs GET
// requests and STABLE functions.
func (d *DB) DoReadOnly(ctx context.Context, claims Claims, fn func(r *Request) error) error {
	return d.run(ctx, claims, pgx.ReadOnly, false, fn)
}

// run is a request on a connection of the pool (requestTx): BEGIN and the
// preamble travel with the first statement, and in a one-statement request
// (one) so does COMMIT, so such a request costs one round trip
// (DB-WIRE-1). An error from fn, or a panic, rolls back, within the
// caller's deadline plus cleanupTimeout.
func (d *DB) run(ctx context.Context, claims Claims, mode pgx.TxAccessMode, one bool, fn func(r *Request) error) error {
	raw, err := claims.encode()
	if err != nil {
		return err
	}
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return acquireError(err)
	}
	defer conn.Release() // a connection left inside a transaction is closed by the pool, not reused
	t := &requestTx{
		ctx:   ctx,
		conn:  conn.Conn(),
		opts:  pgx.TxOptions{IsoLevel: pgx.ReadCommitted, AccessMode: mode},
		setup: []queuedStmt{{sql: preamble.Statement, args: []any{claims.Role, hiddenText(raw)}}},
		one:   one,
		pool:  d.pool,
	}
	if one && mode == pgx.ReadWrite {
		// A one-statement write sends COMMIT with its statement, so a lost
		// answer leaves its outcome open; its transaction id, read first,
		// lets outcome resolve it.
		t.setup = append(t.setup, queuedStmt{sql: currentXact, scan: func(row pgx.Row) error { return row.Scan(&t.xid, &t.pid) }})
	}
	err = func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				t.abort(ctx)
				panic(p)
			}
		}()
		if err := fn(&Request{tx: t, claims: claims}); err != nil {
			t.abort(ctx)
			return err
		}
		return t.commit(ctx)
	}()
	return t.outcome(ctx, err)
}

// abort rolls a request of its own back on a cleanup context: if that
// fails, pgx closes the connection, and the server rolls the transaction
// back when it sees it gone.
func (t *requestTx) abort(ctx context.Context) {
	cctx, cancel := cleanupContext(ctx)
	defer cancel()
	if err := t.rollback(cctx); err != nil && !t.conn.IsClosed() {
		_ = t.conn.Close(cctx)
	}
}

// cleanupTimeout is how long past the caller's deadline (or past now, when
// the caller's context has none or has ended) a request may take to undo
// itself: a ROLLBACK is one short round trip, and a stalled connection must
// not hold the caller, or a pool connection, until TCP gives up.
const cleanupTimeout = time.Second

// cleanupContext is the context a request undoes itself on: detached from
// ctx's cancellation, so the rollback is sent even when ctx has ended, and
// bounded by ctx's deadline plus cleanupTimeout.
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline := time.Now()
	if d, ok := ctx.Deadline(); ok && d.After(deadline) {
		deadline = d
	}
	return context.WithDeadline(context.WithoutCancel(ctx), deadline.Add(cleanupTimeout))
}

// DoTx runs fn as the caller described by claims inside tx, a transaction
// the caller already holds (a job queue's transaction, an outbox write), so
// the request's work commits or rolls back with the caller's. The request
// runs in a savepoint, sent with its first statement (with the preamble and
// the read of the caller's settings: one round trip, as in Do). When fn
// succeeds, role, request.jwt.claims, search_path, request.method and
// plan_cache_mode are set back to what they were before the request and the
// savepoint is released, in one round trip, so the caller's next statement
// in tx runs as the caller again. A setting that did not exist before reads
// as an empty string afterwards (PostgreSQL keeps a custom setting once it was set in a
// session); auth.uid() and auth.jwt() read that as no claims.
//
// When fn fails (an error, a panic, or ctx ended), the savepoint is rolled
// back, which undoes the request's work and settings and leaves tx usable,
// on a cleanup context (ctx's deadline plus cleanupTimeout, even when ctx
// has ended). If that cannot be done either (the connection failed or the
// cleanup deadline passed), DoTx closes tx's connection rather than leave tx
// acting as the request's caller or holding its writes, and returns an
// error that is ErrCallerTxLost: tx is gone and nothing of it commits.
// DoTx neither commits nor rolls back tx.
func DoTx(ctx context.Context, tx pgx.Tx, claims Claims, fn func(r *Request) error) error {
	raw, err := claims.encode()
	if err != nil {
		return err
	}
	var before callerSettings
	t := &requestTx{
		ctx:    ctx,
		caller: tx,
		setup: []queuedStmt{
			{sql: readCallerSettings, scan: func(row pgx.Row) error {
				return row.Scan(&before.role, &before.claims, &before.searchPath, &before.method, &before.planCacheMode)
			}},
			{sql: "SAVEPOINT mentordb_request"},
			{sql: preamble.Statement, args: []any{claims.Role, hiddenText(raw)}},
		},
	}
	err = func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				_ = t.undo(ctx)
				panic(p)
			}
		}()
		if err := fn(&Request{tx: t, claims: claims}); err != nil {
			return err
		}
		if t.state == wirePending {
			return nil // nothing was sent: nothing to restore
		}
		b := &pgx.Batch{}
		b.Queue(restoreCallerSettings, before.role, hiddenPtr(before.claims), before.searchPath, before.method, before.planCacheMode)
		b.Queue("RELEASE SAVEPOINT mentordb_request")
		return tx.SendBatch(ctx, b).Close()
	}()
	if err == nil {
		return nil
	}
	if uerr := t.undo(ctx); uerr != nil {
		return &Error{Kind: ErrCallerTxLost, Class: ErrConnection, Message: "the request failed (" + err.Error() + ") and could not be undone in the caller's transaction (" + uerr.Error() + "); its connection was closed", Err: err}
	}
	return t.outcome(ctx, err)
}

// undo rolls DoTx's savepoint back on a cleanup context. If nothing was
// sent there is nothing to undo; if the rollback fails, the caller's
// connection is closed (see DoTx).
func (t *requestTx) undo(ctx context.Context) error {
	if t.state == wirePending && !t.sent {
		return nil
	}
	conn := t.caller.Conn()
	cctx, cancel := cleanupContext(ctx)
	defer cancel()
	err := conn.PgConn().Exec(cctx, "ROLLBACK TO SAVEPOINT mentordb_request; RELEASE SAVEPOINT mentordb_request").Close()
	if err == nil && conn.PgConn().TxStatus() == 'T' {
		return nil
	}
	if err == nil {
		err = fmt.Errorf("db: the caller's transaction is not usable after the rollback (status %q)", conn.PgConn().TxStatus())
	}
	if !conn.IsClosed() {
		_ = conn.Close(cctx)
	}
	return err
}

// callerSettings are the settings a request changes, as they were before it
// (nil: not set in this session).
type callerSettings struct {
	role, searchPath, planCacheMode string
	claims, method                  *string
}

const readCallerSettings = `SELECT current_setting('role'),
       current_setting('request.jwt.claims', true),
       current_setting('search_path'),
       current_setting('request.method', true),
       current_setting('plan_cache_mode')`

// restoreCallerSettings sets them back, locally, as DoTx found them; a NULL
// resets a custom setting to its empty default.
const restoreCallerSettings = `SELECT set_config('role', $1, true),
       set_config('request.jwt.claims', $2, true),
       set_config('search_path', $3, true),
       set_config('request.method', $4, true),
       set_config('plan_cache_mode', $5, true)`

// As is Do for callers that need only the transaction: fn gets the request's
// transaction. It is the same request as Do's.
func (d *DB) As(ctx context.Context, claims Claims, fn func(tx pgx.Tx) error) error {
	return d.Do(ctx, claims, func(r *Request) error { return fn(r.tx) })
}

// AsReadOnly is As in a READ ONLY transaction (see DoReadOnly).
func (d *DB) AsReadOnly(ctx context.Context, claims Claims, fn func(tx pgx.Tx) error) error {
	return d.DoReadOnly(ctx, claims, func(r *Request) error { return fn(r.tx) })
}

// encode checks claims and returns them as request.jwt.claims JSON. Any
// failure is ErrInvalidClaims: a role outside the API roles would let a
// token pick, say, postgres, and authenticated without sub has no user.
func (c Claims) encode() (string, error) {
	switch c.Role {
	case RoleAnon, RoleAuthenticated, RoleServiceRole:
	default:
		return "", invalidClaims(fmt.Sprintf("role claim %q is not one of anon, authenticated, service_role", c.Role))
	}
	if c.Role == RoleAuthenticated && c.Sub == uuid.Nil {
		return "", invalidClaims("authenticated claims without sub")
	}
	raw, err := json.Marshal(c)
	if err != nil {
		return "", invalidClaims("claims do not encode as JSON: " + err.Error())
	}
	return claimsText(raw)
}

// invalidClaims is ErrInvalidClaims for claims refused before the database.
func invalidClaims(msg string) error {
	return &Error{Kind: ErrInvalidClaims, Class: ErrInvalidInput, Message: msg}
}

// queries are sqlc's queries; they hold no state (each call takes the
// transaction), so one value serves every request.
var queries = gen.New()

// doValue runs fn in a request of its own and returns its value: the
// one-call forms of the repositories are their request-bound methods run
// this way.
func doValue[T any](ctx context.Context, d *DB, claims Claims, mode pgx.TxAccessMode, fn func(r *Request) (T, error)) (T, error) {
	return doRequest(ctx, d, claims, mode, false, fn)
}

// doOne is doValue for a request-bound method that sends one statement (with
// any statements it queued before it): BEGIN, the preamble, the statement
// and COMMIT travel together, one round trip (DB-WIRE-1). A second statement
// would find the request committed and fail (errOneStatement), which the
// wire conformance suite would catch.
func doOne[T any](ctx context.Context, d *DB, claims Claims, mode pgx.TxAccessMode, fn func(r *Request) (T, error)) (T, error) {
	return doRequest(ctx, d, claims, mode, true, fn)
}

func doRequest[T any](ctx context.Context, d *DB, claims Claims, mode pgx.TxAccessMode, one bool, fn func(r *Request) (T, error)) (T, error) {
	var out T
	err := d.run(ctx, claims, mode, one, func(r *Request) error {
		var err error
		out, err = fn(r)
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}
