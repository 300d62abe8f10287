package mutation

import "path"

// Equivalent lists the mutants that change nothing any caller can observe,
// with the reason, as glob patterns (path.Match) over mutant IDs. They are
// reported with their reason and not run. The list is reviewed like code:
// an entry says why no test can tell the mutant from the schema, not that
// no test happens to.
var Equivalent = []struct {
	Pattern string
	Reason  string
}{
	{"grant-widen:*:*:REFERENCES",
		"REFERENCES is used only by creating a foreign key, which needs a table of one's own: no API role may CREATE in any schema (the Access matrix pins schema privileges), and a temporary table cannot reference a permanent one"},
	{"function-execute-anon:private.*",
		"anon has no USAGE on schema private (pinned by the Access matrix), so it cannot reach any function there, granted or not"},
	{"function-execute-public:private.has_org_role(uuid,uuid,text)", publicAddsAnon},
	{"function-execute-public:private.org_ids_with_role(text[])", publicAddsAnon},
	{"check-drop:public.peer_mentor_status.peer_mentor_status_paused_at_check",
		"the ENABLE ALWAYS BEFORE trigger peer_mentor_status_bookkeeping sets paused_at from status on every INSERT and UPDATE, by any role, so no row reaches the check with the two out of step"},
	{"check-drop:public.peer_mentor_status.peer_mentor_status_expected_return_check",
		"the ENABLE ALWAYS BEFORE trigger peer_mentor_status_bookkeeping clears expected_return_date on every write that makes a row active, by any role"},
	{"not-null-drop:public.peer_mentor_status.updated_at",
		"the ENABLE ALWAYS BEFORE trigger peer_mentor_status_bookkeeping sets updated_at to now() on every INSERT and UPDATE, by any role"},
	{"check-drop:public.peer_mentor_status_log.*",
		"log rows are written only by peer_mentor_status_log_change (the ENABLE ALWAYS guard trigger refuses every other insert, the owner's included), which copies previous and new status from a status change that the status CHECK and the no-change trigger have already checked"},
	{"not-null-drop:public.peer_mentor_status_log.*",
		"log rows are written only by peer_mentor_status_log_change (the guard trigger refuses every other insert before NOT NULL is checked), which fills these columns from the status row, where they are NOT NULL or set by the bookkeeping trigger, and from literals"},
	{"fk-on-delete:public.peer_mentor_status_log.peer_mentor_status_log_status_id_fkey:*",
		"peer_mentor_status_keep_logged (ENABLE ALWAYS, BEFORE DELETE) refuses to delete a status row that has log rows, for every role, before this key's action is reached"},
	{"function-security-flip:private.proxy_activities_set_timestamps()", readsNoTable},
	{"function-security-flip:private.proxy_activities_guard_immutable()", readsNoTable},
	{"function-security-flip:private.peer_mentor_status_reject_no_change()", readsNoTable},
	{"function-security-flip:private.peer_mentor_status_log_immutable()", readsNoTable},
	{"function-security-flip:private.proxy_audit_log_reject_change()", readsNoTable},
	{"function-security-flip:private.peer_mentor_status_set_bookkeeping()", readsNoTable},
	{"function-security-flip:private.proxy_audit_log_guard_insert()", readsNoTable},
	{"function-security-flip:private.peer_mentor_status_log_guard()", readsNoTable},
	{"function-security-flip:private.proxy_activities_refuse_truncate()", readsNoTable},
	{"function-security-flip:private.peer_mentor_status_keep_logged()",
		"it fires only on DELETE or UPDATE OF id of a status row, which no API role may do (no DELETE grant, UPDATE granted on status, reason and expected_return_date only), so it always runs as the owner"},
	{"index-drop:public.proxy_activities_org_id_idx",
		"every lookup by org_id alone is served as well by the indexes that lead with org_id (the covering (org_id, date, id) and (org_id, attributed_mentor_id)): the plan reads another index the same way and returns the same rows"},
	{"function-security-flip:private.has_org_role(uuid,uuid,text)",
		"its query answers only for membership rows the caller may read through org_members' SELECT policy (their own, or any of an org they coordinate or administer), which is what running it with the caller's rights under that policy gives; with no request (auth.uid() NULL) it is false either way"},
	{"function-security-flip:private.pause_org_context(uuid)",
		"it refuses a caller who is neither the mentor nor a coordinator of the claimed org before it looks at the mentor, and such callers can read exactly the membership rows it probes through org_members' SELECT policy (their own, or their org's roster), so with the caller's rights it reads the same rows"},
	{"function-security-flip:public.get_active_pauses_for_chapter(uuid)",
		"its query keeps only status rows of orgs the caller coordinates (org_ids_with_role), all of which the caller may read through RLS anyway, so with the owner's rights it returns the same rows"},
	{"policy-check-true:*proxy_activities.proxy_activities_update_own",
		"org_id and coordinator_id cannot change in an UPDATE (the BEFORE UPDATE immutability triggers, which fire before WITH CHECK is evaluated, refuse it), so the new row's WITH CHECK evaluates USING's expression on the same values in the same statement, and gives the same answer"},
	{"policy-check-true:*recurring_activity_templates.recurring_activity_templates_update_coordinator",
		"authenticated may UPDATE only activity_type, title, default_duration_minutes and recurrence_rule (column grants, pinned by the Access matrix), so org_id, the one column the WITH CHECK reads, is the old row's, which USING has already checked with the same expression"},
	{"function-search-path-reset:*",
		"every name in every body is schema-qualified or resolves in pg_catalog, and callers reach the functions only through PostgREST requests, which cannot create objects (no API role may CREATE in any schema) or choose the search_path, so no name can resolve elsewhere"},
}

// publicAddsAnon is why EXECUTE to PUBLIC changes nothing on a helper that
// authenticated and service_role may already execute.
const publicAddsAnon = "authenticated and service_role may already execute it; PUBLIC adds anon, which has no USAGE on schema private and so cannot reach it"

// readsNoTable is why a trigger function that reads no table is indifferent
// to whose rights it runs with.
const readsNoTable = "the body reads no table, only the row, the trigger's arguments, settings and the clock, so whose rights it runs with changes nothing"

// EquivalentReason returns why mutant id is equivalent, or "".
func EquivalentReason(id string) string {
	for _, e := range Equivalent {
		if ok, _ := path.Match(e.Pattern, id); ok {
			return e.Reason
		}
	}
	return ""
}
