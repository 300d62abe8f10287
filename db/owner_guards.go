package db

// Guards that make the logs' guarantees hold for the tables' owner too
// (migration 20261201000300_owner_guarantees): no caller of db can trip
// them through the API roles' grants, but a session as the owner (or
// service code with more privileges) gets the same typed errors.
func init() {
	// A status row that has log rows cannot be deleted or renumbered
	// (SQLSTATE 23503, like the foreign key it backs up in replica mode).
	registerConstraint(ErrImmutable, ConstraintPeerMentorStatusKeepLogged)
	// A proxy_audit_log row not written by the audit trigger (42501).
	registerConstraint(ErrNotPermitted, ConstraintProxyAuditLogDirectInsert)
	registerConstraint(ErrNotPermitted, ConstraintTriggerFunctionWrongTable, ConstraintProxyActivitiesNoTruncate)
}
