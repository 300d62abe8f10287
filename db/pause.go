package db

import (
	"context"
	"errors"
	"fmt"
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
	// ErrTransitionReached: a Pause or Resume (the one-call forms) found the
	// mentor already in the state it asked for, set by the same caller
	// with the same reason (and expected return date): what a retry finds
	// when its first try committed (after ErrOutcomeUnknown). The status
	// returned with it is that state; treat it as success. Nothing was
	// written by this call. It is a refused transition too: errors.Is
	// matches ErrInvalidTransition (and ErrCheck) as well.
	ErrTransitionReached = errors.New("db: the mentor is already in the state asked for, set by this caller with the same reason")
)

// SQLSTATEs raised by the pause functions and triggers (class MD, documented
// in 20261122000000_peer_mentor_status.sql). Errors get their Kind from the
// constraint name and their Class from the code (both in error_table.go).
const (
	SQLStateOrgMismatch       = "MD001"
	SQLStateInvalidTransition = "MD002"
	SQLStateUnknownMentor     = "MD003"
	SQLStateMissingOrgClaim   = "MD004"
	SQLStateLogImmutable      = "MD005"
	SQLStateNotPermitted      = "42501"
)

// PauseLockNamespace is the first key of the two-key advisory transaction
// lock the RPCs take, pg_advisory_xact_lock(PauseLockNamespace,
// hashtext(peer_mentor_id::text)): 0x4D440001, 'MD' << 16 | 1. In pg_locks it
// shows as locktype 'advisory', classid = PauseLockNamespace, objsubid = 2.
const PauseLockNamespace int32 = 0x4D440001

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

// Pauses is the pause repository bound to a request (Request.Pauses): every
// method acts as the request's caller in its transaction, so RLS and the
// RPCs' own checks decide what it may see and do. Errors come back
// interpreted.
type Pauses struct{ r *Request }

// Pauses returns the pause repository bound to r.
func (r *Request) Pauses() Pauses { return Pauses{r: r} }

// Pause pauses peerMentorID in the org of the caller's organization_id claim
// (activate_pause). The caller must be the mentor or a coordinator of that
// org. Errors: ErrInvalidClaims, ErrNotPermitted, ErrOrgMismatch,
// ErrInvalidTransition (already paused), ErrTooLong (reason),
// ErrReturnDateOutOfRange (pre-checked here, enforced by the database).
func (p Pauses) Pause(ctx context.Context, peerMentorID uuid.UUID, opts PauseOptions) (PauseStatus, error) {
	var ret time.Time
	if opts.ExpectedReturn != nil {
		ret = *opts.ExpectedReturn
	}
	if err := checkPauseInput(opts.Reason, ret, time.Now()); err != nil {
		return PauseStatus{}, err
	}
	row, err := queries.ActivatePause(ctx, p.r.tx, gen.ActivatePauseParams{
		PeerMentorID:       peerMentorID,
		Reason:             optString(opts.Reason),
		ExpectedReturnDate: opts.ExpectedReturn,
	})
	if err != nil {
		return PauseStatus{}, interpretError(err)
	}
	return pauseStatusFromGen(row), nil
}

// Resume ends the pause of peerMentorID in the org of the caller's
// organization_id claim (deactivate_pause). Errors: ErrInvalidClaims,
// ErrNotPermitted, ErrOrgMismatch, ErrInvalidTransition (already active),
// ErrUnknownMentor (never paused in that org).
func (p Pauses) Resume(ctx context.Context, peerMentorID uuid.UUID, reason string) (PauseStatus, error) {
	if err := checkPauseInput(reason, time.Time{}, time.Now()); err != nil {
		return PauseStatus{}, err
	}
	row, err := queries.DeactivatePause(ctx, p.r.tx, gen.DeactivatePauseParams{
		PeerMentorID: peerMentorID,
		Reason:       optString(reason),
	})
	if err != nil {
		return PauseStatus{}, interpretError(err)
	}
	return pauseStatusFromGen(row), nil
}

