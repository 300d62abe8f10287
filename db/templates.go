package db

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/mentordb/mentordb/gen"
)

// Recurring-activity templates: an org's coordinators keep templates that
// proxy activities may refer to (TemplateID).

// RecurringActivityTemplate is an org's template for recurring activities.
type RecurringActivityTemplate struct {
	ID           uuid.UUID
	OrgID        uuid.UUID
	CreatedBy    uuid.UUID
	ActivityType string
	Title        string
	// DefaultDurationMinutes is 0 for none.
	DefaultDurationMinutes int
	// RecurrenceRule is an RFC 5545 RRULE value ("" for none).
	RecurrenceRule string
	CreatedAt      time.Time
}

// NewRecurringActivityTemplate is what CreateTemplate takes. CreatedBy is
// the caller for signed-in users; service_role must set it.
type NewRecurringActivityTemplate struct {
	OrgID                  uuid.UUID
	CreatedBy              uuid.UUID
	ActivityType           string
	Title                  string
	DefaultDurationMinutes int
	RecurrenceRule         string
}

// CreateTemplate creates a recurring-activity template in in.OrgID. Only
// the org's coordinators may, as themselves (CreatedBy uuid.Nil means the
// caller).
func (r *ProxyActivityRepository) CreateTemplate(ctx context.Context, claims Claims, in NewRecurringActivityTemplate) (RecurringActivityTemplate, error) {
	var out RecurringActivityTemplate
	createdBy := in.CreatedBy
	if createdBy == uuid.Nil {
		createdBy = claims.Sub
	}
	var minutes *int32
	if in.DefaultDurationMinutes != 0 {
		m, err := proxyMinutes(in.DefaultDurationMinutes)
		if err != nil {
			return out, err
		}
		minutes = &m
	}
	err := r.db.As(ctx, claims, func(tx pgx.Tx) error {
		row, err := r.q.CreateRecurringActivityTemplate(ctx, tx, gen.CreateRecurringActivityTemplateParams{
			OrgID:                  in.OrgID,
			CreatedBy:              createdBy,
			ActivityType:           in.ActivityType,
			Title:                  in.Title,
			DefaultDurationMinutes: minutes,
			RecurrenceRule:         optString(in.RecurrenceRule),
		})
		out = templateFromGen(row)
		return err
	})
	return out, err
}

// ListTemplates lists orgID's templates (coordinators of the org only; none
// for anyone else).
func (r *ProxyActivityRepository) ListTemplates(ctx context.Context, claims Claims, orgID uuid.UUID) ([]RecurringActivityTemplate, error) {
	var out []RecurringActivityTemplate
	err := r.db.AsReadOnly(ctx, claims, func(tx pgx.Tx) error {
		rows, err := r.q.ListRecurringActivityTemplates(ctx, tx, orgID)
		out = make([]RecurringActivityTemplate, len(rows))
		for i, row := range rows {
			out[i] = templateFromGen(row)
		}
		return err
	})
	return out, err
}

// DeleteTemplate deletes template id; activities that used it keep their
// data and get TemplateID uuid.Nil (an audited UPDATE each). ErrNotFound when
// the caller cannot see it.
func (r *ProxyActivityRepository) DeleteTemplate(ctx context.Context, claims Claims, id uuid.UUID) error {
	return r.db.As(ctx, claims, func(tx pgx.Tx) error {
		n, err := r.q.DeleteRecurringActivityTemplate(ctx, tx, id)
		if err == nil && n == 0 {
			return &Error{Kind: ErrNotFound, Message: "no such template visible to the caller"}
		}
		return err
	})
}

func templateFromGen(row gen.RecurringActivityTemplate) RecurringActivityTemplate {
	t := RecurringActivityTemplate{
		ID:             row.ID,
		OrgID:          row.OrgID,
		CreatedBy:      row.CreatedBy,
		ActivityType:   row.ActivityType,
		Title:          row.Title,
		RecurrenceRule: derefString(row.RecurrenceRule),
		CreatedAt:      row.CreatedAt,
	}
	if row.DefaultDurationMinutes != nil {
		t.DefaultDurationMinutes = int(*row.DefaultDurationMinutes)
	}
	return t
}
