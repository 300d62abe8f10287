package access

// The access matrix of mentordb. This file is the single source of truth:
// the conformance suite runs every cell against the real database, checks
// every grant and policy below against pg_catalog in both directions, and
// renders docs/access-matrix.md from it. Change the schema's access rules
// here first.

// Fixture world (built per object in a fresh clone by the generator, as the
// table owner).
const (
	OrgA      Ref = "org A"
	OrgB      Ref = "org B"
	OrgC      Ref = "org C"
	ChapterA1 Ref = "chapter A1"
	ChapterA2 Ref = "chapter A2"
	ChapterA3 Ref = "chapter A3"
	ChapterB1 Ref = "chapter B1"

	UserM   Ref = "M"
	UserM2  Ref = "M2"
	UserMB  Ref = "MB"
	UserCA1 Ref = "CA1"
	UserCA2 Ref = "CA2"
	UserCM  Ref = "CM"
	UserCB  Ref = "CB"
	UserD   Ref = "D"
	UserF   Ref = "F"
	UserU   Ref = "U"

	TemplateTA Ref = "TA"
	TemplateTB Ref = "TB"
	ActivityPA Ref = "PA"
	ActivityPB Ref = "PB"
	AuditPA    Ref = "audit(PA)"
	StatusM    Ref = "status(M)"
	StatusMB   Ref = "status(MB)"
	LogM       Ref = "log(M)"
)

// World lists every fixture the spec refers to.
var World = []Fixture{
	{OrgA, "the organisation most cells target"},
	{OrgB, "another organisation"},
	{OrgC, "an organisation nothing refers to (a DELETE target)"},
	{ChapterA1, "chapter of org A; M, M2, CA1, CM (and each revoked coordinator) are in it"},
	{ChapterA2, "chapter of org A; CA2, CM and D are in it"},
	{ChapterA3, "chapter of org A nothing refers to (a DELETE target)"},
	{ChapterB1, "chapter of org B; MB, CB, D and F are in it"},
	{UserM, "peer mentor of org A (chapter A1), paused"},
	{UserM2, "peer mentor of org A (chapter A1), no status row (active)"},
	{UserMB, "peer mentor of org B (chapter B1), paused"},
	{UserCA1, "coordinator of org A (chapter A1); created TA and PA"},
	{UserCA2, "coordinator of org A (chapter A2)"},
	{UserCM, "coordinator of org A in chapters A1 and A2"},
	{UserCB, "coordinator of org B (chapter B1); created TB and PB"},
	{UserD, "coordinator of org A (chapter A2) and peer mentor of org B (chapter B1)"},
	{UserF, "coordinator of org B (chapter B1)"},
	{UserU, "signed-in user with no membership anywhere"},
	{TemplateTA, "recurring activity template of org A, created by CA1"},
	{TemplateTB, "recurring activity template of org B, created by CB"},
	{ActivityPA, "proxy activity of org A: coordinator CA1, attributed to M"},
	{ActivityPB, "proxy activity of org B: coordinator CB, attributed to MB"},
	{AuditPA, "the proxy_audit_log row of PA's INSERT"},
	{StatusM, "M's peer_mentor_status row in org A (paused)"},
	{StatusMB, "MB's peer_mentor_status row in org B (paused)"},
	{LogM, "the peer_mentor_status_log row of M's pause"},
}

// Actors.
const (
	ActAnon              ActorKey = "anon"
	ActNoMembership      ActorKey = "signed_in_no_membership"
	ActMentorSelf        ActorKey = "peer_mentor_themself"
	ActMentorOther       ActorKey = "other_peer_mentor_same_org"
	ActCoordSameChapter  ActorKey = "coordinator_same_org_same_chapter"
	ActCoordOtherChapter ActorKey = "coordinator_same_org_other_chapter"
	ActCoordSeveral      ActorKey = "coordinator_of_several_chapters"
	ActCoordOtherOrg     ActorKey = "coordinator_of_other_org"
	ActTwoOrgsClaimA     ActorKey = "member_of_two_orgs_claim_A"
	ActTwoOrgsClaimB     ActorKey = "member_of_two_orgs_claim_B"
	ActRevoked           ActorKey = "coordinator_revoked_mid_session"
	ActForgedClaim       ActorKey = "forged_organization_id_claim"
	ActServiceRole       ActorKey = "service_role"
)