// OwnStatus returns the caller's own status in orgID. A mentor without a
// status row is active: the result then has ID uuid.Nil and State
// PauseActive.
func (p Pauses) OwnStatus(ctx context.Context, orgID uuid.UUID) (PauseStatus, error) {
	row, err := queries.GetOwnStatus(ctx, p.r.tx, orgID)
	if errors.Is(err, pgx.ErrNoRows) {
		return PauseStatus{PeerMentorID: p.r.claims.Sub, OrgID: orgID, State: PauseActive}, nil
	}
	if err != nil {
		return PauseStatus{}, interpretError(err)
	}
	return pauseStatusFromGen(row), nil
}

// Status returns peerMentorID's status row in orgID. ErrNotFound when there
// is no row or RLS hides it (only the mentor and the org's coordinators see
// it).
func (p Pauses) Status(ctx context.Context, peerMentorID, orgID uuid.UUID) (PauseStatus, error) {
	row, err := queries.GetStatus(ctx, p.r.tx, gen.GetStatusParams{PeerMentorID: peerMentorID, OrgID: orgID})
	if err != nil {
		return PauseStatus{}, interpretError(err)
	}
	return pauseStatusFromGen(row), nil
}

// OrgStatuses lists the status rows of orgID the caller may see: all of them
// for a coordinator of the org, the caller's own for a mentor, none otherwise.
func (p Pauses) OrgStatuses(ctx context.Context, orgID uuid.UUID) ([]PauseStatus, error) {
	rows, err := queries.ListOrgStatuses(ctx, p.r.tx, orgID)
	return convertRows(rows, err, pauseStatusFromGen)
}

// ChapterPauses lists the paused mentors of chapterID
// (get_active_pauses_for_chapter): only for a coordinator of the chapter's
// org; empty for a chapter of another org.
func (p Pauses) ChapterPauses(ctx context.Context, chapterID uuid.UUID) ([]PauseStatus, error) {
	rows, err := queries.ActivePausesForChapter(ctx, p.r.tx, chapterID)
	return convertRows(rows, err, pauseStatusFromGen)
}

// History lists peerMentorID's status changes in orgID, oldest first, as far
// as RLS lets the caller see them.
func (p Pauses) History(ctx context.Context, peerMentorID, orgID uuid.UUID) ([]PauseLogEntry, error) {
	rows, err := queries.ListStatusLog(ctx, p.r.tx, gen.ListStatusLogParams{PeerMentorID: peerMentorID, OrgID: orgID})
	return convertRows(rows, err, pauseLogEntryFromGen)
}

// PauseRepository is the one-call form of Pauses: each method runs as the
// caller described by claims in a request of its own (Do, or DoReadOnly for
// reads). To combine calls, or to add your own SQL, use Request.Pauses
// inside Do.
type PauseRepository struct{ db *DB }

// Pauses returns the one-call pause repository of d.
func (d *DB) Pauses() *PauseRepository { return &PauseRepository{db: d} }

// Pause is Pauses.Pause in a request of its own; the org is that of claims'
// organization_id.
//
// Retrying is safe. When the mentor is already paused the call is refused
// (nothing is written) and Pause reads the status, in a read-only request
// of its own on this path only, and returns it with the error: the state
// reached, so the caller sees who paused the mentor and why. When that
// pause is exactly what this call asked for (made by the same caller,
// UpdatedBy = claims.Sub, with the same reason and expected return date),
// which is what a retry after ErrOutcomeUnknown finds when its first try
// committed, the error is ErrTransitionReached: treat it as success. Any
// other refusal is ErrInvalidTransition only. Both match
// ErrInvalidTransition, so callers that only know that one see no change.
func (r *PauseRepository) Pause(ctx context.Context, claims Claims, peerMentorID uuid.UUID, opts PauseOptions) (PauseStatus, error) {
	st, err := doOne(ctx, r.db, claims, pgx.ReadWrite, func(q *Request) (PauseStatus, error) { return q.Pauses().Pause(ctx, peerMentorID, opts) })
	if errors.Is(err, ErrInvalidTransition) {
		return r.reached(ctx, claims, peerMentorID, PausePaused, opts.Reason, opts.ExpectedReturn, err)
	}
	return st, err
}

