package db

// The error table: every constraint name and SQLSTATE db types, in one
// place. fromPgError reads it; the Constraints suite (DB-ERR-1) raises every
// name the catalog holds and fails when one comes back untyped here.

// constraintKinds maps the names that fire (Constraint* constants, which the
// Constraints suite checks against the catalog) to the specific sentinel a
// caller sees. A name not listed is typed by its SQLSTATE alone (codeKinds).
var constraintKinds = map[Constraint]error{
	// Proxy activities.
	ConstraintProxyActivitiesNoSelfAttributionCheck:                 ErrSelfAttribution,
	ConstraintProxyActivitiesDurationMinutesCheck:                   ErrNonPositiveDuration,
	ConstraintRecurringActivityTemplatesDefaultDurationMinutesCheck: ErrNonPositiveDuration,
	ConstraintProxyActivitiesMentorInOrgCheck:                       ErrMentorNotInOrg,
	ConstraintProxyActivitiesTemplateSameOrgFkey:                    ErrTemplateOtherOrg,
	ConstraintProxyActivitiesOrgIDImmutable:                         ErrOrgChange,
	ConstraintProxyActivitiesCoordinatorIDImmutable:                 ErrCoordinatorChange,
	ConstraintProxyAuditLogImmutable:                                ErrImmutable,
	ConstraintProxyActivitiesNotPermitted:                           ErrNotPermitted,

	// Input bounds (migration 20261201000000_input_bounds).
	ConstraintProxyActivitiesActivityTypeLengthCheck:                   ErrTooLong,
	ConstraintProxyActivitiesNotesLengthCheck:                          ErrTooLong,
	ConstraintRecurringActivityTemplatesActivityTypeLengthCheck:        ErrTooLong,
	ConstraintRecurringActivityTemplatesTitleLengthCheck:               ErrTooLong,
	ConstraintRecurringActivityTemplatesRecurrenceRuleLengthCheck:      ErrTooLong,
	ConstraintPeerMentorStatusReasonLengthCheck:                        ErrTooLong,
	ConstraintProxyActivitiesActivityTypeCheck:                         ErrBlankActivityType,
	ConstraintRecurringActivityTemplatesActivityTypeCheck:              ErrBlankActivityType,
	ConstraintProxyActivitiesDateWindowCheck:                           ErrDateOutOfRange,
	ConstraintProxyActivitiesDurationMinutesMaxCheck:                   ErrDurationTooLong,
	ConstraintRecurringActivityTemplatesDefaultDurationMinutesMaxCheck: ErrDurationTooLong,
	ConstraintProxyActivitiesCoordinatorInOrgCheck:                     ErrCoordinatorNotInOrg,
	ConstraintPeerMentorStatusExpectedReturnWindowCheck:                ErrReturnDateOutOfRange,

	// Pause status.
	ConstraintPeerMentorStatusOrgMismatch:     ErrOrgMismatch,
	ConstraintPeerMentorStatusTransition:      ErrInvalidTransition,
	ConstraintPeerMentorStatusLogChangeCheck:  ErrInvalidTransition,
	ConstraintPeerMentorStatusUnknownMentor:   ErrUnknownMentor,
	ConstraintPeerMentorStatusOrgClaim:        ErrInvalidClaims,
	ConstraintPeerMentorStatusNotPermitted:    ErrNotPermitted,
	ConstraintPeerMentorStatusLogDirectInsert: ErrNotPermitted,
	ConstraintPeerMentorStatusLogImmutable:    ErrImmutable,

	// Administration.
	ConstraintOrgMembersRoleCheck: ErrUnknownRole,
	ConstraintOrgMembersPkey:      ErrAlreadyMember,
	ConstraintChapterMembersPkey:  ErrAlreadyMember,

	// Guards that hold for the tables' owner too (migration
	// 20261201000300_owner_guarantees): no API role can trip them, a session
	// as the owner gets the same typed errors. A status row with log rows
	// cannot be deleted or renumbered (23503, like the foreign key it backs
	// up in replica mode); an audit row not written by the audit trigger
	// (42501).
	ConstraintPeerMentorStatusKeepLogged: ErrImmutable,
	ConstraintProxyAuditLogDirectInsert:  ErrNotPermitted,
	ConstraintTriggerFunctionWrongTable:  ErrNotPermitted,
	ConstraintProxyActivitiesNoTruncate:  ErrNotPermitted,
}

// codeKinds maps SQLSTATEs to sentinels: the Class of an error
// (codeSpecificKinds names a narrower Kind). Class 08 (connection
// exception) is ErrConnection too (kindOfCode).
var codeKinds = map[string]error{
	"23514": ErrCheck,
	"23503": ErrForeignKey,
	"23505": ErrUnique,
	"23502": ErrNotNull,
	"42501": ErrNotPermitted, // insufficient_privilege, and RLS WITH CHECK failures
	"22P02": ErrInvalidInput,
	"22003": ErrInvalidInput,
	"22007": ErrInvalidInput,
	"22008": ErrInvalidInput,
	"22021": ErrInvalidInput, // character_not_in_repertoire: NUL or invalid UTF-8 in text
	"22P05": ErrInvalidInput, // untranslatable_character: "\u0000" in JSON cast to jsonb
	"40001": ErrConflict,
	"40P01": ErrConflict,
	"55P03": ErrConflict,         // lock_not_available: lock_timeout, NOWAIT
	"25P02": ErrTxAborted,        // in_failed_sql_transaction
	"57014": ErrStatementTimeout, // query_canceled: fromPgError tells a cancel from a timeout
	"57P01": ErrConnection,       // admin_shutdown (pg_terminate_backend, a shutdown)
	"57P02": ErrConnection,       // crash_shutdown
	"57P03": ErrConnection,       // cannot_connect_now (starting up, shutting down)
	"57P05": ErrConnection,       // idle_session_timeout
	"25P03": ErrConnection,       // idle_in_transaction_session_timeout ends the session
	"25P04": ErrConnection,       // transaction_timeout (PostgreSQL 17) ends the session
	"26000": ErrPooler,           // invalid_sql_statement_name
	"42P05": ErrPooler,           // duplicate_prepared_statement

	// mentordb's own codes (class MD, raised by the pause functions and
	// triggers), classed like the declarative errors of the same meaning: a
	// mentor outside the org is a failed check (as ErrMentorNotInOrg), so
	// is a transition the status check refuses; an unknown status row is
	// not found; a missing org claim is input the caller must fix; writing
	// the append-only log is refused (as the proxy audit log's 42501).
	SQLStateOrgMismatch:       ErrCheck,
	SQLStateInvalidTransition: ErrCheck,
	SQLStateUnknownMentor:     ErrNotFound,
	SQLStateMissingOrgClaim:   ErrInvalidInput,
	SQLStateLogImmutable:      ErrNotPermitted,
}

// codeSpecificKinds are the Kinds narrower than their code's Class.
var codeSpecificKinds = map[string]error{
	"22021": ErrInvalidText,
	"22P05": ErrInvalidText,
	"55P03": ErrLockTimeout,
}
