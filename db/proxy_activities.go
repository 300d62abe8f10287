package db

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/mentordb/mentordb/gen"
)

// Proxy activities (issue 3; migration 20261121000000_proxy_activities).
//
// Dual attribution: every activity has a CoordinatorID (who registered it:
// accountability, audit, access control) and an AttributedMentorID (who it is
// credited to: Bufdir reporting). They are different people and never
// conflated; reports aggregate by AttributedMentorID only.

// Sentinels of the proxy-activity feature. ErrNotPermitted, ErrNotFound,
// ErrForeignKey, ErrInvalidInput and ErrImmutable are the package-wide ones.
var (
	// ErrSelfAttribution: coordinator_id = attributed_mentor_id.
	ErrSelfAttribution = errors.New("db: a coordinator cannot attribute an activity to themselves")
	// ErrMentorNotInOrg: the attributed mentor does not hold the peer_mentor
	// role in the activity's org.
	ErrMentorNotInOrg = errors.New("db: attributed mentor is not a peer mentor of the organization")
	// ErrTemplateOtherOrg: the template belongs to another org.
	ErrTemplateOtherOrg = errors.New("db: template belongs to another organization")
	// ErrNonPositiveDuration: duration_minutes <= 0.
	ErrNonPositiveDuration = errors.New("db: duration must be positive")
	// ErrOrgChange: an update tried to move an activity to another org.
	ErrOrgChange = errors.New("db: an activity cannot move to another organization")
	// ErrCoordinatorChange: an update tried to hand an activity to another
	// coordinator.
	ErrCoordinatorChange = errors.New("db: an activity cannot change its coordinator")
)

// Constraint names of the proxy-activity tables. The first group is what
// the database reports in a failing statement (declarative constraints, and
// the names the triggers set in RAISE ... USING CONSTRAINT, which are also
// those triggers' names); the rest are the remaining declarative ones.
const (
	ConstraintNoSelfAttribution         = "proxy_activities_no_self_attribution_check"
	ConstraintDurationPositive          = "proxy_activities_duration_minutes_check"
	ConstraintMentorInOrg               = "proxy_activities_mentor_in_org_check"      // constraint trigger
	ConstraintTemplateSameOrg           = "proxy_activities_template_same_org_fkey"   // FK (template_id, org_id)
	ConstraintOrgImmutable              = "proxy_activities_org_id_immutable"         // BEFORE UPDATE trigger
	ConstraintCoordinatorImmutable      = "proxy_activities_coordinator_id_immutable" // BEFORE UPDATE trigger
	ConstraintProxyAuditLogImmutable    = "proxy_audit_log_immutable"                 // BEFORE UPDATE/DELETE/TRUNCATE trigger
	ConstraintProxyTemplateFkey         = "proxy_activities_template_id_fkey"
	ConstraintProxyCoordinatorFkey      = "proxy_activities_coordinator_id_fkey"
	ConstraintProxyAttributedMentorFkey = "proxy_activities_attributed_mentor_id_fkey"
	ConstraintProxyOrgFkey              = "proxy_activities_org_id_fkey"
	ConstraintProxyAuditActionCheck     = "proxy_audit_log_action_check"
	ConstraintTemplateOrgFkey           = "recurring_activity_templates_org_id_fkey"
	ConstraintTemplateCreatedByFkey     = "recurring_activity_templates_created_by_fkey"
	ConstraintTemplateActivityTypeCheck = "recurring_activity_templates_activity_type_check"
	ConstraintTemplateTitleCheck        = "recurring_activity_templates_title_check"
	ConstraintTemplateDurationCheck     = "recurring_activity_templates_default_duration_minutes_check"
	ConstraintTemplateRecurrenceCheck   = "recurring_activity_templates_recurrence_rule_check"
	ConstraintTemplateIDOrgKey          = "recurring_activity_templates_id_org_id_key"
)