// Actors are every caller relation of issue 6, relative to peer mentor M of
// org A (chapter A1).
var Actors = []Actor{
	{Key: ActAnon, Label: "anon: no token", Role: Anon},
	{Key: ActNoMembership, Label: "U: signed in, member of nothing, no organization_id claim", Role: Authenticated, User: UserU},
	{Key: ActMentorSelf, Label: "M: the peer mentor themself", Role: Authenticated, User: UserM, Claim: OrgA},
	{Key: ActMentorOther, Label: "M2: another peer mentor of org A", Role: Authenticated, User: UserM2, Claim: OrgA},
	{Key: ActCoordSameChapter, Label: "CA1: coordinator of org A in M's chapter A1 (creator of TA and PA)", Role: Authenticated, User: UserCA1, Claim: OrgA},
	{Key: ActCoordOtherChapter, Label: "CA2: coordinator of org A in chapter A2 only", Role: Authenticated, User: UserCA2, Claim: OrgA},
	{Key: ActCoordSeveral, Label: "CM: coordinator of org A in chapters A1 and A2", Role: Authenticated, User: UserCM, Claim: OrgA},
	{Key: ActCoordOtherOrg, Label: "CB: coordinator of org B, claim B", Role: Authenticated, User: UserCB, Claim: OrgB},
	{Key: ActTwoOrgsClaimA, Label: "D: coordinator of org A and peer mentor of org B, claim A", Role: Authenticated, User: UserD, Claim: OrgA},
	{Key: ActTwoOrgsClaimB, Label: "D: the same user, claim B", Role: Authenticated, User: UserD, Claim: OrgB},
	{Key: ActRevoked, Label: "R: coordinator of org A (chapter A1) whose org_members row is deleted between two requests; claim A unchanged", Role: Authenticated, Claim: OrgA, Revoked: true},
	{Key: ActForgedClaim, Label: "F: coordinator of org B with a forged claim A", Role: Authenticated, User: UserF, Claim: OrgA},
	{Key: ActServiceRole, Label: "service_role key", Role: ServiceRole},
}

// Groups of actors, for writing expectations.
var (
	coordinatorsOfA = []ActorKey{ActCoordSameChapter, ActCoordOtherChapter, ActCoordSeveral, ActTwoOrgsClaimA, ActTwoOrgsClaimB}
	membersOfA      = append([]ActorKey{ActMentorSelf, ActMentorOther}, coordinatorsOfA...)
	// coordinatorsOfAWithClaimA are the coordinators of org A whose claim
	// selects org A (the RPCs read the claim; policies never do).
	coordinatorsOfAWithClaimA = []ActorKey{ActCoordSameChapter, ActCoordOtherChapter, ActCoordSeveral, ActTwoOrgsClaimA}
)

// Outcomes the pause RPCs raise (20261122000000_peer_mentor_status.sql).
var (
	pauseNotPermitted = Raise("42501", "peer_mentor_status_not_permitted")
	pauseOrgMismatch  = Raise("MD001", "peer_mentor_status_org_mismatch")
	pauseNoClaim      = Raise("MD004", "peer_mentor_status_org_claim")
)

var (
	readOnly   = []string{"SELECT"}
	readWrite  = []string{"SELECT", "INSERT", "UPDATE", "DELETE"}
	membership = map[Role][]string{Authenticated: readOnly, ServiceRole: readWrite}
)

func selectPolicy(name string) []Policy {
	return []Policy{{Name: name, Cmd: "SELECT", Roles: []string{"authenticated"}}}
}

