package db

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/mentordb/mentordb/gen"
)

// Peer-mentor pause status (issue 4; migrations 20261122000000_peer_mentor_status
// and 20261122000100_pause_rls_and_rpcs).
//
// The org context of Pause and Resume is the organization_id key of the
// caller's user_metadata claim (OrgClaim), exactly what the RPCs read:
//
//	(auth.jwt() -> 'user_metadata' ->> 'organization_id')::uuid
//
// Build claims with User(sub, org). The claim only selects the org: the
// database re-checks membership rows on every call, so a forged claim yields
// ErrNotPermitted or ErrOrgMismatch, never access. A missing or malformed
// claim yields ErrInvalidClaims.

// Sentinels of the pause feature. ErrNotPermitted, ErrInvalidClaims and
// ErrImmutable are the package-wide ones.
var (
	// ErrOrgMismatch: the mentor does not hold the peer_mentor role in the org
	// of the caller's organization_id claim.
	ErrOrgMismatch = errors.New("db: peer mentor is not in the claimed organization")
	// ErrInvalidTransition: pausing a paused mentor or resuming an active one
	// (or any status-row update that does not change the status). Nothing is
	// written and no log row is created.
	ErrInvalidTransition = errors.New("db: invalid pause status transition")
	// ErrUnknownMentor: resuming a mentor who has no status row in the org
	// (they were never paused there).
	ErrUnknownMentor = errors.New("db: no pause status for this peer mentor")
)

// SQLSTATEs raised by the pause functions and triggers (class MD, documented
// in 20261122000000_peer_mentor_status.sql). Errors are mapped by constraint
// name (the Constraint* constants below); the codes are for reference.
const (
	SQLStateOrgMismatch       = "MD001"
	SQLStateInvalidTransition = "MD002"
	SQLStateUnknownMentor     = "MD003"
	SQLStateMissingOrgClaim   = "MD004"
	SQLStateLogImmutable      = "MD005"
	SQLStateNotPermitted      = "42501"
)

// Constraint names the pause functions and triggers set in RAISE ... USING
// CONSTRAINT, and the declarative constraints of the pause tables.
const (
	ConstraintPauseOrgMismatch      = "peer_mentor_status_org_mismatch"
	ConstraintPauseTransition       = "peer_mentor_status_transition"
	ConstraintPauseUnknownMentor    = "peer_mentor_status_unknown_mentor"
	ConstraintPauseOrgClaim         = "peer_mentor_status_org_claim"
	ConstraintPauseNotPermitted     = "peer_mentor_status_not_permitted"
	ConstraintPauseLogDirectInsert  = "peer_mentor_status_log_direct_insert"
	ConstraintPauseLogImmutable     = "peer_mentor_status_log_immutable"
	ConstraintPauseStatusCheck      = "peer_mentor_status_status_check"
	ConstraintPausePausedAtCheck    = "peer_mentor_status_paused_at_check"
	ConstraintPauseExpectedReturn   = "peer_mentor_status_expected_return_check"
	ConstraintPauseMentorOrgKey     = "peer_mentor_status_mentor_org_key"
	ConstraintPauseLogChangeCheck   = "peer_mentor_status_log_change_check"
	ConstraintPauseLogStatusIDFkey  = "peer_mentor_status_log_status_id_fkey"
	ConstraintPauseMentorFkey       = "peer_mentor_status_peer_mentor_id_fkey"
	ConstraintPauseLogMentorFkey    = "peer_mentor_status_log_peer_mentor_id_fkey"
	ConstraintPauseOrgFkey          = "peer_mentor_status_org_id_fkey"
	ConstraintPauseLogOrgFkey       = "peer_mentor_status_log_org_id_fkey"
	ConstraintPauseUpdatedByFkey    = "peer_mentor_status_updated_by_fkey"
	ConstraintPauseLogChangedByFkey = "peer_mentor_status_log_changed_by_fkey"
)

// PauseLockNamespace is the first key of the two-key advisory transaction
// lock the RPCs take, pg_advisory_xact_lock(PauseLockNamespace,
// hashtext(peer_mentor_id::text)): 0x4D440001, 'MD' << 16 | 1. In pg_locks it
// shows as locktype 'advisory', classid = PauseLockNamespace, objsubid = 2.
const PauseLockNamespace int32 = 0x4D440001

