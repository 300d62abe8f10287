package mutation

import (
	"path"
	"sort"
	"strings"
)

// Caller is a class of caller of the threat model (HACKING.md, "Threat
// model (CONF-5)"): who can observe the schema, and how.
type Caller string

// The caller classes.
const (
	// API callers: requests as PostgREST sends them, claims fixed for the
	// transaction by a verified token, no DDL, no session settings.
	CallerAPI Caller = "api"
	// Service code through db (r.Tx()): any SQL as an API role, its own
	// claims, row_security, search_path and temporary objects included.
	CallerService Caller = "service"
	// service_role: bypasses RLS, holds the access spec's grants.
	CallerServiceRole Caller = "service_role"
	// The table owner, as PS-LOG-2 states (not against its DDL on
	// persistent objects).
	CallerOwner Caller = "owner"
)

// every is all the caller classes.
var every = []Caller{CallerAPI, CallerService, CallerServiceRole, CallerOwner}

// An Equivalence declares mutants (Pattern, a path.Match glob over mutant
// IDs) that no caller of the classes in Callers can tell from the schema,
// with the reason, and the tests that pin the assumption the reason rests
// on: each entry of Pins is a part of a test name (as go test prints it),
// and at least one behavioural test of the unmutated run whose name
// contains it must pass, else the mutants count as survivors. Static marks
// a pin that is a snapshot test (classify.go), allowed only where no
// behaviour exists to pin, such as "the body reads no table".
type Equivalence struct {
	Pattern string
	Reason  string
	Callers []Caller
	Pins    []string
	Static  bool
}

