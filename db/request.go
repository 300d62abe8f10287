package db

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
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

// Open connects to url and returns a pool.
func Open(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("db: parse database url: %w", err)
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

// As runs fn as the caller described by claims, exactly as PostgREST runs one
// request: one READ COMMITTED transaction whose first statement sets, locally,
// the role from the role claim, request.jwt.claims and search_path; then fn;
// then commit. Any error rolls everything back, and database errors come back
// interpreted (see Error).
func (d *DB) As(ctx context.Context, claims Claims, fn func(tx pgx.Tx) error) error {
	return d.as(ctx, claims, pgx.ReadWrite, fn)
}

// AsReadOnly is As in a READ ONLY transaction, as PostgREST runs GET requests
// and STABLE functions.
func (d *DB) AsReadOnly(ctx context.Context, claims Claims, fn func(tx pgx.Tx) error) error {
	return d.as(ctx, claims, pgx.ReadOnly, fn)
}

func (d *DB) as(ctx context.Context, claims Claims, mode pgx.TxAccessMode, fn func(tx pgx.Tx) error) error {
	switch claims.Role {
	case RoleAnon, RoleAuthenticated, RoleServiceRole:
	default:
		return fmt.Errorf("%w: role claim %q", ErrInvalidClaims, claims.Role)
	}
	if claims.Role == RoleAuthenticated && claims.Sub == uuid.Nil {
		return fmt.Errorf("%w: authenticated claims without sub", ErrInvalidClaims)
	}
	raw, err := json.Marshal(claims)
	if err != nil {
		return fmt.Errorf("db: encode claims: %w", err)
	}
	err = pgx.BeginTxFunc(ctx, d.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted, AccessMode: mode}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, setRequest, claims.Role, string(raw)); err != nil {
			return err
		}
		return fn(tx)
	})
	return interpretError(err)
}

// setRequest is PostgREST's first statement of a request, reduced to the
// settings policies and functions read.
const setRequest = `SELECT set_config('search_path', 'public, extensions', true),
       set_config('role', $1, true),
       set_config('request.jwt.claims', $2, true),
       set_config('request.method', 'POST', true)`
