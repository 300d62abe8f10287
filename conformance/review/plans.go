package review

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mentordb/mentordb/db"
	"github.com/mentordb/mentordb/gen"
	"github.com/mentordb/mentordb/internal/harness/seed"
)

// PlanScale is the seeded data both sides' plans are read on: small enough
// to keep a review short, the same on both sides (seed is deterministic),
// analysed before planning. A plan at this scale is not the plan at
// DESIGN's 100,000 rows per org (the Plans suite holds those); what the
// review shows is whether the change alters the plan of the same query on
// the same data.
var PlanScale = seed.Config{Orgs: 3, ActivitiesPerOrg: 5000, MentorsPerOrg: 50, CoordinatorsPerOrg: 5, Seed: 22}

// Plans are the key queries planned on both sides.
type Plans struct {
	Scale   string       `json:"scale"`
	Queries []PlanResult `json:"queries"`
}

// PlanResult is one query's plan on each side.
type PlanResult struct {
	Query string       `json:"query"` // the sqlc query name
	As    string       `json:"as"`    // who runs it (RLS applies)
	Base  *PlanSummary `json:"base"`
	Head  *PlanSummary `json:"head"`
	// ScanChanged: the scans (type, index, relation) differ.
	ScanChanged bool `json:"scan_changed"`
	// CostRatio is the head's estimated total cost over the base's.
	CostRatio float64 `json:"cost_ratio"`
}

// PlanSummary is what a plan is compared by.
type PlanSummary struct {
	Scans []string `json:"scans"` // "Index Only Scan using i on t", in plan order
	Cost  float64  `json:"cost"`  // the root's estimated total cost
	Error string   `json:"error,omitempty"`
}

func (p *Plans) empty() bool { return p == nil || len(p.Queries) == 0 }

// changed reports whether any query's plan changed (as the warnings judge).
func (p *Plans) changed() bool {
	if p == nil {
		return false
	}
	for _, q := range p.Queries {
		if q.ScanChanged || q.CostRatio > 2 || (q.CostRatio > 0 && q.CostRatio < 0.5) || (q.Head.Error != "") != (q.Base.Error != "") {
			return true
		}
	}
	return false
}

func (s *PlanSummary) String() string {
	if s.Error != "" {
		return "error: " + s.Error
	}
	return fmt.Sprintf("%s (cost %.0f)", strings.Join(s.Scans, ", "), s.Cost)
}

// keyQuery is one query the application runs, captured from gen with its
// arguments, and who runs it.
type keyQuery struct {
	name   string
	as     string
	claims db.Claims
	call   func(q *gen.Queries, tx gen.DBTX) error
}

func keyQueries(cfg seed.Config) []keyQuery {
	org := seed.Plan(cfg)[0]
	coordinator := db.User(org.Coordinators[0], org.ID)
	from, to := cfg.End.AddDate(-1, 0, 0), cfg.End
	ctx := context.Background()
	as := "a coordinator of a seeded org (RLS)"
	return []keyQuery{
		{"BufdirReport", as, coordinator, func(q *gen.Queries, tx gen.DBTX) error {
			_, err := q.BufdirReport(ctx, tx, gen.BufdirReportParams{OrgID: org.ID, FromDate: from, ToDate: to})
			return err
		}},
		{"ListProxyActivitiesForOrg", as, coordinator, func(q *gen.Queries, tx gen.DBTX) error {
			_, err := q.ListProxyActivitiesForOrg(ctx, tx, gen.ListProxyActivitiesForOrgParams{OrgID: org.ID, FromDate: from, ToDate: to,
				BeforeDate: to, BeforeID: uuid.Max, LimitRows: 100})
			return err
		}},
		{"ExportProxyActivities", "service_role", db.ServiceRole(), func(q *gen.Queries, tx gen.DBTX) error {
			day := cfg.End.AddDate(0, 0, -10)
			_, err := q.ExportProxyActivities(ctx, tx, gen.ExportProxyActivitiesParams{FromAt: day, ToAt: day.Add(24 * time.Hour),
				AfterCreatedAt: day, LimitRows: 1000})
			return err
		}},
		{"ReviewProxyAuditLog", as, coordinator, func(q *gen.Queries, tx gen.DBTX) error {
			week := cfg.End.AddDate(0, 0, -7)
			_, err := q.ReviewProxyAuditLog(ctx, tx, gen.ReviewProxyAuditLogParams{OrgID: org.ID, FromAt: week, ToAt: cfg.End,
				BeforeAt: cfg.End, BeforeID: 1<<63 - 1, LimitRows: 100})
			return err
		}},
		{"ListOrgStatuses", as, coordinator, func(q *gen.Queries, tx gen.DBTX) error {
			_, err := q.ListOrgStatuses(ctx, tx, org.ID)
			return err
		}},
		{"ActivePausesForChapter", as, coordinator, func(q *gen.Queries, tx gen.DBTX) error {
			_, err := q.ActivePausesForChapter(ctx, tx, org.Chapters[0])
			return err
		}},
	}
}

// seedForPlans loads PlanScale and analyses every table.
func seedForPlans(ctx context.Context, pool *pgxpool.Pool) error {
	if _, err := seed.Load(ctx, pool, PlanScale); err != nil {
		return err
	}
	_, err := pool.Exec(ctx, "ANALYZE")
	return err
}