// Equivalent lists the equivalent mutants. They are reported with their
// reason, caller classes and pinning tests, and not run. The list is
// reviewed like code: an entry says why no caller of its classes can tell
// the mutant from the schema, not that no test happens to, and names the
// test that fails the day that stops holding.
var Equivalent = []Equivalence{
	{Pattern: "grant-widen:*:*:REFERENCES",
		Reason:  "REFERENCES is used only by creating a foreign key, which needs a table of one's own: no API role may CREATE in any schema, and a temporary table cannot reference a permanent one",
		Callers: []Caller{CallerAPI, CallerService, CallerServiceRole},
		Pins:    []string{pinNoCreate}},
	{Pattern: "function-execute-anon:private.*",
		Reason:  "anon has no USAGE on schema private, so it cannot reach any function there, granted or not",
		Callers: []Caller{CallerAPI, CallerService},
		Pins:    []string{pinAnonPrivate}},
	{Pattern: "function-execute-public:private.has_org_role(uuid,uuid,text)", Reason: publicAddsAnon,
		Callers: []Caller{CallerAPI, CallerService, CallerServiceRole}, Pins: []string{pinAnonPrivate}},
	{Pattern: "function-execute-public:private.org_ids_with_role(text\\[\\])", Reason: publicAddsAnon,
		Callers: []Caller{CallerAPI, CallerService, CallerServiceRole}, Pins: []string{pinAnonPrivate}},
	{Pattern: "function-execute-public:private.assert_mentors_in_org(uuid,uuid\\[\\])", Reason: publicAddsAnon,
		Callers: []Caller{CallerAPI, CallerService, CallerServiceRole}, Pins: []string{pinAnonPrivate}},
	{Pattern: "check-drop:public.peer_mentor_status.peer_mentor_status_paused_at_check",
		Reason:  "the ENABLE ALWAYS BEFORE trigger peer_mentor_status_bookkeeping sets paused_at from status on every INSERT and UPDATE, by any role, so no row reaches the check with the two out of step",
		Callers: every, Pins: []string{pinBookkeeping}},
	{Pattern: "check-drop:public.peer_mentor_status.peer_mentor_status_expected_return_check",
		Reason:  "the ENABLE ALWAYS BEFORE trigger peer_mentor_status_bookkeeping clears expected_return_date on every write that makes a row active, by any role",
		Callers: every, Pins: []string{pinBookkeeping}},
	{Pattern: "column-default-*:public.peer_mentor_status.updated_at",
		Reason:  "the ENABLE ALWAYS BEFORE trigger peer_mentor_status_bookkeeping sets updated_at to now() on every INSERT and UPDATE, by any role, over whatever the default gave",
		Callers: every, Pins: []string{pinBookkeeping}},
	{Pattern: "not-null-drop:public.peer_mentor_status.updated_at",
		Reason:  "the ENABLE ALWAYS BEFORE trigger peer_mentor_status_bookkeeping sets updated_at to now() on every INSERT and UPDATE, by any role",
		Callers: every, Pins: []string{pinBookkeeping}},
	{Pattern: "check-drop:public.peer_mentor_status_log.*",
		Reason:  "log rows are written only by peer_mentor_status_log_change firing on peer_mentor_status (the ENABLE ALWAYS guard refuses every other insert, the owner's and any other trigger's included), which copies previous and new status from a status change that the status CHECK and the no-change trigger have already checked",
		Callers: every, Pins: []string{pinLogWriter, pinOwnerLog}},
	{Pattern: "not-null-drop:public.peer_mentor_status_log.*",
		Reason:  "log rows are written only by peer_mentor_status_log_change firing on peer_mentor_status (the guard refuses every other insert before NOT NULL is checked), which fills these columns from the status row, where they are NOT NULL or set by the bookkeeping trigger, and from literals",
		Callers: every, Pins: []string{pinLogWriter, pinOwnerLog}},
	{Pattern: "fk-on-delete:public.peer_mentor_status_log.peer_mentor_status_log_status_id_fkey:*",
		Reason:  "peer_mentor_status_keep_logged (ENABLE ALWAYS, BEFORE DELETE) refuses to delete a status row that has log rows, for every role, before this key's action is reached",
		Callers: every, Pins: []string{pinOwnerLog}},
	{Pattern: "function-security-flip:private.proxy_activities_set_timestamps()", Reason: readsNoTable, Callers: every, Pins: []string{pinReadsNoTable}, Static: true},
	{Pattern: "function-security-flip:private.proxy_activities_guard_immutable()", Reason: readsNoTable, Callers: every, Pins: []string{pinReadsNoTable}, Static: true},
	{Pattern: "function-security-flip:private.peer_mentor_status_reject_no_change()", Reason: readsNoTable, Callers: every, Pins: []string{pinReadsNoTable}, Static: true},
	{Pattern: "function-security-flip:private.peer_mentor_status_log_immutable()", Reason: readsNoTable, Callers: every, Pins: []string{pinReadsNoTable}, Static: true},
	{Pattern: "function-security-flip:private.proxy_audit_log_reject_change()", Reason: readsNoTable, Callers: every, Pins: []string{pinReadsNoTable}, Static: true},
	{Pattern: "function-security-flip:private.peer_mentor_status_set_bookkeeping()", Reason: readsNoTable, Callers: every, Pins: []string{pinReadsNoTable}, Static: true},
	{Pattern: "function-security-flip:private.proxy_audit_log_guard_insert()", Reason: readsNoTable, Callers: every, Pins: []string{pinReadsNoTable}, Static: true},
	{Pattern: "function-security-flip:private.peer_mentor_status_log_guard()", Reason: readsNoTable, Callers: every, Pins: []string{pinReadsNoTable}, Static: true},
	{Pattern: "function-security-flip:private.proxy_activities_refuse_truncate()", Reason: readsNoTable, Callers: every, Pins: []string{pinReadsNoTable}, Static: true},
	{Pattern: "function-security-flip:private.peer_mentor_status_keep_logged()",
		Reason:  "it fires only on DELETE or UPDATE OF id of a status row, which no API role may do (no DELETE grant, UPDATE granted on status, reason and expected_return_date only), so it always runs as the owner",
		Callers: []Caller{CallerAPI, CallerService, CallerServiceRole}, Pins: []string{pinNoStatusDelete}},
	{Pattern: "index-drop:public.proxy_activities_org_id_idx",
		Reason:  "every lookup by org_id alone is served as well by the indexes that lead with org_id (the covering (org_id, date, id) and (org_id, attributed_mentor_id)): the plan reads another index the same way and returns the same rows; only the order of an unordered result, which SQL leaves undefined and no requirement promises, may differ",
		Callers: every, Pins: []string{pinOrgRange}},
	{Pattern: "function-security-flip:private.has_org_role(uuid,uuid,text)",
		Reason:  "its query answers only for membership rows the caller may read through org_members' SELECT policy (their own, or any of an org they coordinate or administer), which is what running it with the caller's rights under that policy gives, as long as RLS filters (row_security on, which PostgREST and db leave as it is); with no request (auth.uid() NULL) it is false either way",
		Callers: []Caller{CallerAPI, CallerServiceRole, CallerOwner}, Pins: []string{pinRLSOn}},
	{Pattern: "function-security-flip:private.pause_org_context(uuid)",
		Reason:  "it refuses a caller who is neither the mentor nor a coordinator of the claimed org before it looks at the mentor, and such callers can read exactly the membership rows it probes through org_members' SELECT policy (their own, or their org's roster), so with the caller's rights it reads the same rows, as long as RLS filters (row_security on) and the claims are the token's",
		Callers: []Caller{CallerAPI}, Pins: []string{pinRLSOn, pinPauseRevoked}},
	{Pattern: "function-security-flip:public.get_active_pauses_for_chapter(uuid)",
		Reason:  "its query keeps only status rows of orgs the caller coordinates (org_ids_with_role), all of which the caller may read through RLS anyway, so with the owner's rights it returns the same rows, as long as the claims are the token's for the whole statement",
		Callers: []Caller{CallerAPI}, Pins: []string{pinRLSOn, "PS-RPC-5"}},
	{Pattern: "policy-check-true:*proxy_activities.proxy_activities_update_own",
		Reason:  "org_id and coordinator_id cannot change in an UPDATE (the BEFORE UPDATE immutability triggers, which fire before WITH CHECK is evaluated, refuse it), so the new row's WITH CHECK evaluates USING's expression on the same values in the same statement, and gives the same answer, as long as the claims do not change within the statement (they are the token's for a PostgREST request; service code could change them with set_config)",
		Callers: []Caller{CallerAPI}, Pins: []string{"PA-RLS-3_an_UPDATE_cannot_move_a_row_to_another_org", pinRLSOn}},
	{Pattern: "policy-check-true:*recurring_activity_templates.recurring_activity_templates_update_coordinator",
		Reason:  "authenticated may UPDATE only activity_type, title, default_duration_minutes and recurrence_rule (column grants), so org_id, the one column the WITH CHECK reads, is the old row's, which USING has already checked with the same expression, as long as the claims do not change within the statement",
		Callers: []Caller{CallerAPI}, Pins: []string{"CONF-5_PA-RLS-3_no_API_role_the_template_policies_apply_to_may_change_the_org", pinRLSOn}},
	{Pattern: "function-search-path-reset:*",
		Reason:  "every name in every body is schema-qualified or resolves in pg_catalog, and no API role may create an object in any schema; a PostgREST request (service_role's included) creates no temporary object either, so the temporary schema, which the caller's search_path searches first for relations and types, holds nothing that could stand in for a name (service code in r.Tx() can create temporary types: not this class, and the search_path test kills these mutants where a body names a type)",
		Callers: []Caller{CallerAPI, CallerServiceRole}, Pins: []string{pinNoCreate}},
	{Pattern: "function-search-path-unsafe:*",
		Reason:  "every name in every body is schema-qualified or resolves in pg_catalog, which both values search before public (it is searched first when the path does not list it), and no API role may create an object in any schema, so no name resolves elsewhere; the one difference is where the temporary schema comes in the search for types (first for \"$user\", public), which only a caller that creates temporary types (service code in r.Tx()) can observe",
		Callers: []Caller{CallerAPI, CallerServiceRole}, Pins: []string{pinNoCreate}},
	{Pattern: "trigger-timing:public.*truncate:after",
		Reason:  "the statement trigger only raises, and a trigger that raises aborts the TRUNCATE whether it fires before or after the tables are emptied: TRUNCATE fires no row trigger and checks no constraint in between, so the refusal and its error are the same, for every role and in replica mode (ENABLE ALWAYS)",
		Callers: every, Pins: []string{pinTruncateActivities, pinTruncateAudit, pinOwnerLog}},
	{Pattern: "schema-privilege:public:PUBLIC:USAGE:revoke",
		Reason:  "anon, authenticated and service_role each hold USAGE on public by a grant of their own, so PUBLIC's adds nothing for them; the only roles it reaches besides are the login role before it switches (it runs no statement on public's objects) and the owner, who owns the schema",
		Callers: []Caller{CallerAPI, CallerService, CallerServiceRole}, Pins: []string{pinPublicUsage}},
	{Pattern: "trigger-update-of-narrow:public.proxy_activities.proxy_activities_mentor_in_org_check:coordinator_id", Reason: immutableColumn,
		Callers: []Caller{CallerAPI, CallerService, CallerServiceRole}, Pins: []string{"PA-RLS-3_an_UPDATE_cannot_move_a_row_to_another_org"}},
	{Pattern: "trigger-update-of-narrow:public.proxy_activities.proxy_activities_mentor_in_org_check:org_id", Reason: immutableColumn,
		Callers: []Caller{CallerAPI, CallerService, CallerServiceRole}, Pins: []string{"PA-RLS-3_an_UPDATE_cannot_move_a_row_to_another_org"}},
	{Pattern: "trigger-when:public.peer_mentor_status.peer_mentor_status_log_update:removed",
		Reason:  "every UPDATE of a status row that keeps its status is refused before any AFTER trigger fires, by peer_mentor_status_no_change (ENABLE ALWAYS, BEFORE UPDATE, WHEN old.status = new.status; status is NOT NULL, so = and IS NOT DISTINCT FROM agree), so every UPDATE that reaches the log trigger changes the status and its WHEN is always true, for every role and in replica mode",
		Callers: every, Pins: []string{pinEveryChangeLogged, pinOwnerNoChange}},
}

