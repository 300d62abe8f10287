package report

// Requirement is one promise of ../shared/DESIGN.md. The list is the
// reviewers' checklist: the report shows every entry, and an entry with no
// passing test fails the run.
type Requirement struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// Requirements are DESIGN.md's IDs, in its order.
var Requirements = []Requirement{
	{"PA-MIG-1", "migration applies cleanly, by the Go runner and by the Supabase CLI; dual-attribution comment block above the table"},
	{"PA-MIG-2", "rollback migration restores the previous schema exactly"},
	{"PA-COL-1", "columns, types, nullability and defaults exactly as the seed lists"},
	{"PA-CHK-1", "coordinator_id <> attributed_mentor_id, on INSERT and on UPDATE"},
	{"PA-CHK-2", "duration_minutes > 0"},
	{"PA-FK-1", "coordinator_id and attributed_mentor_id -> auth.users ON DELETE RESTRICT; org_id -> organizations"},
	{"PA-FK-2", "deleting a template sets template_id to NULL and keeps the activity"},
	{"PA-ORG-1", "attributed mentor holds the peer_mentor role in the same org: enforced in the database and pre-checked by the Go repository"},
	{"PA-ORG-2", "a template from another org cannot be referenced"},
	{"PA-RLS-1", "INSERT only with coordinator_id = auth.uid() by a coordinator of that org_id, checked against membership rows"},
	{"PA-RLS-2", "coordinators SELECT every record of their org and none of another org; peer mentors and anon see none"},
	{"PA-RLS-3", "UPDATE only own records; cannot move a record to another org or another coordinator"},
	{"PA-RLS-4", "DELETE only by the coordinator who created it, within the same org"},
	{"PA-TRG-1", "updated_at changes on every UPDATE"},
	{"PA-IDX-1", "the seed's six indexes, BRIN (created_at), and an index for every foreign key"},
	{"PA-PLAN-1", "date-range query uses an index; Bufdir report uses an index(-only) scan at 100,000 rows per org"},
	{"PA-PLAN-2", "the export of a time window uses the BRIN index at PA-PLAN-1's scale, reads about the window's heap pages, also after updates and before VACUUM; the audit review uses the index that measures best"},
	{"PA-AUD-1", "every INSERT, UPDATE and DELETE writes a proxy_audit_log row (actor, action, row snapshot)"},
	{"PA-AUD-2", "proxy_audit_log rows cannot be updated, deleted or truncated by any API role (service_role included), nor by the table owner through DML; the owner's DDL is stated under PS-LOG-2"},
	{"PS-MIG-1", "one migration file; policies before EXECUTE grants; applies by the Go runner and by the Supabase CLI"},
	{"PS-MIG-2", "rollback restores the previous schema exactly"},
	{"PS-RLS-1", "a peer mentor can SELECT their own status row"},
	{"PS-RLS-2", "a peer mentor cannot SELECT another mentor's status"},
	{"PS-RLS-3", "a coordinator can SELECT every status in their org"},
	{"PS-RLS-4", "cross-org SELECT returns nothing"},
	{"PS-RPC-1", "activate_pause changes the status and inserts the log row atomically"},
	{"PS-RPC-2", "deactivate_pause likewise"},
	{"PS-RPC-3", "concurrent calls for one mentor serialize on an advisory lock; different mentors do not wait"},
	{"PS-RPC-4", "an organization_id claim that does not match the mentor's org raises a documented SQLSTATE"},
	{"PS-RPC-5", "get_active_pauses_for_chapter returns that chapter's active pauses only"},
	{"PS-RPC-6", "anon and callers without a valid claim get an error; EXECUTE not granted to anon or public"},
	{"PS-LOG-1", "every status change has exactly one log row and every log row a status change; log rows immutable"},
	{"PS-COV-1", "every branch of every PL/pgSQL function is executed by the matrix (100%)"},
	{"GEN-1", "sqlc generates gen/ from sql/; CI fails when gen/ is stale"},
	{"GEN-2", "sqlc vet passes against a migrated database, failing on sequential scans for report queries"},
	{"DB-1", "db runs work as a user exactly as PostgREST does (role + claims in one transaction)"},
	{"DB-2", "every database error a caller can cause maps to a typed Go error with the constraint that fired"},
	{"DB-REQ-1", "requests compose: several repository calls and the caller's own SQL share one transaction and one set of claims; a request runs on a caller-held transaction and restores the caller's role and settings"},
	{"DB-ADM-1", "organisations, chapters and memberships are managed through typed repository calls as service_role; bad input is a typed error and changes nothing"},
	{"DB-ERR-1", "every constraint and every name the schema's functions raise has a Go constant generated from the catalog; a name without a typed mapping, or a stale file, fails conformance"},
	{"DB-3", "the migration runner applies embedded migrations once, under an advisory lock, recorded as the Supabase CLI does"},
	{"DB-MIG-1", "the runner shares supabase_migrations.schema_migrations: applies its own pending versions, leaves and lists others' versions, refuses a changed or missing one of its own"},
	{"DB-WIRE-1", "a request of one statement costs one network round trip, read or write; counted on the connection, not timed"},
	{"DB-POOL-1", "db works through PgBouncer in transaction mode; interleaved users never see another request's role or claims, and nothing is left on a pooled server connection"},
	{"DB-JWT-1", "an access token becomes Claims only after signature (JWKS and legacy secret), expiry, audience and role are verified; every rejection is a typed error"},
	{"CONF-1", "make conformance boots PostgreSQL itself; each test gets a clone of a template built once per migration hash"},
	{"CONF-2", "the report (Markdown and JSON) lists every requirement ID with its tests and results"},
	{"CONF-4", "mutation testing: every mutant generated from the catalog (policies, grants, CHECKs, foreign-key actions, NOT NULLs, triggers, indexes, function security, the advisory lock and the claim checks) is killed by a behavioural test; score and survivors in the report"},
	{"CONF-5", "the threat model is stated (API callers as PostgREST sends them; service code through db, whose r.Tx() is not a sandbox; service_role; the owner, as PS-LOG-2 states), and every equivalent mutant names the caller classes it relies on and the test that pins its assumption; an equivalence whose pin did not pass counts as a survivor"},
	{"EXT-1", "supabase db advisors and supabase db lint report no findings on the migrated schema"},
	{"PA-IN-1", "every text a caller writes has a documented upper bound, dates lie in a documented window, duration_minutes has an upper bound, a blank activity_type is refused; each a named constraint with a typed error"},
	{"PA-ORG-3", "coordinator_id holds the coordinator role in the row's org, whoever writes (service_role included)"},
	{"PS-IN-1", "pause reason bounded; expected return date not before the pause and within a documented window"},
	{"EXT-2", "squawk (pinned npm squawk-cli) reports no finding on any migration or rollback; every excluded rule is listed with its reason"},
	{"PS-LOG-2", "the guarantees of PA-AUD-2 and PS-LOG-1 are stated exactly for the role that owns the tables (not a superuser), with and without session_replication_role = replica, and tested as stated with a non-superuser owner"},
	{"CONF-3", "each migration and rollback, applied while other sessions hold locks on or write to the tables it touches, fails within the runner's lock_timeout leaving nothing behind, and succeeds once the lock is gone; writers wait at most about twice that lock_timeout"},
}
