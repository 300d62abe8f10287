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

// Statement sets, locally to the transaction: search_path as PostgREST's
// db-extra-search-path leaves it, the role from the role claim, the claims as
// JSON (read by auth.uid(), auth.jwt() and auth.role()), request.method, and
// the role's own settings.
//
// The role's own settings are what SET ROLE does not apply and PostgREST
// does (its "impersonated role settings"): ALTER ROLE ... SET values such as
// the statement_timeout Supabase gives anon (3s) and authenticated (8s), so
// a runaway query of a user is cut off as it would be through the Data API.
// They are read from pg_db_role_setting on every request (an index lookup;
// an ALTER ROLE applies at once), the database-specific value over the
// cluster-wide one. Only the timeouts are applied: settings any role may
// change, which set_config accepts from the login role. (Filtering on
// pg_settings.context instead builds every setting of the server on every
// request; measured, it made a request through RLS several times slower.)
// They are set before the request's first statement, so they govern it.
const Statement = `SELECT set_config('search_path', 'public, extensions', true),
       set_config('role', $1, true),
       set_config('request.jwt.claims', $2, true),
       set_config('request.method', 'POST', true),
       (SELECT count(set_config(rs.name, rs.value, true)) FROM (
          SELECT DISTINCT ON (split_part(c, '=', 1)) split_part(c, '=', 1) AS name, substr(c, strpos(c, '=') + 1) AS value
          FROM pg_catalog.pg_db_role_setting s, unnest(s.setconfig) c
          WHERE s.setrole = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1)
            AND s.setdatabase IN (0, (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()))
          ORDER BY split_part(c, '=', 1), s.setdatabase DESC) rs
        WHERE rs.name IN ('statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout'))`

// Apply makes the rest of tx run as role with claims (a JSON object), as
// PostgREST does. Every setting is transaction-local: it ends with tx, or
// with the savepoint it was made in if that is rolled back. Neither argument
// is checked: the login role's right to SET ROLE is the only limit.
func Apply(ctx context.Context, tx pgx.Tx, role, claims string) error {
	_, err := tx.Exec(ctx, Statement, role, claims)
	return err
}