func init() {
	registerConstraint(ErrOrgMismatch, ConstraintPauseOrgMismatch)
	registerConstraint(ErrInvalidTransition, ConstraintPauseTransition, ConstraintPauseLogChangeCheck)
	registerConstraint(ErrUnknownMentor, ConstraintPauseUnknownMentor)
	registerConstraint(ErrInvalidClaims, ConstraintPauseOrgClaim)
	registerConstraint(ErrNotPermitted, ConstraintPauseNotPermitted, ConstraintPauseLogDirectInsert)
	registerConstraint(ErrImmutable, ConstraintPauseLogImmutable)
}

// PauseState is a peer mentor's availability in one org.
type PauseState string

const (
	PauseActive PauseState = "active"
	PausePaused PauseState = "paused"
)

// PauseStatus is a peer mentor's status in one org.
type PauseStatus struct {
	// ID is uuid.Nil for a mentor who has no status row yet: such a mentor is
	// active (see PauseRepository.OwnStatus).
	ID           uuid.UUID
	PeerMentorID uuid.UUID
	OrgID        uuid.UUID
	State        PauseState
	// Reason is the reason given with the latest change ("" for none).
	Reason string
	// PausedAt and ExpectedReturn are set only while paused (ExpectedReturn
	// only if one was given); the date is a calendar date at UTC midnight.
	PausedAt       *time.Time
	ExpectedReturn *time.Time
	UpdatedAt      time.Time
	// UpdatedBy is uuid.Nil for a change made outside a user request.
	UpdatedBy uuid.UUID
}

// Paused reports whether the mentor is paused.
func (s PauseStatus) Paused() bool { return s.State == PausePaused }

// PauseLogEntry is one status change; log entries are immutable.
type PauseLogEntry struct {
	ID           int64
	StatusID     uuid.UUID
	PeerMentorID uuid.UUID
	OrgID        uuid.UUID
	From         PauseState
	To           PauseState
	Reason       string
	// ChangedBy is uuid.Nil for a change made outside a user request.
	ChangedBy uuid.UUID
	ChangedAt time.Time
}

// PauseOptions are the optional arguments of Pause.
type PauseOptions struct {
	Reason string
	// ExpectedReturn is a calendar date; only its year, month and day are used.
	ExpectedReturn *time.Time
}

// PauseRepository reads and changes pause statuses. Every method runs as the
// caller described by claims, in one PostgREST-equivalent transaction (As or
// AsReadOnly), so RLS and the RPCs' own checks decide what it may see and do.
type PauseRepository struct {
	db *DB
	q  *gen.Queries
}

// NewPauseRepository returns the pause repository of d.
func NewPauseRepository(d *DB) *PauseRepository {
	return &PauseRepository{db: d, q: gen.New()}
}

// Pause pauses peerMentorID in the org of claims' organization_id
// (activate_pause). The caller must be the mentor or a coordinator of that
// org. Errors: ErrInvalidClaims, ErrNotPermitted, ErrOrgMismatch,
// ErrInvalidTransition (already paused).
func (r *PauseRepository) Pause(ctx context.Context, claims Claims, peerMentorID uuid.UUID, opts PauseOptions) (PauseStatus, error) {
	var out PauseStatus
	err := r.db.As(ctx, claims, func(tx pgx.Tx) error {
		row, err := r.q.ActivatePause(ctx, tx, gen.ActivatePauseParams{
			PeerMentorID:       peerMentorID,
			Reason:             optString(opts.Reason),
			ExpectedReturnDate: opts.ExpectedReturn,
		})
		out = pauseStatusFromGen(row)
		return err
	})
	return out, err
}

// Resume ends the pause of peerMentorID in the org of claims'
// organization_id (deactivate_pause). Errors: ErrInvalidClaims,
// ErrNotPermitted, ErrOrgMismatch, ErrInvalidTransition (already active),
// ErrUnknownMentor (never paused in that org).
func (r *PauseRepository) Resume(ctx context.Context, claims Claims, peerMentorID uuid.UUID, reason string) (PauseStatus, error) {
	var out PauseStatus
	err := r.db.As(ctx, claims, func(tx pgx.Tx) error {
		row, err := r.q.DeactivatePause(ctx, tx, gen.DeactivatePauseParams{
			PeerMentorID: peerMentorID,
			Reason:       optString(reason),
		})
		out = pauseStatusFromGen(row)
		return err
	})
	return out, err
}