// The tests that pin the assumptions above (parts of their names).
const (
	pinNoCreate          = "CONF-5_no_API_role_may_create_an_object_in_any_schema"
	pinAnonPrivate       = "CONF-5_anon_cannot_reach_schema_private"
	pinBookkeeping       = "CONF-5_PS-LOG-1_the_bookkeeping_trigger_owns_paused_at"
	pinLogWriter         = "PS-LOG-2_PA-AUD-2_PS-LOG-1_the_logs'_insert_guards_refuse_a_row_written_by_any_trigger"
	pinOwnerLog          = "PS-LOG-2_PS-LOG-1_for_the_non-superuser_owner"
	pinReadsNoTable      = "CONF-5_static_pin:_the_trigger_functions_declared_indifferent_to_their_security_read_no_table"
	pinNoStatusDelete    = "CONF-5_no_API_role_may_delete_a_status_row_or_change_its_id"
	pinOrgRange          = "PA-PLAN-1_date-range_list_of_one_org_is_an_index_range_scan"
	pinRLSOn             = "CONF-5_a_db_request_runs_with_row_security_on_and_the_claims_it_was_given"
	pinPauseRevoked      = "PS-RPC-1_PS-RPC-3_a_coordinator_whose_role_is_revoked"
	pinPublicUsage       = "CONF-5_every_API_role_reaches_schema_public_through_a_grant_of_its_own"
	pinImmutable         = "PA-TRG-1"
	pinEveryChangeLogged = "PS-LOG-1_every_status_change_by_every_path_has_exactly_one_log_row"
	pinOwnerNoChange     = "PS-LOG-1_in_replica_mode_too,_the_owner's_insert_of_a_paused_row_writes_its_log_row_and_a_no-change_update_is_refused"
	// The TRUNCATE guards' refusals.
	pinTruncateActivities = "PA-AUD-1_PS-LOG-2_TRUNCATE_of_proxy_activities_is_refused"
	pinTruncateAudit      = "PS-LOG-2_PA-AUD-2_the_non-superuser_owner_cannot_update,_delete_or_truncate_proxy_audit_log_rows"
)