// planSide plans every key query on one side.
func planSide(ctx context.Context, pool *pgxpool.Pool, queries []keyQuery) []*PlanSummary {
	app := db.New(pool)
	out := make([]*PlanSummary, len(queries))
	for i, k := range queries {
		c := &capture{}
		_ = k.call(gen.New(), c)
		s := &PlanSummary{}
		out[i] = s
		if c.sql == "" {
			s.Error = "the query was not captured"
			continue
		}
		var raw string
		err := app.DoReadOnly(ctx, k.claims, func(r *db.Request) error {
			return r.Tx().QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+c.sql, c.args...).Scan(&raw)
		})
		if err != nil {
			s.Error = err.Error()
			continue
		}
		var doc []struct {
			Plan planNode `json:"Plan"`
		}
		if err := json.Unmarshal([]byte(raw), &doc); err != nil || len(doc) != 1 {
			s.Error = fmt.Sprintf("EXPLAIN output: %v", err)
			continue
		}
		s.Cost = doc[0].Plan.TotalCost
		doc[0].Plan.walk(func(n *planNode) {
			if n.RelationName == "" && n.IndexName == "" && n.FunctionName == "" {
				return
			}
			scan := n.NodeType
			if n.IndexName != "" {
				scan += " using " + n.IndexName
			}
			if n.RelationName != "" {
				scan += " on " + n.RelationName
			}
			if n.FunctionName != "" {
				scan += " on " + n.FunctionName
			}
			s.Scans = append(s.Scans, scan)
		})
	}
	return out
}

type planNode struct {
	NodeType     string     `json:"Node Type"`
	RelationName string     `json:"Relation Name"`
	IndexName    string     `json:"Index Name"`
	FunctionName string     `json:"Function Name"`
	TotalCost    float64    `json:"Total Cost"`
	Plans        []planNode `json:"Plans"`
}

func (n *planNode) walk(f func(*planNode)) {
	f(n)
	for i := range n.Plans {
		n.Plans[i].walk(f)
	}
}

// comparePlans plans the key queries on both sides, which hold the same
// seeded rows (the head is a copy of the seeded base; see prepareBase),
// analysed again after the new migrations and the access matrix's world.
func comparePlans(ctx context.Context, base, head *pgxpool.Pool, r *Report) (*Plans, error) {
	p := &Plans{Scale: fmt.Sprintf("%d orgs × %d proxy activities (seed %d), analysed", PlanScale.Orgs, PlanScale.ActivitiesPerOrg, PlanScale.Seed)}
	for _, pool := range []*pgxpool.Pool{base, head} {
		if _, err := pool.Exec(ctx, "ANALYZE"); err != nil {
			return nil, err
		}
	}
	queries := keyQueries(PlanScale.Defaults())
	bs, hs := planSide(ctx, base, queries), planSide(ctx, head, queries)
	for i, k := range queries {
		res := PlanResult{Query: k.name, As: k.as, Base: bs[i], Head: hs[i]}
		if bs[i].Error == "" && hs[i].Error == "" && bs[i].Cost > 0 {
			res.CostRatio = hs[i].Cost / bs[i].Cost
			res.ScanChanged = !slices.Equal(bs[i].Scans, hs[i].Scans)
		}
		p.Queries = append(p.Queries, res)
		switch {
		case hs[i].Error != "" && bs[i].Error == "":
			r.add(Finding{Level: Warn, Rule: RulePlanChanged, Section: "plans", Object: k.name, Message: k.name + " no longer plans: " + hs[i].Error})
		case res.ScanChanged:
			r.add(Finding{Level: Warn, Rule: RulePlanChanged, Section: "plans", Object: k.name,
				Message: fmt.Sprintf("%s scans %s (base: %s)", k.name, strings.Join(hs[i].Scans, ", "), strings.Join(bs[i].Scans, ", "))})
		case res.CostRatio > 2 || (res.CostRatio > 0 && res.CostRatio < 0.5):
			r.add(Finding{Level: Warn, Rule: RulePlanChanged, Section: "plans", Object: k.name,
				Message: fmt.Sprintf("%s's estimated cost changed %.1f× (%.0f → %.0f)", k.name, res.CostRatio, bs[i].Cost, hs[i].Cost)})
		}
	}
	return p, nil
}

// capture is a gen.DBTX that records the statement instead of sending it,
// so the review plans exactly what the application runs.
type capture struct {
	sql  string
	args []any
}

var errCaptured = errors.New("captured")

func (c *capture) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	c.sql, c.args = sql, args
	return pgconn.CommandTag{}, errCaptured
}

func (c *capture) Query(_ context.Context, sql string, args ...any) (pgx.Rows, error) {
	c.sql, c.args = sql, args
	return nil, errCaptured
}

func (c *capture) QueryRow(_ context.Context, sql string, args ...any) pgx.Row {
	c.sql, c.args = sql, args
	return errRow{}
}

func (c *capture) CopyFrom(context.Context, pgx.Identifier, []string, pgx.CopyFromSource) (int64, error) {
	return 0, errCaptured
}

type errRow struct{}

func (errRow) Scan(...any) error { return errCaptured }
