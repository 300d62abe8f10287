// Package db is the typed Go data layer of mentordb: proxy activities that
// coordinators register on peer mentors' behalf, peer mentors' pause status,
// and the organisations, chapters and memberships every policy is checked
// against.
//
// # Requests
//
// Everything runs in a request, the way PostgREST runs one HTTP request: one
// transaction whose first statement sets, locally, the role and the JWT
// claims of the caller (Claims), so row-level security, grants and
// auth.uid() see that caller and nothing else. DB.Do opens a request on the
// pool and commits it when the function returns nil; DoTx runs one inside a
// transaction the caller already holds (a job queue's, an outbox write's),
// and hands the caller's role and settings back when it ends. Inside, the
// Request gives repositories bound to it, which take no claims:
// r.Activities(), r.Templates(), r.Pauses() and r.Admin(); r.Tx() runs the
// caller's own SQL in the same transaction, as the same caller. Any error
// rolls the whole request back. For a single call, the one-call forms
// (d.ProxyActivities(), d.Pauses(), d.Admin()) take the claims and run a
// request of their own.
//
// # Claims
//
// User(sub, org) are the claims of a signed-in user acting in an org,
// ServiceRole() those of a trusted backend (it bypasses row-level security;
// administration needs it), Anon() those of a request without a token. The
// org in a user's claims only selects a context: the database re-checks
// membership rows on every call. A user's claims come from their verified
// Supabase access token: package db/token verifies it
// (Verifier.FromRequest) and returns them.
//
// # Errors
//
// Every error a caller can cause comes back as an *Error whose Kind is the
// most specific sentinel (ErrSelfAttribution, ErrUnknownRole, ...) and whose
// Class is the generic one of its SQLSTATE (ErrCheck, ErrForeignKey,
// ErrNotPermitted, ...); errors.Is matches both. Error.Constraint names what
// fired: one of the Constraint* constants, which are generated from the
// migrated catalog.
package db
