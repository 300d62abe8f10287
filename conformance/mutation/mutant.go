// Package mutation proves the conformance gate (CONF-4): it generates
// mutants of the migrated schema from the catalog (every policy, grant,
// CHECK, foreign key, NOT NULL, trigger, index and function), runs the
// tests of the matrix that can observe the mutated object with the mutant
// applied to each of their clones (pgtest.EnvMutant), and counts a mutant
// killed only when a behavioural test fails (see classify.go). New objects
// get mutants without any change here: the generator reads pg_catalog, not
// a list.
package mutation

import "strings"

// Family is a kind of mutation.
type Family string

// The families, in report order.
const (
	PolicyUsingTrue  Family = "policy-using-true"
	PolicyCheckTrue  Family = "policy-check-true"
	PolicyDrop       Family = "policy-drop"
	RLSDisable       Family = "rls-disable"
	GrantWiden       Family = "grant-widen"
	GrantNarrow      Family = "grant-narrow"
	CheckDrop        Family = "check-drop"
	FKOnDelete       Family = "fk-on-delete"
	NotNullDrop      Family = "not-null-drop"
	TriggerDrop      Family = "trigger-drop"
	TriggerDisable   Family = "trigger-disable"
	TriggerOrigin    Family = "trigger-origin-only"
	IndexDrop        Family = "index-drop"
	BRINToBtree      Family = "brin-to-btree"
	SecurityFlip     Family = "function-security-flip"
	SearchPathReset  Family = "function-search-path-reset"
	ExecuteAnon      Family = "function-execute-anon"
	ExecutePublic    Family = "function-execute-public"
	AdvisoryLockDrop Family = "function-advisory-lock-drop"
	GuardDrop        Family = "function-guard-drop"

	SchemaPrivilege   Family = "schema-privilege"
	DatabasePrivilege Family = "database-privilege"
	ExecuteGrant      Family = "function-execute-grant"
	ExecuteRevoke     Family = "function-execute-revoke"
	PolicyRolesWiden  Family = "policy-roles-widen"
	PolicyKindFlip    Family = "policy-permissive-flip"
	RLSForce          Family = "rls-force"
	SearchPathUnsafe  Family = "function-search-path-unsafe"
	TriggerEnableMode Family = "trigger-enable-mode"
	TriggerTiming     Family = "trigger-timing"
	TriggerUpdateOf   Family = "trigger-update-of-narrow"
	TriggerWhen       Family = "trigger-when"
	KeyDrop           Family = "unique-drop"
	FKDrop            Family = "fk-drop"
	FKNarrow          Family = "fk-narrow"
	DefaultDrop       Family = "column-default-drop"
	DefaultChange     Family = "column-default-change"
	VolatilityChange  Family = "function-volatility"
)

// Families lists every family in report order.
var Families = []Family{
	PolicyUsingTrue, PolicyCheckTrue, PolicyDrop, RLSDisable, GrantWiden, GrantNarrow,
	CheckDrop, FKOnDelete, NotNullDrop, TriggerDrop, TriggerDisable, TriggerOrigin,
	IndexDrop, BRINToBtree, SecurityFlip, SearchPathReset, ExecuteAnon, ExecutePublic,
	AdvisoryLockDrop, GuardDrop,
	SchemaPrivilege, DatabasePrivilege, ExecuteGrant, ExecuteRevoke, PolicyRolesWiden, PolicyKindFlip, RLSForce,
	SearchPathUnsafe, TriggerEnableMode, TriggerTiming, TriggerUpdateOf, TriggerWhen, KeyDrop, FKDrop, FKNarrow,
	DefaultDrop, DefaultChange, VolatilityChange,
}

// Pending are families the generator writes but a run leaves out unless
// asked (mentordb mutants -pending), each with why: their mutants are not
// yet all killed or pinned, and the gate holds only for what it runs.
var Pending = map[Family]string{
	TriggerWhen:       "the whole run found one survivor, peer_mentor_status_log_update's WHEN removed, now declared equivalent (equivalent.go) with its pins: the next whole run judges the family",
	TriggerEnableMode: notYetRun,
	TriggerTiming:     notYetRun,
	KeyDrop:           notYetRun,
	FKDrop:            notYetRun,
	DefaultDrop:       notYetRun,
	DefaultChange:     notYetRun,
	VolatilityChange:  "most survive: a STABLE helper made VOLATILE or IMMUTABLE, or a trigger function that writes nothing made STABLE, returns the same rows in every test; each needs a test of the planner's or the snapshot's behaviour, or a pinned equivalence",
}

// notYetRun is why a family is pending whose mutants a whole run has not
// yet judged: each survivor needs its behavioural test or pinned
// equivalence before the family joins the gate.
const notYetRun = "not yet judged by a whole run; each survivor needs its behavioural test or a pinned equivalence first"

// Mutant is one small change of the schema.
type Mutant struct {
	// ID is unique and stable across runs of the same schema:
	// "<family>:<object>[:<detail>]".
	ID     string `json:"id"`
	Family Family `json:"family"`
	// Object is the mutated object, schema-qualified.
	Object string `json:"object"`
	// SQL applies the mutant; it runs in one transaction on a fresh copy of
	// the template. Failing to apply is an error of the runner, never a kill.
	SQL string `json:"sql"`
	// Observers say which tests can see the change: a test observes the
	// mutant when a statement it ran names one of these objects (as one of
	// the API roles, when APIRoles is set; as EXPLAIN, when Explain is set).
	Observers []string `json:"observers"`
	APIRoles  bool     `json:"api_roles,omitempty"`
	Explain   bool     `json:"explain,omitempty"`
	// Focus names the tests most likely to kill the mutant (those matching
	// any entry), which run first; the rest of the observers' tests run
	// only when these do not kill it. It orders the work and never decides
	// a status.
	Focus []Focus `json:"focus,omitempty"`
}

// Focus selects the tests that ran a statement of one of Commands (any,
// when empty) naming one of Objects, as one of Roles (any, when empty; a
// failed statement, whose role the log does not give, matches any).
// Commands are statements' first keywords (after EXPLAIN; the main
// statement's after WITH): SELECT, INSERT, UPDATE, DELETE, TRUNCATE, CREATE.
type Focus struct {
	Objects  []string `json:"objects"`
	Commands []string `json:"commands,omitempty"`
	Roles    []string `json:"roles,omitempty"`
}

func id(f Family, parts ...string) string { return string(f) + ":" + strings.Join(parts, ":") }