// serviceWrites are the probes of a table that authenticated members read
// (seenBy see the SELECT target) and only service_role writes.
func serviceWrites(sel Probe, seenBy []ActorKey, insert, update, del Probe) []Probe {
	sel.Op, sel.Expect = Select, everyone(Zero).set(NoGrant, ActAnon).set(Rows(1), ActServiceRole).set(Rows(1), seenBy...)
	onlyService := func() Expectations { return everyone(NoGrant).set(Rows(1), ActServiceRole) }
	insert.Op, insert.Expect = Insert, onlyService()
	update.Op, update.Expect = Update, onlyService()
	del.Op, del.Expect = Delete, onlyService()
	return []Probe{sel, insert, update, del}
}

func truncate(table string, ids ...string) Probe {
	return Probe{Op: Truncate, Target: "the whole table", SQL: "TRUNCATE public." + table, IDs: ids, Expect: everyone(NoGrant)}
}

// Matrix is the access spec.
var Matrix = Spec{
	Actors: Actors,
	World:  World,
	Objects: []Object{
		{
			Name: "organizations", Kind: Table, RLS: true,
			About:    "Organisations. Members read their own; only service_role administers.",
			Policies: selectPolicy("organizations_select_member"),
			Grants:   membership,
			Probes: append(serviceWrites(
				Probe{Target: "org A", SQL: `SELECT count(*) FROM public.organizations WHERE id = $1`, Args: []Ref{OrgA}}, membersOfA,
				Probe{Target: "a new organisation", SQL: `INSERT INTO public.organizations (name) VALUES ('a new organisation')`},
				Probe{Target: "rename org A", SQL: `UPDATE public.organizations SET name = 'renamed' WHERE id = $1`, Args: []Ref{OrgA}},
				Probe{Target: "org C (unreferenced)", SQL: `DELETE FROM public.organizations WHERE id = $1`, Args: []Ref{OrgC}},
			), truncate("organizations")),
		},
		{
			Name: "chapters", Kind: Table, RLS: true,
			About:    "Chapters of an organisation. Members of the org read them; only service_role administers.",
			Policies: selectPolicy("chapters_select_member"),
			Grants:   membership,
			Probes: append(serviceWrites(
				Probe{Target: "chapter A1", SQL: `SELECT count(*) FROM public.chapters WHERE id = $1`, Args: []Ref{ChapterA1}}, membersOfA,
				Probe{Target: "a new chapter of org A", SQL: `INSERT INTO public.chapters (org_id, name) VALUES ($1, 'a new chapter')`, Args: []Ref{OrgA}},
				Probe{Target: "rename chapter A1", SQL: `UPDATE public.chapters SET name = 'renamed' WHERE id = $1`, Args: []Ref{ChapterA1}},
				Probe{Target: "chapter A3 (unreferenced)", SQL: `DELETE FROM public.chapters WHERE id = $1`, Args: []Ref{ChapterA3}},
			), truncate("chapters")),
		},
		{
			Name: "org_members", Kind: Table, RLS: true,
			About:    "Org membership and roles: what every policy checks. Users read their own rows, coordinators their org's roster; nobody but service_role writes (no self-join, no self-promotion).",
			Policies: selectPolicy("org_members_select"),
			Grants:   membership,
			Probes: append(serviceWrites(
				Probe{Target: "M's membership of org A", SQL: `SELECT count(*) FROM public.org_members WHERE org_id = $1 AND user_id = $2`, Args: []Ref{OrgA, UserM}},
				append([]ActorKey{ActMentorSelf}, coordinatorsOfA...),
				Probe{Target: "the caller joins org A as coordinator (service_role: for U)", SQL: `INSERT INTO public.org_members (org_id, user_id, role) VALUES ($1, $2, 'coordinator')`, Args: []Ref{OrgA, Self}, OnBehalfOf: UserU},
				Probe{Target: "promote M to coordinator", SQL: `UPDATE public.org_members SET role = 'coordinator' WHERE org_id = $1 AND user_id = $2`, Args: []Ref{OrgA, UserM}},
				Probe{Target: "M's membership of org A", SQL: `DELETE FROM public.org_members WHERE org_id = $1 AND user_id = $2`, Args: []Ref{OrgA, UserM}},
			), truncate("org_members")),
		},
		{
			Name: "chapter_members", Kind: Table, RLS: true,
			About:    "Chapter membership. Users read their own rows, coordinators their org's; nobody but service_role writes.",
			Policies: selectPolicy("chapter_members_select"),
			Grants:   membership,
			Probes: append(serviceWrites(
				Probe{Target: "M's membership of chapter A1", SQL: `SELECT count(*) FROM public.chapter_members WHERE chapter_id = $1 AND user_id = $2`, Args: []Ref{ChapterA1, UserM}},
				append([]ActorKey{ActMentorSelf}, coordinatorsOfA...),
				Probe{Target: "the caller joins chapter A2 (service_role: for U)", SQL: `INSERT INTO public.chapter_members (chapter_id, org_id, user_id) VALUES ($1, $2, $3)`, Args: []Ref{ChapterA2, OrgA, Self}, OnBehalfOf: UserU},
				Probe{Target: "move M from chapter A1 to A2", SQL: `UPDATE public.chapter_members SET chapter_id = $1 WHERE chapter_id = $2 AND user_id = $3`, Args: []Ref{ChapterA2, ChapterA1, UserM}},
				Probe{Target: "M's membership of chapter A1", SQL: `DELETE FROM public.chapter_members WHERE chapter_id = $1 AND user_id = $2`, Args: []Ref{ChapterA1, UserM}},
			), truncate("chapter_members")),
		},
		{
			Name: "recurring_activity_templates", Kind: Table, RLS: true,
			About: "Recurring activity templates. Every coordinator of the org reads and manages the org's templates.",
			Policies: []Policy{
				{Name: "recurring_activity_templates_select_coordinator", Cmd: "SELECT", Roles: []string{"authenticated"}},
				{Name: "recurring_activity_templates_insert_coordinator", Cmd: "INSERT", Roles: []string{"authenticated"}},
				{Name: "recurring_activity_templates_update_coordinator", Cmd: "UPDATE", Roles: []string{"authenticated"}},
				{Name: "recurring_activity_templates_delete_coordinator", Cmd: "DELETE", Roles: []string{"authenticated"}},
			},
			Grants: map[Role][]string{
				Authenticated: {"SELECT", "INSERT", "DELETE", "UPDATE(activity_type, title, default_duration_minutes, recurrence_rule)"},
				ServiceRole:   readWrite,
			},
			Probes: []Probe{
				{Op: Select, Target: "TA (org A, by CA1)",
					SQL: `SELECT count(*) FROM public.recurring_activity_templates WHERE id = $1`, Args: []Ref{TemplateTA},
					Expect: everyone(Zero).set(NoGrant, ActAnon).set(Rows(1), ActServiceRole).set(Rows(1), coordinatorsOfA...)},
				{Op: Insert, Target: "a template of org A with created_by = the caller (service_role: for CA1)",
					SQL:    `INSERT INTO public.recurring_activity_templates (org_id, created_by, activity_type, title) VALUES ($1, $2, 'visit', 'weekly visit')`,
					Args:   []Ref{OrgA, Self},
					Expect: everyone(RLSCheck).set(NoGrant, ActAnon).set(Rows(1), ActServiceRole).set(Rows(1), coordinatorsOfA...)},
				{Op: Update, Target: "rename TA",
					SQL: `UPDATE public.recurring_activity_templates SET title = 'renamed' WHERE id = $1`, Args: []Ref{TemplateTA},
					Expect: everyone(Zero).set(NoGrant, ActAnon).set(Rows(1), ActServiceRole).set(Rows(1), coordinatorsOfA...)},
				// A template's author is fixed after insert (column grants): no
				// coordinator can re-attribute another's template.
				{Op: Update, Name: "UPDATE created_by", Target: "set TA's created_by (CA1) to the caller (service_role: to CA1)",
					SQL: `UPDATE public.recurring_activity_templates SET created_by = $1 WHERE id = $2`, Args: []Ref{Self, TemplateTA},
					Columns: []string{"created_by"},
					Expect:  everyone(NoGrant).set(Rows(1), ActServiceRole)},
				{Op: Delete, Target: "TA",
					SQL: `DELETE FROM public.recurring_activity_templates WHERE id = $1`, Args: []Ref{TemplateTA},
					Expect: everyone(Zero).set(NoGrant, ActAnon).set(Rows(1), ActServiceRole).set(Rows(1), coordinatorsOfA...)},
				truncate("recurring_activity_templates"),
			},
		},
		{
			Name: "proxy_activities", Kind: Table, RLS: true,
			About: "Proxy activities. Every coordinator of the org reads them; only the registering coordinator (coordinator_id) inserts, updates and deletes, and a row never changes org or coordinator.",
			Policies: []Policy{
				{Name: "proxy_activities_select_coordinator", Cmd: "SELECT", Roles: []string{"authenticated"}},
				{Name: "proxy_activities_insert_own", Cmd: "INSERT", Roles: []string{"authenticated"}},
				{Name: "proxy_activities_update_own", Cmd: "UPDATE", Roles: []string{"authenticated"}},
				{Name: "proxy_activities_delete_own", Cmd: "DELETE", Roles: []string{"authenticated"}},
			},
			Grants: map[Role][]string{Authenticated: readWrite, ServiceRole: readWrite},
			Probes: []Probe{
				{Op: Select, Target: "PA (org A, by CA1)", IDs: []string{"PA-RLS-2"},
					SQL: `SELECT count(*) FROM public.proxy_activities WHERE id = $1`, Args: []Ref{ActivityPA},
					Expect: everyone(Zero).set(NoGrant, ActAnon).set(Rows(1), ActServiceRole).set(Rows(1), coordinatorsOfA...)},
				{Op: Insert, Target: "an activity of org A attributed to M with coordinator_id = the caller (service_role: for CA1)", IDs: []string{"PA-RLS-1"},
					SQL:    `INSERT INTO public.proxy_activities (coordinator_id, attributed_mentor_id, org_id, activity_type, date, duration_minutes) VALUES ($1, $2, $3, 'visit', DATE '2026-11-20', 30)`,
					Args:   []Ref{Self, UserM, OrgA},
					Expect: everyone(RLSCheck).set(NoGrant, ActAnon).set(Rows(1), ActServiceRole).set(Rows(1), coordinatorsOfA...)},
				{Op: Update, Target: "edit PA's notes", IDs: []string{"PA-RLS-3"},
					SQL: `UPDATE public.proxy_activities SET notes = 'edited' WHERE id = $1`, Args: []Ref{ActivityPA},
					Expect: everyone(Zero).set(NoGrant, ActAnon).set(Rows(1), ActServiceRole, ActCoordSameChapter)},
				{Op: Update, Name: "UPDATE coordinator_id", Target: "hand PA to coordinator CM", IDs: []string{"PA-RLS-3"},
					NobodyMay: "a row never changes its coordinator (BEFORE UPDATE trigger, every API role; the owner in replica mode is not stopped, see PS-LOG-2)",
					SQL:       `UPDATE public.proxy_activities SET coordinator_id = $1 WHERE id = $2`, Args: []Ref{UserCM, ActivityPA},
					Expect: everyone(Zero).set(NoGrant, ActAnon).
						set(Raise("23514", "proxy_activities_coordinator_id_immutable"), ActServiceRole, ActCoordSameChapter)},
				{Op: Update, Name: "UPDATE org_id", Target: "move PA to org B", IDs: []string{"PA-RLS-3"},
					NobodyMay: "a row never moves to another org (BEFORE UPDATE trigger, every API role; the owner in replica mode is not stopped, see PS-LOG-2)",
					SQL:       `UPDATE public.proxy_activities SET org_id = $1 WHERE id = $2`, Args: []Ref{OrgB, ActivityPA},
					Expect: everyone(Zero).set(NoGrant, ActAnon).
						set(Raise("23514", "proxy_activities_org_id_immutable"), ActServiceRole, ActCoordSameChapter)},
				{Op: Delete, Target: "PA", IDs: []string{"PA-RLS-4"},
					SQL: `DELETE FROM public.proxy_activities WHERE id = $1`, Args: []Ref{ActivityPA},
					Expect: everyone(Zero).set(NoGrant, ActAnon).set(Rows(1), ActServiceRole, ActCoordSameChapter)},
				truncate("proxy_activities"),
			},
		},
		{
			Name: "proxy_audit_log", Kind: Table, RLS: true,
			About:    "Append-only audit of proxy_activities, written only by a trigger. Coordinators of the org read it; no API role writes it.",
			Policies: selectPolicy("proxy_audit_log_select_coordinator"),
			Grants:   map[Role][]string{Authenticated: readOnly, ServiceRole: readOnly},
			Probes: []Probe{
				{Op: Select, Target: "audit(PA)",
					SQL: `SELECT count(*) FROM public.proxy_audit_log WHERE id = $1`, Args: []Ref{AuditPA},
					Expect: everyone(Zero).set(NoGrant, ActAnon).set(Rows(1), ActServiceRole).set(Rows(1), coordinatorsOfA...)},
				{Op: Insert, Target: "a forged DELETE entry for PA",
					SQL:    `INSERT INTO public.proxy_audit_log (activity_id, org_id, actor, action) VALUES ($1, $2, $3, 'DELETE')`,
					Args:   []Ref{ActivityPA, OrgA, Self},
					Expect: everyone(NoGrant)},
				{Op: Update, Target: "rewrite audit(PA)", IDs: []string{"PA-AUD-2"},
					SQL: `UPDATE public.proxy_audit_log SET action = 'DELETE' WHERE id = $1`, Args: []Ref{AuditPA},
					Expect: everyone(NoGrant)},
				{Op: Delete, Target: "audit(PA)", IDs: []string{"PA-AUD-2"},
					SQL: `DELETE FROM public.proxy_audit_log WHERE id = $1`, Args: []Ref{AuditPA},
					Expect: everyone(NoGrant)},
				truncate("proxy_audit_log", "PA-AUD-2"),
			},
		},
		{
			Name: "peer_mentor_status", Kind: Table, RLS: true,
			About: "A peer mentor's pause status per org. The mentor and every coordinator of the org read and change it (each change logged by a trigger); nobody deletes.",
			Policies: []Policy{
				{Name: "peer_mentor_status_select", Cmd: "SELECT", Roles: []string{"authenticated"}},
				{Name: "peer_mentor_status_insert", Cmd: "INSERT", Roles: []string{"authenticated"}},
				{Name: "peer_mentor_status_update", Cmd: "UPDATE", Roles: []string{"authenticated"}},
			},
			Grants: map[Role][]string{
				Authenticated: {"SELECT", "INSERT(peer_mentor_id, org_id, status, reason, expected_return_date)", "UPDATE(status, reason, expected_return_date)"},
				ServiceRole:   readOnly,
			},
			Probes: []Probe{
				{Op: Select, Target: "status(M)",
					SQL: `SELECT count(*) FROM public.peer_mentor_status WHERE id = $1`, Args: []Ref{StatusM},
					CellIDs: cellIDs(
						ids("PS-RLS-1", ActMentorSelf),
						ids("PS-RLS-2", ActMentorOther),
						ids("PS-RLS-3", coordinatorsOfA...),
						ids("PS-RLS-4", ActCoordOtherOrg, ActForgedClaim),
					),
					Expect: everyone(Zero).set(NoGrant, ActAnon).set(Rows(1), ActServiceRole, ActMentorSelf).set(Rows(1), coordinatorsOfA...)},
				{Op: Insert, Target: "a paused row for M2 in org A",
					SQL:    `INSERT INTO public.peer_mentor_status (peer_mentor_id, org_id, status) VALUES ($1, $2, 'paused')`,
					Args:   []Ref{UserM2, OrgA},
					Expect: everyone(RLSCheck).set(NoGrant, ActAnon, ActServiceRole).set(Rows(1), ActMentorOther).set(Rows(1), coordinatorsOfA...)},
				{Op: Update, Target: "resume M (status(M) paused → active)",
					SQL: `UPDATE public.peer_mentor_status SET status = 'active' WHERE id = $1`, Args: []Ref{StatusM},
					Expect: everyone(Zero).set(NoGrant, ActAnon, ActServiceRole).set(Rows(1), ActMentorSelf).set(Rows(1), coordinatorsOfA...)},
				{Op: Delete, Target: "status(M)",
					SQL: `DELETE FROM public.peer_mentor_status WHERE id = $1`, Args: []Ref{StatusM},
					Expect: everyone(NoGrant)},
				truncate("peer_mentor_status"),
			},
		},
		{
			Name: "peer_mentor_status_log", Kind: Table, RLS: true,
			About:    "One immutable row per status change, written only by the status trigger. Readable like the status; no API role writes it.",
			Policies: selectPolicy("peer_mentor_status_log_select"),
			Grants:   map[Role][]string{Authenticated: readOnly, ServiceRole: readOnly},
			Probes: []Probe{
				{Op: Select, Target: "log(M)",
					SQL: `SELECT count(*) FROM public.peer_mentor_status_log WHERE id = $1`, Args: []Ref{LogM},
					Expect: everyone(Zero).set(NoGrant, ActAnon).set(Rows(1), ActServiceRole, ActMentorSelf).set(Rows(1), coordinatorsOfA...)},
				{Op: Insert, Target: "a forged resume entry for status(M)", IDs: []string{"PS-LOG-1"},
					SQL:    `INSERT INTO public.peer_mentor_status_log (status_id, peer_mentor_id, org_id, previous_status, new_status) VALUES ($1, $2, $3, 'paused', 'active')`,
					Args:   []Ref{StatusM, UserM, OrgA},
					Expect: everyone(NoGrant)},
				{Op: Update, Target: "rewrite log(M)", IDs: []string{"PS-LOG-1"},
					SQL: `UPDATE public.peer_mentor_status_log SET reason = 'rewritten' WHERE id = $1`, Args: []Ref{LogM},
					Expect: everyone(NoGrant)},
				{Op: Delete, Target: "log(M)", IDs: []string{"PS-LOG-1"},
					SQL: `DELETE FROM public.peer_mentor_status_log WHERE id = $1`, Args: []Ref{LogM},
					Expect: everyone(NoGrant)},
				truncate("peer_mentor_status_log", "PS-LOG-1"),
			},
		},
		{
			Name: "activate_pause", Kind: Function, Args: "p_peer_mentor_id uuid, p_reason text, p_expected_return_date date",
			About:  "Pause a peer mentor in the org of the caller's organization_id claim. The caller must be the mentor or a coordinator of that org (membership rows decide).",
			Grants: map[Role][]string{Authenticated: {"EXECUTE"}},
			Probes: []Probe{
				{Op: Execute, Target: "pause M2 (active, no status row)",
					SQL: `SELECT count(*) FROM public.activate_pause($1)`, Args: []Ref{UserM2},
					CellIDs: cellIDs(
						ids("PS-RPC-6", ActAnon, ActNoMembership),
						ids("PS-RPC-4", ActCoordOtherOrg, ActTwoOrgsClaimB),
					),
					Expect: everyone(pauseNotPermitted).set(NoGrant, ActAnon, ActServiceRole).
						set(pauseNoClaim, ActNoMembership).
						set(pauseOrgMismatch, ActCoordOtherOrg).
						set(Rows(1), ActMentorOther).set(Rows(1), coordinatorsOfAWithClaimA...)},
			},
		},
		{
			Name: "deactivate_pause", Kind: Function, Args: "p_peer_mentor_id uuid, p_reason text",
			About:  "Resume a paused peer mentor, with the same org context and checks as activate_pause.",
			Grants: map[Role][]string{Authenticated: {"EXECUTE"}},
			Probes: []Probe{
				{Op: Execute, Target: "resume M (paused)",
					SQL: `SELECT count(*) FROM public.deactivate_pause($1)`, Args: []Ref{UserM},
					CellIDs: cellIDs(
						ids("PS-RPC-6", ActAnon, ActNoMembership),
						ids("PS-RPC-4", ActCoordOtherOrg, ActTwoOrgsClaimB),
					),
					Expect: everyone(pauseNotPermitted).set(NoGrant, ActAnon, ActServiceRole).
						set(pauseNoClaim, ActNoMembership).
						set(pauseOrgMismatch, ActCoordOtherOrg).
						set(Rows(1), ActMentorSelf).set(Rows(1), coordinatorsOfAWithClaimA...)},
			},
		},
		{
			Name: "get_active_pauses_for_chapter", Kind: Function, Args: "p_chapter_id uuid",
			About:  "The paused mentors of a chapter, for coordinators of the chapter's org; nothing for anyone else. Membership decides; the claim is not read.",
			Grants: map[Role][]string{Authenticated: {"EXECUTE"}},
			Probes: []Probe{
				{Op: Execute, Target: "chapter A1 (M paused in it)", ReadOnly: true,
					SQL: `SELECT count(*) FROM public.get_active_pauses_for_chapter($1)`, Args: []Ref{ChapterA1},
					CellIDs: cellIDs(
						ids("PS-RPC-6", ActAnon),
						ids("PS-RPC-5", append([]ActorKey{ActCoordOtherOrg, ActForgedClaim}, coordinatorsOfA...)...),
					),
					Expect: everyone(Zero).set(NoGrant, ActAnon, ActServiceRole).set(Rows(1), coordinatorsOfA...)},
			},
		},
	},
	Helpers: []Helper{
		{Name: "org_ids_with_role", Args: "p_roles text[]", About: "orgs where the caller holds a role; called by every policy",
			Grants: map[Role][]string{Authenticated: {"EXECUTE"}, ServiceRole: {"EXECUTE"}}},
		{Name: "has_org_role", Args: "p_user_id uuid, p_org_id uuid, p_role text", About: "whether a user holds a role in an org, answered only for memberships the caller may read in org_members (false otherwise); the pause policies",
			Grants: map[Role][]string{Authenticated: {"EXECUTE"}, ServiceRole: {"EXECUTE"}}},
		{Name: "pause_org_context", Args: "p_peer_mentor_id uuid", About: "the pause RPCs' org context and permission check",
			Grants: map[Role][]string{Authenticated: {"EXECUTE"}}},
		{Name: "assert_mentors_in_org", Args: "p_org_id uuid, p_mentor_ids uuid[]", About: "db's pre-check of an activity write: every mentor a peer_mentor of the org, else a typed error (as the caller: RLS on org_members applies)",
			Grants: map[Role][]string{Authenticated: {"EXECUTE"}, ServiceRole: {"EXECUTE"}}},
	},
	Schemas: []Schema{
		{Name: "public", Grants: map[Role][]string{Anon: {"USAGE"}, Authenticated: {"USAGE"}, ServiceRole: {"USAGE"}}},
		{Name: "private", Grants: map[Role][]string{Authenticated: {"USAGE"}, ServiceRole: {"USAGE"}}},
	},
}

type idSet struct {
	id   string
	keys []ActorKey
}

func ids(id string, keys ...ActorKey) idSet { return idSet{id, keys} }

func cellIDs(sets ...idSet) map[ActorKey][]string {
	m := map[ActorKey][]string{}
	for _, s := range sets {
		for _, k := range s.keys {
			m[k] = append(m[k], s.id)
		}
	}
	return m
}
