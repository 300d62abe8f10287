package db

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

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
// The repositories bound to a request (Activities, Templates, Pauses) take
// no claims: they act as the request's caller, in its transaction, next to
// the caller's own SQL on Tx. After a database error the transaction is
// aborted: return the error, as PostgreSQL refuses further statements.
//
// Every repository has these two layers: a small type holding the *Request,
// returned by a method of Request, whose methods use r.tx and r.claims and
// return interpreted errors; and its one-call form on DB, whose methods take
// claims and run the request-bound method in a request of their own
// (doValue). An admin repository belongs here the same way (Request.Admin
// and DB.Admin).
type Request struct {
	tx     pgx.Tx
	claims Claims
}

// Tx is the request's transaction, for the caller's own SQL. It runs as the
// request's caller (role and claims), so RLS applies to it as to the
// repositories. Commit and Rollback belong to Do and DoTx: do not call them.
func (r *Request) Tx() pgx.Tx { return r.tx }

// Claims are the claims the request acts as.
func (r *Request) Claims() Claims { return r.claims }

// Do runs fn as the caller described by claims, exactly as PostgREST runs
// one request: one READ COMMITTED transaction whose first statement sets,
// locally, the role from the role claim, request.jwt.claims and search_path;
// then fn; then commit. An error from fn, or a panic, rolls everything back;
// database errors come back interpreted (see Error). Claims outside the API
// roles, or authenticated claims without sub, are ErrInvalidClaims before
// the database is asked anything.
func (d *DB) Do(ctx context.Context, claims Claims, fn func(r *Request) error) error {
	return d.do(ctx, claims, pgx.ReadWrite, fn)
}

// DoReadOnly is Do in a READ ONLY transaction, as PostgREST runs GET
// requests and STABLE functions.
func (d *DB) DoReadOnly(ctx context.Context, claims Claims, fn func(r *Request) error) error {
	return d.do(ctx, claims, pgx.ReadOnly, fn)
}

func (d *DB) do(ctx context.Context, claims Claims, mode pgx.TxAccessMode, fn func(r *Request) error) error {
	return d.run(ctx, claims, mode, false, fn)
}

// run is a request on a connection of the pool, sent by wireTx: BEGIN and
// the preamble travel with the first statement, and when one is set (a
// one-statement request) so does COMMIT, so such a request costs one round
// trip (DB-WIRE-1). An error from fn, or a panic, rolls back.
func (d *DB) run(ctx context.Context, claims Claims, mode pgx.TxAccessMode, one bool, fn func(r *Request) error) error {
	raw, err := claims.encode()
	if err != nil {
		return err
	}
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return interpretError(err)
	}
	defer conn.Release() // a connection left inside a transaction is closed by the pool, not reused
	begin := "BEGIN ISOLATION LEVEL READ COMMITTED"
	if mode == pgx.ReadOnly {
		begin += " READ ONLY"
	}
	tx := &wireTx{conn: conn.Conn(), begin: begin, setup: preamble.Statement, setupArgs: []any{claims.Role, raw}, one: one, readOnly: mode == pgx.ReadOnly}
	err = func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				_ = tx.Rollback(context.WithoutCancel(ctx))
				panic(p)
			}
		}()
		if err := fn(&Request{tx: tx, claims: claims}); err != nil {
			if rbErr := tx.Rollback(context.WithoutCancel(ctx)); rbErr != nil {
				return errors.Join(err, fmt.Errorf("db: roll back: %w", rbErr))
			}
			return err
		}
		return tx.Commit(ctx)
	}()
	return interpretError(err)
}

// DoTx runs fn as the caller described by claims inside tx, a transaction
// the caller already holds (a job queue's transaction, an outbox write), so
// the request's work commits or rolls back with the caller's. The request
// runs in a savepoint: when fn fails, the savepoint is rolled back, which
// undoes the request's work and settings and leaves tx usable; the error is
// returned. When fn succeeds, role, request.jwt.claims, search_path and
// request.method are set back to what they were before the request, so the
// caller's next statement in tx runs as the caller again. A setting that did
// not exist before reads as ” afterwards (PostgreSQL keeps a custom setting
// once it was set in a session); auth.uid() and auth.jwt() read ” as no
// claims. DoTx neither commits nor rolls back tx.
func DoTx(ctx context.Context, tx pgx.Tx, claims Claims, fn func(r *Request) error) error {
	raw, err := claims.encode()
	if err != nil {
		return err
	}
	var before callerSettings
	if err := tx.QueryRow(ctx, readCallerSettings).Scan(&before.role, &before.claims, &before.searchPath, &before.method); err != nil {
		return interpretError(err)
	}
	sp, err := tx.Begin(ctx) // SAVEPOINT
	if err != nil {
		return interpretError(err)
	}
	err = func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				_ = sp.Rollback(ctx)
				panic(p)
			}
		}()
		if err := preamble.Apply(ctx, sp, claims.Role, raw); err != nil {
			return err
		}
		if err := fn(&Request{tx: sp, claims: claims}); err != nil {
			return err
		}
		_, err = sp.Exec(ctx, restoreCallerSettings, before.role, before.claims, before.searchPath, before.method)
		return err
	}()
	if err != nil {
		// ROLLBACK TO SAVEPOINT also undoes the preamble's settings.
		if rbErr := sp.Rollback(ctx); rbErr != nil {
			return errors.Join(interpretError(err), fmt.Errorf("db: roll back the request's savepoint: %w", rbErr))
		}
		return interpretError(err)
	}
	return interpretError(sp.Commit(ctx)) // RELEASE SAVEPOINT
}

// callerSettings are the settings a request changes, as they were before it
// (nil: not set in this session).
type callerSettings struct {
	role, searchPath string
	claims, method   *string
}

const readCallerSettings = `SELECT current_setting('role'),
       current_setting('request.jwt.claims', true),
       current_setting('search_path'),
       current_setting('request.method', true)`

// restoreCallerSettings sets them back, locally, as DoTx found them; a NULL
// resets a custom setting to its empty default.
const restoreCallerSettings = `SELECT set_config('role', $1, true),
       set_config('request.jwt.claims', $2, true),
       set_config('search_path', $3, true),
       set_config('request.method', $4, true)`

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