// Policy names, reported in the Constraint of the ErrNotPermitted errors the
// repository's own pre-checks return (PostgreSQL's RLS errors carry none).
const (
	PolicyProxyInsertOwn = "proxy_activities_insert_own"
	PolicyProxyUpdateOwn = "proxy_activities_update_own"
	PolicyProxyDeleteOwn = "proxy_activities_delete_own"
)

func init() {
	registerConstraint(ErrSelfAttribution, ConstraintNoSelfAttribution)
	registerConstraint(ErrNonPositiveDuration, ConstraintDurationPositive)
	registerConstraint(ErrMentorNotInOrg, ConstraintMentorInOrg)
	registerConstraint(ErrTemplateOtherOrg, ConstraintTemplateSameOrg)
	registerConstraint(ErrOrgChange, ConstraintOrgImmutable)
	registerConstraint(ErrCoordinatorChange, ConstraintCoordinatorImmutable)
	registerConstraint(ErrImmutable, ConstraintProxyAuditLogImmutable)
}

// ProxyActivity is one activity registered by a coordinator on a peer
// mentor's behalf.
type ProxyActivity struct {
	ID uuid.UUID
	// CoordinatorID is who registered it (accountability, access control).
	CoordinatorID uuid.UUID
	// AttributedMentorID is who it is credited to (Bufdir reporting).
	AttributedMentorID uuid.UUID
	OrgID              uuid.UUID
	ActivityType       string
	// Date is a calendar date at UTC midnight.
	Date            time.Time
	DurationMinutes int
	// Notes is "" for none.
	Notes       string
	IsRecurring bool
	// TemplateID is uuid.Nil for none (and after the template was deleted).
	TemplateID uuid.UUID
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// NewProxyActivity is what Create takes.
type NewProxyActivity struct {
	// CoordinatorID: leave uuid.Nil to register as the caller (claims.Sub),
	// which is the only value RLS accepts from a signed-in user. service_role
	// must set it.
	CoordinatorID      uuid.UUID
	AttributedMentorID uuid.UUID
	OrgID              uuid.UUID
	ActivityType       string
	// Date: only its year, month and day are used.
	Date            time.Time
	DurationMinutes int
	Notes           string
	IsRecurring     bool
	TemplateID      uuid.UUID
}

// ProxyActivityChange is what Update takes: the editable fields, all of
// them (a replacement, not a patch). The org and the coordinator never
// change.
type ProxyActivityChange struct {
	AttributedMentorID uuid.UUID
	ActivityType       string
	Date               time.Time
	DurationMinutes    int
	Notes              string
	IsRecurring        bool
	TemplateID         uuid.UUID
}

// Period is the half-open date range [From, To); only dates are used.
type Period struct {
	From, To time.Time
}

// ProxyActivityCursor is a keyset position: the (Date, ID) of the last row
// of a page. Lists are ordered by (Date DESC, ID DESC).
type ProxyActivityCursor struct {
	Date time.Time
	ID   uuid.UUID
}

// ProxyActivityPage is one page of a list; Next is nil on the last page.
type ProxyActivityPage struct {
	Items []ProxyActivity
	Next  *ProxyActivityCursor
}

// BufdirMentorTotal is one attributed mentor's line of the Bufdir report.
type BufdirMentorTotal struct {
	AttributedMentorID uuid.UUID
	ActivityCount      int64
	TotalMinutes       int64
	// ByType is the breakdown per activity_type, ordered by type; empty from
	// BufdirTotals.
	ByType []BufdirTypeTotal
}

// BufdirTypeTotal is one activity type of a mentor's report line.
type BufdirTypeTotal struct {
	ActivityType  string
	ActivityCount int64
	TotalMinutes  int64
}

// ProxyAuditEntry is one row of proxy_audit_log.
type ProxyAuditEntry struct {
	ID         int64
	ActivityID uuid.UUID
	OrgID      uuid.UUID
	// Actor is auth.uid() of the writing request; uuid.Nil for service_role
	// and direct database sessions.
	Actor uuid.UUID
	// ActorRole is the request's role claim; "" outside an API request.
	ActorRole string
	// Action is INSERT, UPDATE or DELETE.
	Action string
	// OldRow and NewRow are the row before and after, as JSON (nil where
	// there is none).
	OldRow json.RawMessage
	NewRow json.RawMessage
	At     time.Time
}

// ProxyActivityRepository reads and writes proxy activities. Every method
// runs as the caller described by claims in one PostgREST-equivalent
// transaction (As or AsReadOnly), so RLS, the constraints and the triggers
// decide; the repository's pre-checks only turn the likely failures into
// specific typed errors before the table is touched.
type ProxyActivityRepository struct {
	db *DB
	q  *gen.Queries
}

// NewProxyActivityRepository returns the proxy-activity repository of d.
func NewProxyActivityRepository(d *DB) *ProxyActivityRepository {
	return &ProxyActivityRepository{db: d, q: gen.New()}
}

// ProxyActivities returns the proxy-activity repository of d.
func (d *DB) ProxyActivities() *ProxyActivityRepository { return NewProxyActivityRepository(d) }

// maxUUID starts a keyset list: every id sorts below it.
var maxUUID = uuid.UUID{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// Create registers one activity. Before inserting it checks, in the same
// transaction, that the coordinator is not the mentor (ErrSelfAttribution)
// and that the mentor is a peer_mentor of the org (ErrMentorNotInOrg); the
// database enforces both again. Other errors: ErrNotPermitted (not a
// coordinator of the org, or registering as someone else), ErrTemplateOtherOrg,
// ErrForeignKey (unknown template or user), ErrNonPositiveDuration,
// ErrInvalidInput.
func (r *ProxyActivityRepository) Create(ctx context.Context, claims Claims, in NewProxyActivity) (ProxyActivity, error) {
	var out ProxyActivity
	coordinator := in.CoordinatorID
	if coordinator == uuid.Nil {
		coordinator = claims.Sub
	}
	minutes, err := proxyMinutes(in.DurationMinutes)
	if err != nil {
		return out, err
	}
	if coordinator == in.AttributedMentorID {
		return out, proxySelfAttributionError(coordinator)
	}
	err = r.db.As(ctx, claims, func(tx pgx.Tx) error {
		if err := r.precheckMentors(ctx, tx, claims, in.OrgID, []uuid.UUID{in.AttributedMentorID}, PolicyProxyInsertOwn); err != nil {
			return err
		}
		row, err := r.q.CreateProxyActivity(ctx, tx, gen.CreateProxyActivityParams{
			CoordinatorID:      coordinator,
			AttributedMentorID: in.AttributedMentorID,
			OrgID:              in.OrgID,
			ActivityType:       in.ActivityType,
			Date:               proxyDate(in.Date),
			DurationMinutes:    minutes,
			Notes:              optString(in.Notes),
			IsRecurring:        in.IsRecurring,
			TemplateID:         optUUID(in.TemplateID),
		})
		out = proxyActivityFromGen(row)
		return err
	})
	return out, err
}

// CreateMany registers many activities of one org in one set-based INSERT
// (bulk import). Every row goes through RLS, the constraints, the
// attribution trigger and the audit trigger, exactly like Create, and the
// same pre-checks run for all mentors at once. Each item's OrgID and
// CoordinatorID are ignored: orgID and the caller (or coordinatorID for
// service_role; uuid.Nil means the caller) apply to all. All or nothing.
func (r *ProxyActivityRepository) CreateMany(ctx context.Context, claims Claims, orgID, coordinatorID uuid.UUID, items []NewProxyActivity) ([]ProxyActivity, error) {
	if len(items) == 0 {
		return nil, nil
	}
	if coordinatorID == uuid.Nil {
		coordinatorID = claims.Sub
	}
	type jsonRow struct {
		AttributedMentorID uuid.UUID  `json:"attributed_mentor_id"`
		ActivityType       string     `json:"activity_type"`
		Date               string     `json:"date"`
		DurationMinutes    int32      `json:"duration_minutes"`
		Notes              *string    `json:"notes"`
		IsRecurring        bool       `json:"is_recurring"`
		TemplateID         *uuid.UUID `json:"template_id"`
	}
	rows := make([]jsonRow, len(items))
	mentors := make([]uuid.UUID, 0, len(items))
	for i, in := range items {
		minutes, err := proxyMinutes(in.DurationMinutes)
		if err != nil {
			return nil, err
		}
		if in.AttributedMentorID == coordinatorID {
			return nil, proxySelfAttributionError(coordinatorID)
		}
		rows[i] = jsonRow{
			AttributedMentorID: in.AttributedMentorID,
			ActivityType:       in.ActivityType,
			Date:               proxyDate(in.Date).Format(time.DateOnly),
			DurationMinutes:    minutes,
			Notes:              optString(in.Notes),
			IsRecurring:        in.IsRecurring,
			TemplateID:         optUUID(in.TemplateID),
		}
		mentors = append(mentors, in.AttributedMentorID)
	}
	raw, err := json.Marshal(rows)
	if err != nil {
		return nil, fmt.Errorf("db: encode proxy activities: %w", err)
	}
	var out []ProxyActivity
	err = r.db.As(ctx, claims, func(tx pgx.Tx) error {
		if err := r.precheckMentors(ctx, tx, claims, orgID, mentors, PolicyProxyInsertOwn); err != nil {
			return err
		}
		created, err := r.q.CreateProxyActivities(ctx, tx, gen.CreateProxyActivitiesParams{
			CoordinatorID: coordinatorID,
			OrgID:         orgID,
			Rows:          raw,
		})
		out = proxyActivitiesFromGen(created)
		return err
	})
	return out, err
}

// Import copies activities with COPY FROM: the fastest path, for
// service_role only (PostgreSQL refuses COPY FROM into a table with RLS to
// any role that does not bypass it; other callers get ErrNotPermitted and
// should use CreateMany). Triggers fire: integrity checks and audit apply.
// Every item must set CoordinatorID and OrgID. It returns the rows copied.
func (r *ProxyActivityRepository) Import(ctx context.Context, claims Claims, items []NewProxyActivity) (int64, error) {
	if claims.Role != RoleServiceRole {
		return 0, &Error{Kind: ErrNotPermitted, Class: ErrNotPermitted, Constraint: PolicyProxyInsertOwn, Code: "42501",
			Message: "COPY into proxy_activities is for service_role; use CreateMany"}
	}
	params := make([]gen.CopyProxyActivitiesParams, len(items))
	for i, in := range items {
		minutes, err := proxyMinutes(in.DurationMinutes)
		if err != nil {
			return 0, err
		}
		if in.CoordinatorID == in.AttributedMentorID {
			return 0, proxySelfAttributionError(in.CoordinatorID)
		}
		params[i] = gen.CopyProxyActivitiesParams{
			CoordinatorID:      in.CoordinatorID,
			AttributedMentorID: in.AttributedMentorID,
			OrgID:              in.OrgID,
			ActivityType:       in.ActivityType,
			Date:               proxyDate(in.Date),
			DurationMinutes:    minutes,
			Notes:              optString(in.Notes),
			IsRecurring:        in.IsRecurring,
			TemplateID:         optUUID(in.TemplateID),
		}
	}
	var n int64
	err := r.db.As(ctx, claims, func(tx pgx.Tx) error {
		var err error
		n, err = r.q.CopyProxyActivities(ctx, tx, params)
		return err
	})
	return n, err
}

// Update replaces the editable fields of activity id. Only its coordinator
// may update it (ErrNotPermitted for another coordinator of the org,
// ErrNotFound when the caller cannot see it). A changed mentor is pre-checked
// like Create; an unchanged one is not, so a mentor who has since left the
// org keeps their history editable.
func (r *ProxyActivityRepository) Update(ctx context.Context, claims Claims, id uuid.UUID, ch ProxyActivityChange) (ProxyActivity, error) {
	var out ProxyActivity
	minutes, err := proxyMinutes(ch.DurationMinutes)
	if err != nil {
		return out, err
	}
	err = r.db.As(ctx, claims, func(tx pgx.Tx) error {
		cur, err := r.q.GetProxyActivity(ctx, tx, id)
		if err != nil {
			return err
		}
		if claims.Role == RoleAuthenticated && cur.CoordinatorID != claims.Sub {
			return proxyNotPermitted(PolicyProxyUpdateOwn, "only the coordinator who registered an activity may update it")
		}
		if cur.CoordinatorID == ch.AttributedMentorID {
			return proxySelfAttributionError(cur.CoordinatorID)
		}
		if ch.AttributedMentorID != cur.AttributedMentorID {
			if err := r.precheckMentors(ctx, tx, claims, cur.OrgID, []uuid.UUID{ch.AttributedMentorID}, PolicyProxyUpdateOwn); err != nil {
				return err
			}
		}
		row, err := r.q.UpdateProxyActivity(ctx, tx, gen.UpdateProxyActivityParams{
			ID:                 id,
			AttributedMentorID: ch.AttributedMentorID,
			ActivityType:       ch.ActivityType,
			Date:               proxyDate(ch.Date),
			DurationMinutes:    minutes,
			Notes:              optString(ch.Notes),
			IsRecurring:        ch.IsRecurring,
			TemplateID:         optUUID(ch.TemplateID),
		})
		if errors.Is(err, pgx.ErrNoRows) {
			// Visible a moment ago but not updatable: the policy refused.
			return proxyNotPermitted(PolicyProxyUpdateOwn, "activity is not updatable by the caller")
		}
		out = proxyActivityFromGen(row)
		return err
	})
	return out, err
}

// Delete deletes activity id. Only its coordinator may delete it
// (ErrNotPermitted for another coordinator of the org, ErrNotFound when the
// caller cannot see it or it does not exist).
func (r *ProxyActivityRepository) Delete(ctx context.Context, claims Claims, id uuid.UUID) error {
	return r.db.As(ctx, claims, func(tx pgx.Tx) error {
		n, err := r.q.DeleteProxyActivity(ctx, tx, id)
		if err != nil || n > 0 {
			return err
		}
		if _, err := r.q.GetProxyActivity(ctx, tx, id); err != nil {
			return err // ErrNotFound once interpreted
		}
		return proxyNotPermitted(PolicyProxyDeleteOwn, "only the coordinator who registered an activity may delete it")
	})
}

// Get returns activity id; ErrNotFound when it does not exist or RLS hides it.
func (r *ProxyActivityRepository) Get(ctx context.Context, claims Claims, id uuid.UUID) (ProxyActivity, error) {
	var out ProxyActivity
	err := r.db.AsReadOnly(ctx, claims, func(tx pgx.Tx) error {
		row, err := r.q.GetProxyActivity(ctx, tx, id)
		out = proxyActivityFromGen(row)
		return err
	})
	return out, err
}

// ListForOrg pages orgID's activities dated in period, newest first. Pass
// nil for the first page and the previous page's Next after that. limit is
// clamped to [1, 1000].
func (r *ProxyActivityRepository) ListForOrg(ctx context.Context, claims Claims, orgID uuid.UUID, period Period, after *ProxyActivityCursor, limit int) (ProxyActivityPage, error) {
	limit = proxyLimit(limit)
	before := proxyStart(period, after)
	var page ProxyActivityPage
	err := r.db.AsReadOnly(ctx, claims, func(tx pgx.Tx) error {
		rows, err := r.q.ListProxyActivitiesForOrg(ctx, perCallPlan{tx}, gen.ListProxyActivitiesForOrgParams{
			OrgID:      orgID,
			FromDate:   proxyDate(period.From),
			ToDate:     proxyDate(period.To),
			BeforeDate: before.Date,
			BeforeID:   before.ID,
			LimitRows:  int32(limit + 1),
		})
		page = proxyPage(rows, limit)
		return err
	})
	return page, err
}

// ListByMentor pages the activities attributed to mentorID in orgID dated
// in period, newest first, like ListForOrg.
func (r *ProxyActivityRepository) ListByMentor(ctx context.Context, claims Claims, orgID, mentorID uuid.UUID, period Period, after *ProxyActivityCursor, limit int) (ProxyActivityPage, error) {
	limit = proxyLimit(limit)
	before := proxyStart(period, after)
	var page ProxyActivityPage
	err := r.db.AsReadOnly(ctx, claims, func(tx pgx.Tx) error {
		rows, err := r.q.ListProxyActivitiesByMentor(ctx, perCallPlan{tx}, gen.ListProxyActivitiesByMentorParams{
			OrgID:              orgID,
			AttributedMentorID: mentorID,
			FromDate:           proxyDate(period.From),
			ToDate:             proxyDate(period.To),
			BeforeDate:         before.Date,
			BeforeID:           before.ID,
			LimitRows:          int32(limit + 1),
		})
		page = proxyPage(rows, limit)
		return err
	})
	return page, err
}

// BufdirReport returns, for orgID and period, one line per attributed
// mentor with the activity count, the total minutes and the breakdown per
// activity type, ordered by mentor id. It is computed from one statement,
// so totals and breakdown agree.
func (r *ProxyActivityRepository) BufdirReport(ctx context.Context, claims Claims, orgID uuid.UUID, period Period) ([]BufdirMentorTotal, error) {
	var out []BufdirMentorTotal
	err := r.db.AsReadOnly(ctx, claims, func(tx pgx.Tx) error {
		rows, err := r.q.BufdirReportByType(ctx, perCallPlan{tx}, gen.BufdirReportByTypeParams{
			OrgID:    orgID,
			FromDate: proxyDate(period.From),
			ToDate:   proxyDate(period.To),
		})
		if err != nil {
			return err
		}
		out = bufdirFromTypeRows(rows)
		return nil
	})
	return out, err
}

// BufdirTotals is BufdirReport without the per-type breakdown.
func (r *ProxyActivityRepository) BufdirTotals(ctx context.Context, claims Claims, orgID uuid.UUID, period Period) ([]BufdirMentorTotal, error) {
	var out []BufdirMentorTotal
	err := r.db.AsReadOnly(ctx, claims, func(tx pgx.Tx) error {
		rows, err := r.q.BufdirReport(ctx, perCallPlan{tx}, gen.BufdirReportParams{
			OrgID:    orgID,
			FromDate: proxyDate(period.From),
			ToDate:   proxyDate(period.To),
		})
		out = make([]BufdirMentorTotal, len(rows))
		for i, row := range rows {
			out[i] = BufdirMentorTotal{AttributedMentorID: row.AttributedMentorID, ActivityCount: row.ActivityCount, TotalMinutes: row.TotalMinutes}
		}
		return err
	})
	return out, err
}

// AuditLog returns the audit rows of activityID the caller may see (the
// org's coordinators see them all, also after the activity was deleted).
func (r *ProxyActivityRepository) AuditLog(ctx context.Context, claims Claims, activityID uuid.UUID) ([]ProxyAuditEntry, error) {
	var out []ProxyAuditEntry
	err := r.db.AsReadOnly(ctx, claims, func(tx pgx.Tx) error {
		rows, err := r.q.ListProxyAuditLog(ctx, tx, activityID)
		out = make([]ProxyAuditEntry, len(rows))
		for i, row := range rows {
			out[i] = ProxyAuditEntry{
				ID:         row.ID,
				ActivityID: row.ActivityID,
				OrgID:      row.OrgID,
				Actor:      derefUUID(row.Actor),
				ActorRole:  derefString(row.ActorRole),
				Action:     row.Action,
				OldRow:     rawJSON(row.OldRow),
				NewRow:     rawJSON(row.NewRow),
				At:         row.At,
			}
		}
		return err
	})
	return out, err
}

// precheckMentors is PA-ORG-1's repository side: every mentor must hold
// peer_mentor in orgID. Through RLS the roster of an org is visible to its
// coordinators and org admins (and to service_role), so a caller who is
// not a coordinator of orgID gets ErrNotPermitted, as the insert itself
// would, and learns nothing about the roster.
func (r *ProxyActivityRepository) precheckMentors(ctx context.Context, tx pgx.Tx, claims Claims, orgID uuid.UUID, mentors []uuid.UUID, policy string) error {
	var missing []uuid.UUID
	if len(mentors) == 1 {
		ok, err := r.q.IsPeerMentorOfOrg(ctx, tx, gen.IsPeerMentorOfOrgParams{OrgID: orgID, UserID: mentors[0]})
		if err != nil {
			return err
		}
		if !ok {
			missing = mentors
		}
	} else {
		var err error
		missing, err = r.q.MentorsNotInOrg(ctx, tx, gen.MentorsNotInOrgParams{OrgID: orgID, UserIds: mentors})
		if err != nil {
			return err
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if claims.Role != RoleServiceRole {
		coordinator, err := r.q.IsCoordinatorOfOrg(ctx, tx, orgID)
		if err != nil {
			return err
		}
		if !coordinator {
			return proxyNotPermitted(policy, "caller is not a coordinator of the organization")
		}
	}
	ids := make([]string, len(missing))
	for i, m := range missing {
		ids[i] = m.String()
	}
	return &Error{
		Kind:       ErrMentorNotInOrg,
		Class:      ErrCheck,
		Constraint: ConstraintMentorInOrg,
		Code:       "23514",
		Message:    fmt.Sprintf("attributed mentor %s is not a peer_mentor of organization %s", strings.Join(ids, ", "), orgID),
	}
}

func proxySelfAttributionError(id uuid.UUID) error {
	return &Error{
		Kind:       ErrSelfAttribution,
		Class:      ErrCheck,
		Constraint: ConstraintNoSelfAttribution,
		Code:       "23514",
		Message:    fmt.Sprintf("coordinator %s cannot be the attributed mentor", id),
	}
}

func proxyNotPermitted(policy, msg string) error {
	return &Error{Kind: ErrNotPermitted, Class: ErrNotPermitted, Constraint: policy, Code: "42501", Message: msg}
}

func proxyLimit(limit int) int {
	switch {
	case limit < 1:
		return 1
	case limit > 1000:
		return 1000
	}
	return limit
}

// proxyStart is the keyset position a page starts below: the cursor, or
// (period end, max uuid) for the first page.
func proxyStart(period Period, after *ProxyActivityCursor) ProxyActivityCursor {
	if after != nil {
		return ProxyActivityCursor{Date: proxyDate(after.Date), ID: after.ID}
	}
	return ProxyActivityCursor{Date: proxyDate(period.To), ID: maxUUID}
}

// proxyPage turns limit+1 fetched rows into a page and its Next cursor.
func proxyPage(rows []gen.ProxyActivity, limit int) ProxyActivityPage {
	page := ProxyActivityPage{}
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[len(rows)-1]
		page.Next = &ProxyActivityCursor{Date: last.Date, ID: last.ID}
	}
	page.Items = proxyActivitiesFromGen(rows)
	return page
}
