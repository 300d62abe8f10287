// Package preamble is the first statement of every request: the settings
// PostgREST makes before it runs a request's SQL, reduced to those mentordb's
// policies and functions read. db applies it to every request; the bench and
// the conformance tests apply it where they need a request db would refuse to
// make (the table owner as the role, a token without sub), so there is one
// copy of it. It is internal: applications make requests through db, which
// checks the claims first.
package preamble

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// statement sets, locally to the transaction: search_path as PostgREST's
// db-extra-search-path leaves it, the role from the role claim, the claims as
// JSON (read by auth.uid(), auth.jwt() and auth.role()) and request.method.
const statement = `SELECT set_config('search_path', 'public, extensions', true),
       set_config('role', $1, true),
       set_config('request.jwt.claims', $2, true),
       set_config('request.method', 'POST', true)`

// Apply makes the rest of tx run as role with claims (a JSON object), as
// PostgREST does. Every setting is transaction-local: it ends with tx, or
// with the savepoint it was made in if that is rolled back. Neither argument
// is checked: the login role's right to SET ROLE is the only limit.
func Apply(ctx context.Context, tx pgx.Tx, role, claims string) error {
	_, err := tx.Exec(ctx, statement, role, claims)
	return err
}