// immutableColumn is why the membership check need not fire on an UPDATE
// OF a column that no UPDATE may change.
const immutableColumn = "an UPDATE that changes coordinator_id or org_id is refused by their BEFORE UPDATE immutability trigger (ENABLE, like the check, so both fire in the same sessions) before the constraint trigger is queued, so a check no longer fired by an UPDATE OF either column misses no change"

// publicAddsAnon is why EXECUTE to PUBLIC changes nothing on a helper that
// authenticated and service_role may already execute.
const publicAddsAnon = "authenticated and service_role may already execute it; PUBLIC adds anon, which has no USAGE on schema private and so cannot reach it"

// readsNoTable is why a trigger function that reads no table is indifferent
// to whose rights it runs with.
const readsNoTable = "the body reads no table, only the row, the trigger's arguments, settings and the clock, so whose rights it runs with changes nothing"

// EquivalenceOf returns the entry that declares mutant id equivalent, or nil.
func EquivalenceOf(id string) *Equivalence {
	for i, e := range Equivalent {
		if ok, _ := path.Match(e.Pattern, id); ok {
			return &Equivalent[i]
		}
	}
	return nil
}

// EquivalentReason returns why mutant id is equivalent, or "".
func EquivalentReason(id string) string {
	if e := EquivalenceOf(id); e != nil {
		return e.Reason
	}
	return ""
}

// ReadsNoTable returns the functions (regprocedure text) whose security
// flip is declared equivalent because their body reads no table: the
// static pin checks exactly these.
func ReadsNoTable() []string {
	var out []string
	for _, e := range Equivalent {
		if e.Reason == readsNoTable {
			out = append(out, strings.TrimPrefix(e.Pattern, string(SecurityFlip)+":"))
		}
	}
	sort.Strings(out)
	return out
}

// PinnedBy returns the tests of results (test name → PASS/FAIL/SKIP, from
// the unmutated run) that pin e: for every pin, the passing tests whose
// name contains it, behavioural ones only unless e is Static. It returns
// nil when any pin has none: the equivalence is then unpinned.
func (e *Equivalence) PinnedBy(results map[string]string) []string {
	if len(e.Pins) == 0 {
		return nil
	}
	var out []string
	for _, pin := range e.Pins {
		var found []string
		for t, r := range results {
			if r != "PASS" || !strings.Contains(t, pin) {
				continue
			}
			if snap, _ := IsSnapshot(t); snap != e.Static {
				continue
			}
			found = append(found, t)
		}
		if len(found) == 0 {
			return nil
		}
		sort.Strings(found)
		// The shortest name is the test itself, not one of its subtests.
		sort.SliceStable(found, func(i, j int) bool { return len(found[i]) < len(found[j]) })
		out = append(out, found[0])
	}
	return out
}

// CallerNames is callers as strings.
func CallerNames(callers []Caller) []string {
	out := make([]string, len(callers))
	for i, c := range callers {
		out[i] = string(c)
	}
	return out
}
