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
	"github.com/jackc/pgx/v5/pgconn"

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
	// ErrNonPositiveDuration: duration_minutes <= 0, or a template's
	// default_duration_minutes <= 0 (it becomes an activity's duration).
	ErrNonPositiveDuration = errors.New("db: duration must be positive")
	// ErrOrgChange: an update tried to move an activity to another org.
	ErrOrgChange = errors.New("db: an activity cannot move to another organization")
	// ErrCoordinatorChange: an update tried to hand an activity to another
	// coordinator.
	ErrCoordinatorChange = errors.New("db: an activity cannot change its coordinator")
	// ErrIDConflict: a Create with a caller-generated ID found that ID
	// taken by an activity that is not the one asked for (another payload,
	// or a row the caller cannot see). Its Class is ErrUnique, its
	// Constraint the primary key: a retry of the same Create never gets it,
	// a reuse of the ID for something else always does.
	ErrIDConflict = errors.New("db: the activity id is taken by another activity")
)

// Shorter names of the proxy-activity tables' constraints, kept for callers
// that use them. Each is the generated constant of constraints_gen.go (which
// is written from the catalog), so a renamed constraint fails to compile here.
const (
	ConstraintNoSelfAttribution         = ConstraintProxyActivitiesNoSelfAttributionCheck
	ConstraintDurationPositive          = ConstraintProxyActivitiesDurationMinutesCheck
	ConstraintMentorInOrg               = ConstraintProxyActivitiesMentorInOrgCheck       // constraint trigger
	ConstraintTemplateSameOrg           = ConstraintProxyActivitiesTemplateSameOrgFkey    // FK (template_id, org_id)
	ConstraintOrgImmutable              = ConstraintProxyActivitiesOrgIDImmutable         // BEFORE UPDATE trigger
	ConstraintCoordinatorImmutable      = ConstraintProxyActivitiesCoordinatorIDImmutable // BEFORE UPDATE trigger
	ConstraintProxyTemplateFkey         = ConstraintProxyActivitiesTemplateIDFkey
	ConstraintProxyCoordinatorFkey      = ConstraintProxyActivitiesCoordinatorIDFkey
	ConstraintProxyAttributedMentorFkey = ConstraintProxyActivitiesAttributedMentorIDFkey
	ConstraintProxyOrgFkey              = ConstraintProxyActivitiesOrgIDFkey
	ConstraintProxyAuditActionCheck     = ConstraintProxyAuditLogActionCheck
	ConstraintTemplateOrgFkey           = ConstraintRecurringActivityTemplatesOrgIDFkey
	ConstraintTemplateCreatedByFkey     = ConstraintRecurringActivityTemplatesCreatedByFkey
	ConstraintTemplateActivityTypeCheck = ConstraintRecurringActivityTemplatesActivityTypeCheck
	ConstraintTemplateTitleCheck        = ConstraintRecurringActivityTemplatesTitleCheck
	ConstraintTemplateDurationCheck     = ConstraintRecurringActivityTemplatesDefaultDurationMinutesCheck
	ConstraintTemplateRecurrenceCheck   = ConstraintRecurringActivityTemplatesRecurrenceRuleCheck
	ConstraintTemplateIDOrgKey          = ConstraintRecurringActivityTemplatesIDOrgIDKey
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
	registerConstraint(ErrNonPositiveDuration, ConstraintDurationPositive, ConstraintTemplateDurationCheck)
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
	// ID is the activity's id, generated by the caller (uuid.New()) so
	// that a Create can be retried safely after ErrOutcomeUnknown: a retry
	// with the same ID and the same fields returns the row the first try
	// made (no second row, no second audit row); the same ID with other
	// fields is ErrIDConflict. uuid.Nil lets the database pick one. Only
	// Create uses it: CreateMany and Import refuse an item that sets it
	// (ErrInvalidInput).
	ID uuid.UUID
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

// Activities is the proxy-activity repository bound to a request
// (Request.Activities): every method acts as the request's caller in its
// transaction, so RLS, the constraints and the triggers decide; the
// repository's pre-checks only turn the likely failures into specific typed
// errors before the table is touched. Errors come back interpreted.
type Activities struct{ r *Request }

// Activities returns the proxy-activity repository bound to r.
func (r *Request) Activities() Activities { return Activities{r: r} }

// maxUUID starts a keyset list: every id sorts below it.
var maxUUID = uuid.UUID{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// Create registers one activity. Before inserting it checks that the
// coordinator is not the mentor (ErrSelfAttribution) and that the mentor is
// a peer_mentor of the org (ErrMentorNotInOrg); the database enforces both
// again. Other errors: ErrNotPermitted (not a coordinator of the org, or
// registering as someone else), ErrTemplateOtherOrg, ErrForeignKey (unknown
// template or user), ErrNonPositiveDuration, ErrInvalidInput, and the input
// bounds (ErrTooLong, ErrBlankActivityType, ErrDateOutOfRange,
// ErrDurationTooLong; pre-checked here, enforced by the database),
// ErrCoordinatorNotInOrg (service_role naming a coordinator of another org),
// and ErrIDConflict (in.ID taken by another activity, see NewProxyActivity.ID).
// With in.ID set it is idempotent: the statement inserts unless the id
// exists and otherwise returns the existing row, still one statement.
func (a Activities) Create(ctx context.Context, in NewProxyActivity) (ProxyActivity, error) {
	coordinator := in.CoordinatorID
	if coordinator == uuid.Nil {
		coordinator = a.r.claims.Sub
	}
	minutes, err := proxyMinutes(in.DurationMinutes)
	if err != nil {
		return ProxyActivity{}, err
	}
	if err := checkActivityInput(in.ActivityType, in.Date, in.DurationMinutes, in.Notes, time.Now()); err != nil {
		return ProxyActivity{}, err
	}
	if coordinator == in.AttributedMentorID {
		return ProxyActivity{}, proxySelfAttributionError(coordinator)
	}
	if err := a.precheckMentors(ctx, in.OrgID, []uuid.UUID{in.AttributedMentorID}, PolicyProxyInsertOwn); err != nil {
		return ProxyActivity{}, err
	}
	row, err := queries.CreateProxyActivity(ctx, a.r.tx, gen.CreateProxyActivityParams{
		ID:                 optUUID(in.ID),
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
	if errors.Is(err, pgx.ErrNoRows) && in.ID != uuid.Nil {
		// The id exists, in a row RLS hides from the caller (or one
		// committed concurrently after the statement's snapshot).
		return ProxyActivity{}, proxyIDConflict(in.ID, "is taken by an activity the caller cannot see")
	}
	if err != nil {
		return ProxyActivity{}, precheckError(err, PolicyProxyInsertOwn, in.OrgID)
	}
	if !row.SamePayload {
		return ProxyActivity{}, proxyIDConflict(in.ID, "is taken by an activity with other fields")
	}
	return proxyActivityFromCreateRow(row), nil
}

func proxyIDConflict(id uuid.UUID, why string) error {
	return &Error{Kind: ErrIDConflict, Class: ErrUnique, Constraint: ConstraintProxyActivitiesPkey, Code: "23505",
		Message: fmt.Sprintf("activity id %s %s", id, why)}
}

// callerIDRefused is CreateMany's and Import's answer to an item with an ID:
// only Create takes one.
func callerIDRefused(id uuid.UUID) error {
	return &Error{Kind: ErrInvalidInput, Class: ErrInvalidInput,
		Message: fmt.Sprintf("item with id %s: only Create takes a caller-generated id", id)}
}

// CreateMany registers many activities of one org in one set-based INSERT
// (bulk import). Every row goes through RLS, the constraints, the
// attribution trigger and the audit trigger, exactly like Create, and the
// same pre-checks run for all mentors at once. Each item's OrgID and
// CoordinatorID are ignored: orgID and the caller (or coordinatorID for
// service_role; uuid.Nil means the caller) apply to all. All or nothing.
func (a Activities) CreateMany(ctx context.Context, orgID, coordinatorID uuid.UUID, items []NewProxyActivity) ([]ProxyActivity, error) {
	if len(items) == 0 {
		return nil, nil
	}
	if coordinatorID == uuid.Nil {
		coordinatorID = a.r.claims.Sub
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
		if in.ID != uuid.Nil {
			return nil, callerIDRefused(in.ID)
		}
		minutes, err := proxyMinutes(in.DurationMinutes)
		if err != nil {
			return nil, err
		}
		if err := checkActivityInput(in.ActivityType, in.Date, in.DurationMinutes, in.Notes, time.Now()); err != nil {
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
	if err := a.precheckMentors(ctx, orgID, mentors, PolicyProxyInsertOwn); err != nil {
		return nil, err
	}
	created, err := queries.CreateProxyActivities(ctx, a.r.tx, gen.CreateProxyActivitiesParams{
		CoordinatorID: coordinatorID,
		OrgID:         orgID,
		Rows:          raw,
	})
	if err != nil {
		return nil, precheckError(err, PolicyProxyInsertOwn, orgID)
	}
	return proxyActivitiesFromGen(created), nil
}

// Import copies activities with COPY FROM: the fastest path, for
// service_role only (PostgreSQL refuses COPY FROM into a table with RLS to
// any role that does not bypass it; other callers get ErrNotPermitted and
// should use CreateMany). Triggers fire: integrity checks and audit apply.
// Every item must set CoordinatorID and OrgID. It returns the rows copied.
func (a Activities) Import(ctx context.Context, items []NewProxyActivity) (int64, error) {
	if a.r.claims.Role != RoleServiceRole {
		return 0, &Error{Kind: ErrNotPermitted, Class: ErrNotPermitted, Constraint: PolicyProxyInsertOwn, Code: "42501",
			Message: "COPY into proxy_activities is for service_role; use CreateMany"}
	}
	params := make([]gen.CopyProxyActivitiesParams, len(items))
	for i, in := range items {
		if in.ID != uuid.Nil {
			return 0, callerIDRefused(in.ID)
		}
		minutes, err := proxyMinutes(in.DurationMinutes)
		if err != nil {
			return 0, err
		}
		if err := checkActivityInput(in.ActivityType, in.Date, in.DurationMinutes, in.Notes, time.Now()); err != nil {
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
	n, err := queries.CopyProxyActivities(ctx, a.r.tx, params)
	return n, interpretError(err)
}

// Update replaces the editable fields of activity id. Only its coordinator
// may update it (ErrNotPermitted for another coordinator of the org,
// ErrNotFound when the caller cannot see it). A changed mentor is pre-checked
// like Create; an unchanged one is not, so a mentor who has since left the
// org keeps their history editable.
func (a Activities) Update(ctx context.Context, id uuid.UUID, ch ProxyActivityChange) (ProxyActivity, error) {
	minutes, err := proxyMinutes(ch.DurationMinutes)
	if err != nil {
		return ProxyActivity{}, err
	}
	if err := checkActivityInput(ch.ActivityType, ch.Date, ch.DurationMinutes, ch.Notes, time.Now()); err != nil {
		return ProxyActivity{}, err
	}
	cur, err := queries.GetProxyActivity(ctx, a.r.tx, id)
	if err != nil {
		return ProxyActivity{}, interpretError(err)
	}
	claims := a.r.claims
	if claims.Role == RoleAuthenticated && cur.CoordinatorID != claims.Sub {
		return ProxyActivity{}, proxyNotPermitted(PolicyProxyUpdateOwn, "only the coordinator who registered an activity may update it")
	}
	if cur.CoordinatorID == ch.AttributedMentorID {
		return ProxyActivity{}, proxySelfAttributionError(cur.CoordinatorID)
	}
	if ch.AttributedMentorID != cur.AttributedMentorID {
		if err := a.precheckMentors(ctx, cur.OrgID, []uuid.UUID{ch.AttributedMentorID}, PolicyProxyUpdateOwn); err != nil {
			return ProxyActivity{}, err
		}
	}
	row, err := queries.UpdateProxyActivity(ctx, a.r.tx, gen.UpdateProxyActivityParams{
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
		return ProxyActivity{}, proxyNotPermitted(PolicyProxyUpdateOwn, "activity is not updatable by the caller")
	}
	if err != nil {
		return ProxyActivity{}, precheckError(err, PolicyProxyUpdateOwn, cur.OrgID)
	}
	return proxyActivityFromGen(row), nil
}

// Delete deletes activity id. Only its coordinator may delete it
// (ErrNotPermitted for another coordinator of the org, ErrNotFound when the
// caller cannot see it or it does not exist).
func (a Activities) Delete(ctx context.Context, id uuid.UUID) error {
	n, err := queries.DeleteProxyActivity(ctx, a.r.tx, id)
	if err != nil || n > 0 {
		return interpretError(err)
	}
	if _, err := queries.GetProxyActivity(ctx, a.r.tx, id); err != nil {
		return interpretError(err) // ErrNotFound
	}
	return proxyNotPermitted(PolicyProxyDeleteOwn, "only the coordinator who registered an activity may delete it")
}

// Get returns activity id; ErrNotFound when it does not exist or RLS hides it.
func (a Activities) Get(ctx context.Context, id uuid.UUID) (ProxyActivity, error) {
	row, err := queries.GetProxyActivity(ctx, a.r.tx, id)
	if err != nil {
		return ProxyActivity{}, interpretError(err)
	}
	return proxyActivityFromGen(row), nil
}

// ListForOrg pages orgID's activities dated in period, newest first. Pass
// nil for the first page and the previous page's Next after that. limit is
// clamped to [1, 1000].
func (a Activities) ListForOrg(ctx context.Context, orgID uuid.UUID, period Period, after *ProxyActivityCursor, limit int) (ProxyActivityPage, error) {
	limit = proxyLimit(limit)
	before := proxyStart(period, after)
	rows, err := queries.ListProxyActivitiesForOrg(ctx, perCallPlan{a.r.tx}, gen.ListProxyActivitiesForOrgParams{
		OrgID:      orgID,
		FromDate:   proxyDate(period.From),
		ToDate:     proxyDate(period.To),
		BeforeDate: before.Date,
		BeforeID:   before.ID,
		LimitRows:  int32(limit + 1),
	})
	if err != nil {
		return ProxyActivityPage{}, interpretError(err)
	}
	return proxyPage(rows, limit), nil
}

// ListByMentor pages the activities attributed to mentorID in orgID dated
// in period, newest first, like ListForOrg.
func (a Activities) ListByMentor(ctx context.Context, orgID, mentorID uuid.UUID, period Period, after *ProxyActivityCursor, limit int) (ProxyActivityPage, error) {
	limit = proxyLimit(limit)
	before := proxyStart(period, after)
	rows, err := queries.ListProxyActivitiesByMentor(ctx, perCallPlan{a.r.tx}, gen.ListProxyActivitiesByMentorParams{
		OrgID:              orgID,
		AttributedMentorID: mentorID,
		FromDate:           proxyDate(period.From),
		ToDate:             proxyDate(period.To),
		BeforeDate:         before.Date,
		BeforeID:           before.ID,
		LimitRows:          int32(limit + 1),
	})
	if err != nil {
		return ProxyActivityPage{}, interpretError(err)
	}
	return proxyPage(rows, limit), nil
}

// BufdirReport returns, for orgID and period, one line per attributed
// mentor with the activity count, the total minutes and the breakdown per
// activity type, ordered by mentor id. It is computed from one statement,
// so totals and breakdown agree.
func (a Activities) BufdirReport(ctx context.Context, orgID uuid.UUID, period Period) ([]BufdirMentorTotal, error) {
	rows, err := queries.BufdirReportByType(ctx, perCallPlan{a.r.tx}, gen.BufdirReportByTypeParams{
		OrgID:    orgID,
		FromDate: proxyDate(period.From),
		ToDate:   proxyDate(period.To),
	})
	if err != nil {
		return nil, interpretError(err)
	}
	return bufdirFromTypeRows(rows), nil
}

// BufdirTotals is BufdirReport without the per-type breakdown.
func (a Activities) BufdirTotals(ctx context.Context, orgID uuid.UUID, period Period) ([]BufdirMentorTotal, error) {
	rows, err := queries.BufdirReport(ctx, perCallPlan{a.r.tx}, gen.BufdirReportParams{
		OrgID:    orgID,
		FromDate: proxyDate(period.From),
		ToDate:   proxyDate(period.To),
	})
	if err != nil {
		return nil, interpretError(err)
	}
	out := make([]BufdirMentorTotal, len(rows))
	for i, row := range rows {
		out[i] = BufdirMentorTotal{AttributedMentorID: row.AttributedMentorID, ActivityCount: row.ActivityCount, TotalMinutes: row.TotalMinutes}
	}
	return out, nil
}

// AuditLog returns the audit rows of activityID the caller may see (the
// org's coordinators see them all, also after the activity was deleted).
func (a Activities) AuditLog(ctx context.Context, activityID uuid.UUID) ([]ProxyAuditEntry, error) {
	rows, err := queries.ListProxyAuditLog(ctx, a.r.tx, activityID)
	if err != nil {
		return nil, interpretError(err)
	}
	out := make([]ProxyAuditEntry, len(rows))
	for i, row := range rows {
		out[i] = proxyAuditEntryFromGen(row)
	}
	return out, nil
}

// precheckMentors checks that every mentor is a peer_mentor of orgID
// (AssertMentorsInOrg). In a request of db it travels with the write it
// guards, one round trip, and its failure stops the transaction before the
// write reaches the table: it returns nil then, and the write's error is the
// pre-check's (precheckError). On a caller's transaction (DoTx) it runs at
// once and returns the typed error itself.
func (a Activities) precheckMentors(ctx context.Context, orgID uuid.UUID, mentors []uuid.UUID, policy string) error {
	_, err := queries.AssertMentorsInOrg(ctx, checkFirst{a.r}, gen.AssertMentorsInOrgParams{OrgID: orgID, UserIds: mentors})
	return precheckError(err, policy, orgID)
}

// precheckMarker starts AssertMentorsInOrg's finding in its error.
const precheckMarker = "mentordb-precheck:"

// precheckError turns AssertMentorsInOrg's failure into ErrNotPermitted (the
// caller cannot see the roster: not a coordinator of the org) or
// ErrMentorNotInOrg naming the missing mentors; any other error is
// interpreted as usual.
func precheckError(err error, policy string, orgID uuid.UUID) error {
	var pgErr *pgconn.PgError
	if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "22P02" {
		return interpretError(err)
	}
	i := strings.Index(pgErr.Message, precheckMarker)
	if i < 0 {
		return interpretError(err)
	}
	finding := strings.TrimSuffix(pgErr.Message[i+len(precheckMarker):], `"`)
	kind, ids, _ := strings.Cut(finding, ":")
	if kind == "not-coordinator" {
		return proxyNotPermitted(policy, "caller is not a coordinator of the organization")
	}
	return &Error{
		Kind:       ErrMentorNotInOrg,
		Class:      ErrCheck,
		Constraint: ConstraintMentorInOrg,
		Code:       "23514",
		Message:    fmt.Sprintf("attributed mentor %s is not a peer_mentor of organization %s", strings.ReplaceAll(ids, ",", ", "), orgID),
	}
}

// ProxyActivityRepository is the one-call form of Activities: each method
// runs as the caller described by claims in a request of its own (Do, or
// DoReadOnly for reads). To combine calls, or to add your own SQL, use
// Request.Activities inside Do.
type ProxyActivityRepository struct{ db *DB }

// ProxyActivities returns the one-call proxy-activity repository of d.
func (d *DB) ProxyActivities() *ProxyActivityRepository { return &ProxyActivityRepository{db: d} }

// Create is Activities.Create in a request of its own.
func (p *ProxyActivityRepository) Create(ctx context.Context, claims Claims, in NewProxyActivity) (ProxyActivity, error) {
	return doOne(ctx, p.db, claims, pgx.ReadWrite, func(r *Request) (ProxyActivity, error) { return r.Activities().Create(ctx, in) })
}

// CreateMany is Activities.CreateMany in a request of its own.
func (p *ProxyActivityRepository) CreateMany(ctx context.Context, claims Claims, orgID, coordinatorID uuid.UUID, items []NewProxyActivity) ([]ProxyActivity, error) {
	if len(items) == 0 {
		return nil, nil
	}
	return doOne(ctx, p.db, claims, pgx.ReadWrite, func(r *Request) ([]ProxyActivity, error) {
		return r.Activities().CreateMany(ctx, orgID, coordinatorID, items)
	})
}

// Import is Activities.Import in a request of its own.
func (p *ProxyActivityRepository) Import(ctx context.Context, claims Claims, items []NewProxyActivity) (int64, error) {
	return doValue(ctx, p.db, claims, pgx.ReadWrite, func(r *Request) (int64, error) { return r.Activities().Import(ctx, items) })
}

// Update is Activities.Update in a request of its own.
func (p *ProxyActivityRepository) Update(ctx context.Context, claims Claims, id uuid.UUID, ch ProxyActivityChange) (ProxyActivity, error) {
	return doValue(ctx, p.db, claims, pgx.ReadWrite, func(r *Request) (ProxyActivity, error) { return r.Activities().Update(ctx, id, ch) })
}

// Delete is Activities.Delete in a request of its own.
func (p *ProxyActivityRepository) Delete(ctx context.Context, claims Claims, id uuid.UUID) error {
	n, err := doOne(ctx, p.db, claims, pgx.ReadWrite, func(r *Request) (int64, error) {
		n, err := queries.DeleteProxyActivity(ctx, r.tx, id)
		return n, interpretError(err)
	})
	if err != nil || n > 0 {
		return err
	}
	// Nothing deleted: tell not found from not permitted in a read of its
	// own, so the call that succeeds stays one round trip.
	if _, err := p.Get(ctx, claims, id); err != nil {
		return err // ErrNotFound
	}
	return proxyNotPermitted(PolicyProxyDeleteOwn, "only the coordinator who registered an activity may delete it")
}

// Get is Activities.Get in a read-only request of its own.
func (p *ProxyActivityRepository) Get(ctx context.Context, claims Claims, id uuid.UUID) (ProxyActivity, error) {
	return doOne(ctx, p.db, claims, pgx.ReadOnly, func(r *Request) (ProxyActivity, error) { return r.Activities().Get(ctx, id) })
}

// ListForOrg is Activities.ListForOrg in a read-only request of its own.
func (p *ProxyActivityRepository) ListForOrg(ctx context.Context, claims Claims, orgID uuid.UUID, period Period, after *ProxyActivityCursor, limit int) (ProxyActivityPage, error) {
	return doOne(ctx, p.db, claims, pgx.ReadOnly, func(r *Request) (ProxyActivityPage, error) {
		return r.Activities().ListForOrg(ctx, orgID, period, after, limit)
	})
}

// ListByMentor is Activities.ListByMentor in a read-only request of its own.
func (p *ProxyActivityRepository) ListByMentor(ctx context.Context, claims Claims, orgID, mentorID uuid.UUID, period Period, after *ProxyActivityCursor, limit int) (ProxyActivityPage, error) {
	return doOne(ctx, p.db, claims, pgx.ReadOnly, func(r *Request) (ProxyActivityPage, error) {
		return r.Activities().ListByMentor(ctx, orgID, mentorID, period, after, limit)
	})
}

// BufdirReport is Activities.BufdirReport in a read-only request of its own.
func (p *ProxyActivityRepository) BufdirReport(ctx context.Context, claims Claims, orgID uuid.UUID, period Period) ([]BufdirMentorTotal, error) {
	return doOne(ctx, p.db, claims, pgx.ReadOnly, func(r *Request) ([]BufdirMentorTotal, error) {
		return r.Activities().BufdirReport(ctx, orgID, period)
	})
}

// BufdirTotals is Activities.BufdirTotals in a read-only request of its own.
func (p *ProxyActivityRepository) BufdirTotals(ctx context.Context, claims Claims, orgID uuid.UUID, period Period) ([]BufdirMentorTotal, error) {
	return doOne(ctx, p.db, claims, pgx.ReadOnly, func(r *Request) ([]BufdirMentorTotal, error) {
		return r.Activities().BufdirTotals(ctx, orgID, period)
	})
}

// AuditLog is Activities.AuditLog in a read-only request of its own.
func (p *ProxyActivityRepository) AuditLog(ctx context.Context, claims Claims, activityID uuid.UUID) ([]ProxyAuditEntry, error) {
	return doOne(ctx, p.db, claims, pgx.ReadOnly, func(r *Request) ([]ProxyAuditEntry, error) {
		return r.Activities().AuditLog(ctx, activityID)
	})
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
