package db

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/mentordb/mentordb/gen"
)

// Windows of registration time: the export of activities registered in a
// window and the review of an org's audit trail. Both columns are stamped
// by the server (created_at, at), so a window is one of server time, not of
// the activities' dates.

// TimeWindow is the half-open interval [From, To) of server time. To must
// be after From.
type TimeWindow struct {
	From, To time.Time
}

func (w TimeWindow) check() error {
	if !w.To.After(w.From) {
		return &Error{Kind: ErrInvalidInput, Class: ErrInvalidInput, Code: "22023",
			Message: fmt.Sprintf("time window [%s, %s) is empty", w.From.Format(time.RFC3339Nano), w.To.Format(time.RFC3339Nano))}
	}
	return nil
}

// ExportCursor is a keyset position of an export: the (CreatedAt, ID) of
// the last row of a page. Exports are ordered by (CreatedAt, ID).
type ExportCursor struct {
	CreatedAt time.Time
	ID        uuid.UUID
}

// ExportPage is one page of an export; Next is nil on the last page.
type ExportPage struct {
	Items []ProxyActivity
	Next  *ExportCursor
}

// Export returns the activities registered (created_at) in window, of
// orgID or of every org when orgID is uuid.Nil, oldest first, a page of at
// most limit rows (1 to 1,000) after the cursor (nil for the first page).
// It is the hand-off to an external reporting system: run it as
// ServiceRole(), which reads every org; other callers get what RLS lets
// them read. One statement, planned for its own window (a bitmap scan of
// the BRIN index on created_at). An empty window is ErrInvalidInput.
func (a Activities) Export(ctx context.Context, orgID uuid.UUID, window TimeWindow, after *ExportCursor, limit int) (ExportPage, error) {
	if err := window.check(); err != nil {
		return ExportPage{}, err
	}
	limit, fetch := pageLimit(limit)
	params := gen.ExportProxyActivitiesParams{
		FromAt: window.From, ToAt: window.To,
		AfterCreatedAt: window.From, AfterID: uuid.Nil,
		LimitRows: fetch,
	}
	if after != nil {
		params.AfterCreatedAt, params.AfterID = after.CreatedAt, after.ID
	}
	if orgID != uuid.Nil {
		params.OrgID = &orgID
	}
	rows, err := queries.ExportProxyActivities(ctx, perCallPlan{a.r.tx}, params)
	if err != nil {
		return ExportPage{}, interpretError(err)
	}
	rows, next := keysetPage(rows, limit, func(last gen.ProxyActivity) ExportCursor {
		return ExportCursor{CreatedAt: derefTime(last.CreatedAt), ID: last.ID}
	})
	return ExportPage{Items: proxyActivitiesFromGen(rows), Next: next}, nil
}

// Export is Activities.Export in a read-only request of its own.
func (p *ProxyActivityRepository) Export(ctx context.Context, claims Claims, orgID uuid.UUID, window TimeWindow, after *ExportCursor, limit int) (ExportPage, error) {
	return doOne(ctx, p.db, claims, pgx.ReadOnly, func(r *Request) (ExportPage, error) {
		return r.Activities().Export(ctx, orgID, window, after, limit)
	})
}

// AuditCursor is a keyset position of an audit review: the (At, ID) of the
// last row of a page. Reviews are ordered newest first, by (At, ID).
type AuditCursor struct {
	At time.Time
	ID int64
}

// AuditPage is one page of an audit review; Next is nil on the last page.
type AuditPage struct {
	Items []ProxyAuditEntry
	Next  *AuditCursor
}

// ReviewAuditLog returns orgID's audit rows written in window, newest
// first, a page of at most limit rows (1 to 1,000) after the cursor (nil
// for the first page). The org's coordinators and service_role may read
// them; anyone else gets an empty page (RLS). An empty window is
// ErrInvalidInput.
func (a Activities) ReviewAuditLog(ctx context.Context, orgID uuid.UUID, window TimeWindow, before *AuditCursor, limit int) (AuditPage, error) {
	if err := window.check(); err != nil {
		return AuditPage{}, err
	}
	limit, fetch := pageLimit(limit)
	params := gen.ReviewProxyAuditLogParams{
		OrgID: orgID, FromAt: window.From, ToAt: window.To,
		BeforeAt: window.To, BeforeID: math.MaxInt64,
		LimitRows: fetch,
	}
	if before != nil {
		params.BeforeAt, params.BeforeID = before.At, before.ID
	}
	rows, err := queries.ReviewProxyAuditLog(ctx, perCallPlan{a.r.tx}, params)
	if err != nil {
		return AuditPage{}, interpretError(err)
	}
	rows, next := keysetPage(rows, limit, func(last gen.ProxyAuditLog) AuditCursor {
		return AuditCursor{At: last.At, ID: last.ID}
	})
	return AuditPage{Items: convertAll(rows, proxyAuditEntryFromGen), Next: next}, nil
}

// ReviewAuditLog is Activities.ReviewAuditLog in a read-only request of
// its own.
func (p *ProxyActivityRepository) ReviewAuditLog(ctx context.Context, claims Claims, orgID uuid.UUID, window TimeWindow, before *AuditCursor, limit int) (AuditPage, error) {
	return doOne(ctx, p.db, claims, pgx.ReadOnly, func(r *Request) (AuditPage, error) {
		return r.Activities().ReviewAuditLog(ctx, orgID, window, before, limit)
	})
}