// OwnStatus returns the caller's own status in orgID. A mentor without a
// status row is active: the result then has ID uuid.Nil and State
// PauseActive.
func (r *PauseRepository) OwnStatus(ctx context.Context, claims Claims, orgID uuid.UUID) (PauseStatus, error) {
	var out PauseStatus
	err := r.db.AsReadOnly(ctx, claims, func(tx pgx.Tx) error {
		row, err := r.q.GetOwnStatus(ctx, tx, orgID)
		if errors.Is(err, pgx.ErrNoRows) {
			out = PauseStatus{PeerMentorID: claims.Sub, OrgID: orgID, State: PauseActive}
			return nil
		}
		out = pauseStatusFromGen(row)
		return err
	})
	return out, err
}

// Status returns peerMentorID's status row in orgID. ErrNotFound when there
// is no row or RLS hides it (only the mentor and the org's coordinators see
// it).
func (r *PauseRepository) Status(ctx context.Context, claims Claims, peerMentorID, orgID uuid.UUID) (PauseStatus, error) {
	var out PauseStatus
	err := r.db.AsReadOnly(ctx, claims, func(tx pgx.Tx) error {
		row, err := r.q.GetStatus(ctx, tx, gen.GetStatusParams{PeerMentorID: peerMentorID, OrgID: orgID})
		out = pauseStatusFromGen(row)
		return err
	})
	return out, err
}

// OrgStatuses lists the status rows of orgID the caller may see: all of them
// for a coordinator of the org, the caller's own for a mentor, none otherwise.
func (r *PauseRepository) OrgStatuses(ctx context.Context, claims Claims, orgID uuid.UUID) ([]PauseStatus, error) {
	var out []PauseStatus
	err := r.db.AsReadOnly(ctx, claims, func(tx pgx.Tx) error {
		rows, err := r.q.ListOrgStatuses(ctx, tx, orgID)
		out = pauseStatusesFromGen(rows)
		return err
	})
	return out, err
}

// ChapterPauses lists the paused mentors of chapterID
// (get_active_pauses_for_chapter): only for a coordinator of the chapter's
// org; empty for a chapter of another org.
func (r *PauseRepository) ChapterPauses(ctx context.Context, claims Claims, chapterID uuid.UUID) ([]PauseStatus, error) {
	var out []PauseStatus
	err := r.db.AsReadOnly(ctx, claims, func(tx pgx.Tx) error {
		rows, err := r.q.ActivePausesForChapter(ctx, tx, chapterID)
		out = pauseStatusesFromGen(rows)
		return err
	})
	return out, err
}

// History lists peerMentorID's status changes in orgID, oldest first, as far
// as RLS lets the caller see them.
func (r *PauseRepository) History(ctx context.Context, claims Claims, peerMentorID, orgID uuid.UUID) ([]PauseLogEntry, error) {
	var out []PauseLogEntry
	err := r.db.AsReadOnly(ctx, claims, func(tx pgx.Tx) error {
		rows, err := r.q.ListStatusLog(ctx, tx, gen.ListStatusLogParams{PeerMentorID: peerMentorID, OrgID: orgID})
		if err != nil {
			return err
		}
		out = make([]PauseLogEntry, 0, len(rows))
		for _, row := range rows {
			out = append(out, pauseLogEntryFromGen(row))
		}
		return nil
	})
	return out, err
}

func pauseStatusFromGen(row gen.PeerMentorStatus) PauseStatus {
	return PauseStatus{
		ID:             row.ID,
		PeerMentorID:   row.PeerMentorID,
		OrgID:          row.OrgID,
		State:          PauseState(row.Status),
		Reason:         derefString(row.Reason),
		PausedAt:       row.PausedAt,
		ExpectedReturn: row.ExpectedReturnDate,
		UpdatedAt:      row.UpdatedAt,
		UpdatedBy:      derefUUID(row.UpdatedBy),
	}
}

func pauseStatusesFromGen(rows []gen.PeerMentorStatus) []PauseStatus {
	out := make([]PauseStatus, 0, len(rows))
	for _, row := range rows {
		out = append(out, pauseStatusFromGen(row))
	}
	return out
}

func pauseLogEntryFromGen(row gen.PeerMentorStatusLog) PauseLogEntry {
	return PauseLogEntry{
		ID:           row.ID,
		StatusID:     row.StatusID,
		PeerMentorID: row.PeerMentorID,
		OrgID:        row.OrgID,
		From:         PauseState(row.PreviousStatus),
		To:           PauseState(row.NewStatus),
		Reason:       derefString(row.Reason),
		ChangedBy:    derefUUID(row.ChangedBy),
		ChangedAt:    row.ChangedAt,
	}
}