// Resume is Pauses.Resume in a request of its own. Like Pause, resuming an
// active mentor returns the mentor's status with ErrInvalidTransition, or
// with ErrTransitionReached when the same caller resumed them with the same
// reason (a retry whose first try committed).
func (r *PauseRepository) Resume(ctx context.Context, claims Claims, peerMentorID uuid.UUID, reason string) (PauseStatus, error) {
	st, err := doOne(ctx, r.db, claims, pgx.ReadWrite, func(q *Request) (PauseStatus, error) { return q.Pauses().Resume(ctx, peerMentorID, reason) })
	if errors.Is(err, ErrInvalidTransition) {
		return r.reached(ctx, claims, peerMentorID, PauseActive, reason, nil, err)
	}
	return st, err
}

// reached answers a Pause or Resume refused as ErrInvalidTransition
// (refused) with the mentor's status (zero if it cannot be read), and
// ErrTransitionReached, wrapping refused, when that status is exactly what
// this call would have made.
func (r *PauseRepository) reached(ctx context.Context, claims Claims, peerMentorID uuid.UUID, target PauseState, reason string, ret *time.Time, refused error) (PauseStatus, error) {
	raw, _ := claims.UserMetadata[OrgClaim].(string)
	org, err := uuid.Parse(raw)
	if err != nil {
		return PauseStatus{}, refused
	}
	st, err := r.Status(ctx, claims, peerMentorID, org)
	if err != nil {
		return PauseStatus{}, refused
	}
	if st.State == target && claims.Sub != uuid.Nil && st.UpdatedBy == claims.Sub && st.Reason == reason && sameDay(st.ExpectedReturn, ret) {
		return st, &Error{Kind: ErrTransitionReached, Class: ErrCheck, Constraint: ConstraintPeerMentorStatusTransition, Code: SQLStateInvalidTransition,
			Message: fmt.Sprintf("peer mentor %s is already %s, set by this caller with the same reason", peerMentorID, target), Err: refused}
	}
	return st, refused
}

// sameDay: both nil, or both the same calendar date.
func sameDay(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return proxyDate(*a).Equal(proxyDate(*b))
}

// OwnStatus is Pauses.OwnStatus in a read-only request of its own.
func (r *PauseRepository) OwnStatus(ctx context.Context, claims Claims, orgID uuid.UUID) (PauseStatus, error) {
	return doOne(ctx, r.db, claims, pgx.ReadOnly, func(q *Request) (PauseStatus, error) { return q.Pauses().OwnStatus(ctx, orgID) })
}

// Status is Pauses.Status in a read-only request of its own.
func (r *PauseRepository) Status(ctx context.Context, claims Claims, peerMentorID, orgID uuid.UUID) (PauseStatus, error) {
	return doOne(ctx, r.db, claims, pgx.ReadOnly, func(q *Request) (PauseStatus, error) { return q.Pauses().Status(ctx, peerMentorID, orgID) })
}

// OrgStatuses is Pauses.OrgStatuses in a read-only request of its own.
func (r *PauseRepository) OrgStatuses(ctx context.Context, claims Claims, orgID uuid.UUID) ([]PauseStatus, error) {
	return doOne(ctx, r.db, claims, pgx.ReadOnly, func(q *Request) ([]PauseStatus, error) { return q.Pauses().OrgStatuses(ctx, orgID) })
}

// ChapterPauses is Pauses.ChapterPauses in a read-only request of its own.
func (r *PauseRepository) ChapterPauses(ctx context.Context, claims Claims, chapterID uuid.UUID) ([]PauseStatus, error) {
	return doOne(ctx, r.db, claims, pgx.ReadOnly, func(q *Request) ([]PauseStatus, error) { return q.Pauses().ChapterPauses(ctx, chapterID) })
}

// History is Pauses.History in a read-only request of its own.
func (r *PauseRepository) History(ctx context.Context, claims Claims, peerMentorID, orgID uuid.UUID) ([]PauseLogEntry, error) {
	return doOne(ctx, r.db, claims, pgx.ReadOnly, func(q *Request) ([]PauseLogEntry, error) { return q.Pauses().History(ctx, peerMentorID, orgID) })
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
