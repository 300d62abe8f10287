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

// NewRecurringActivityTemplate is what Templates.Create takes. CreatedBy is
// the caller for signed-in users; service_role must set it.
type NewRecurringActivityTemplate struct {
	OrgID                  uuid.UUID
	CreatedBy              uuid.UUID
	ActivityType           string
	Title                  string
	DefaultDurationMinutes int
	RecurrenceRule         string
}

// Templates is the recurring-activity template repository bound to a
// request (Request.Templates). Only an org's coordinators may create, list
// and delete its templates; RLS decides.
type Templates struct{ r *Request }

// Templates returns the template repository bound to r.
func (r *Request) Templates() Templates { return Templates{r: r} }

// Create creates a recurring-activity template in in.OrgID. Only the org's
// coordinators may, as themselves (CreatedBy uuid.Nil means the caller).
func (t Templates) Create(ctx context.Context, in NewRecurringActivityTemplate) (RecurringActivityTemplate, error) {
	createdBy := in.CreatedBy
	if createdBy == uuid.Nil {
		createdBy = t.r.claims.Sub
	}
	if err := checkTemplateInput(in.ActivityType, in.Title, in.RecurrenceRule, in.DefaultDurationMinutes); err != nil {
		return RecurringActivityTemplate{}, err
	}
	var minutes *int32
	if in.DefaultDurationMinutes != 0 {
		m, err := proxyMinutes(in.DefaultDurationMinutes)
		if err != nil {
			return RecurringActivityTemplate{}, err
		}
		minutes = &m
	}
	row, err := queries.CreateRecurringActivityTemplate(ctx, t.r.tx, gen.CreateRecurringActivityTemplateParams{
		OrgID:                  in.OrgID,
		CreatedBy:              createdBy,
		ActivityType:           in.ActivityType,
		Title:                  in.Title,
		DefaultDurationMinutes: minutes,
		RecurrenceRule:         optString(in.RecurrenceRule),
	})
	if err != nil {
		return RecurringActivityTemplate{}, interpretError(err)
	}
	return templateFromGen(row), nil
}

// List lists orgID's templates (coordinators of the org only; none for
// anyone else).
func (t Templates) List(ctx context.Context, orgID uuid.UUID) ([]RecurringActivityTemplate, error) {
	rows, err := queries.ListRecurringActivityTemplates(ctx, t.r.tx, orgID)
	return convertRows(rows, err, templateFromGen)
}

// Delete deletes template id; activities that used it keep their data and
// get TemplateID uuid.Nil (an audited UPDATE each). ErrNotFound when the
// caller cannot see it.
func (t Templates) Delete(ctx context.Context, id uuid.UUID) error {
	n, err := queries.DeleteRecurringActivityTemplate(ctx, t.r.tx, id)
	if err != nil {
		return interpretError(err)
	}
	if n == 0 {
		return &Error{Kind: ErrNotFound, Class: ErrNotFound, Message: "no such template visible to the caller"}
	}
	return nil
}

// TemplateRepository is the template repository's one-call form: each
// method is the Templates method of the same name in a request of its own.
type TemplateRepository struct{ db *DB }

// Templates returns the one-call template repository of d.
func (d *DB) Templates() *TemplateRepository { return &TemplateRepository{db: d} }

// Create is Templates.Create in a request of its own.
func (p *TemplateRepository) Create(ctx context.Context, claims Claims, in NewRecurringActivityTemplate) (RecurringActivityTemplate, error) {
	return doOne(ctx, p.db, claims, pgx.ReadWrite, func(r *Request) (RecurringActivityTemplate, error) { return r.Templates().Create(ctx, in) })
}

// List is Templates.List in a read-only request of its own.
func (p *TemplateRepository) List(ctx context.Context, claims Claims, orgID uuid.UUID) ([]RecurringActivityTemplate, error) {
	return doOne(ctx, p.db, claims, pgx.ReadOnly, func(r *Request) ([]RecurringActivityTemplate, error) { return r.Templates().List(ctx, orgID) })
}

// Delete is Templates.Delete in a request of its own.
func (p *TemplateRepository) Delete(ctx context.Context, claims Claims, id uuid.UUID) error {
	_, err := doOne(ctx, p.db, claims, pgx.ReadWrite, func(r *Request) (struct{}, error) { return struct{}{}, r.Templates().Delete(ctx, id) })
	return err
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
