// Package seed fills a migrated mentordb database with realistic,
// deterministic data: organisations with their chapters, coordinators, peer
// mentors, templates and pause statuses, and many proxy activities whose
// rows of all organisations are interleaved in insertion order, as in
// production. It is what `mentordb seed`, `make bench` and the PA-PLAN-1 /
// GEN-2 conformance tests load.
//
// Everything is derived from Config.Seed: the same Config gives the same
// uuids, dates and values, byte for byte (except what the database sets
// when the rows are written: paused_at, and the expected return dates,
// which count from the day of the pause). Each organisation draws from its
// own PRNG streams (seed, org index, kind), so organisation k is the same
// whether it was loaded alone, with nine others, or added later with
// Config.FirstOrg (the benchmark's growth from 10 to 50 organisations).
//
// Loading is COPY (pgx CopyFrom) as the table owner, in one transaction.
// proxy_activities is loaded with session_replication_role = replica, which
// skips its ordinary triggers (set_timestamps, the mentor-in-org constraint
// trigger, the audit trigger) and the foreign-key triggers. That is sound
// because the generator only produces valid rows: every attributed mentor is
// a peer_mentor of the row's org, never the coordinator, templates are of the
// same org, durations are positive, and created_at/updated_at are set
// explicitly as the server would have stamped them (registration time rising
// with insertion order over the seed's years, see registered). The audit
// trigger's rows are then copied in the same transaction, one per activity
// and in the same order, exactly as the trigger writes them (auditSource), so
// the seeded table has its audit trail; Config.NoAuditTrail leaves it out.
// Setting session_replication_role needs a superuser; without one Load falls
// back to firing every trigger (slower, created_at is the load's time, and
// the trigger writes the audit rows). Stats.TriggersSkipped says which
// happened. The small tables are loaded with all triggers on
// (peer_mentor_status' triggers are ENABLE ALWAYS anyway, so paused mentors
// get their log rows).
package seed

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Config says what to load. Zero fields take the defaults noted.
type Config struct {
	// Orgs is the number of organisations to create (default 10).
	Orgs int
	// FirstOrg is the index of the first organisation to create (default
	// 0). Organisations are identified by (Seed, index), so loading
	// {Orgs: 40, FirstOrg: 10} into a database seeded with {Orgs: 10} grows
	// it to 50 organisations without touching the first ten.
	FirstOrg int
	// ActivitiesPerOrg is the number of proxy activities per organisation
	// (default 100,000). A negative value loads none.
	ActivitiesPerOrg int
	// MentorsPerOrg (default 200), CoordinatorsPerOrg (default 10),
	// ChaptersPerOrg (default 5), TemplatesPerOrg (default 20).
	MentorsPerOrg      int
	CoordinatorsPerOrg int
	ChaptersPerOrg     int
	TemplatesPerOrg    int
	// PausedPercent of the mentors are paused (default 5; negative: none).
	PausedPercent int
	// Seed drives every random choice and every uuid.
	Seed int64
	// Years of activity dates (default 2), ending (exclusively) at End.
	Years int
	// End is the day after the last activity date (default 2027-01-01, so
	// the default two years are exactly 2025 and 2026). Never time.Now: the
	// data must not depend on when it was loaded.
	End time.Time
	// Progress, when set, is called as activities are loaded (every
	// ProgressEvery rows and at the end) with the rows done and the total.
	Progress func(done, total int64)
	// ProgressEvery is the progress granularity in rows (default 10,000).
	ProgressEvery int64
	// Phase, when set, is told when a phase of the load starts.
	Phase func(name string)
	// KeepIndexes loads proxy_activities (and proxy_audit_log) with their indexes in place. By
	// default Load drops the table's indexes that back no constraint, copies,
	// and recreates them from their own definitions (pg_get_indexdef), all
	// in the load's transaction: the catalog afterwards is the same and
	// other sessions never see the table without them, and building an
	// index once is several times faster than maintaining it per row.
	KeepIndexes bool
	// NoAuditTrail loads the activities without their proxy_audit_log rows
	// (a load that does not need them and cannot afford their size: the
	// benchmark's growth to 50 organisations). Without a superuser the audit
	// trigger writes them anyway.
	NoAuditTrail bool
	// SkipVacuum skips the final VACUUM of proxy_activities (ANALYZE still
	// runs). Without the VACUUM the visibility map is empty and every
	// index-only scan visits the heap, which no production table would do.
	SkipVacuum bool
}

// Defaults returns cfg with every zero field set to its default.
func (cfg Config) Defaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&cfg.Orgs, 10)
	def(&cfg.ActivitiesPerOrg, 100_000)
	def(&cfg.MentorsPerOrg, 200)
	def(&cfg.CoordinatorsPerOrg, 10)
	def(&cfg.ChaptersPerOrg, 5)
	def(&cfg.TemplatesPerOrg, 20)
	def(&cfg.PausedPercent, 5)
	def(&cfg.Years, 2)
	if cfg.End.IsZero() {
		cfg.End = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if cfg.ProgressEvery <= 0 {
		cfg.ProgressEvery = 10_000
	}
	return cfg
}

// Start returns the first activity date of cfg (after Defaults).
func (cfg Config) Start() time.Time { return cfg.End.AddDate(-cfg.Years, 0, 0) }

func (cfg Config) validate() error {
	switch {
	case cfg.Orgs < 0 || cfg.FirstOrg < 0:
		return errors.New("seed: Orgs and FirstOrg must not be negative")
	case cfg.MentorsPerOrg < 1:
		return errors.New("seed: MentorsPerOrg must be at least 1")
	case cfg.CoordinatorsPerOrg < 1:
		return errors.New("seed: CoordinatorsPerOrg must be at least 1")
	case cfg.ChaptersPerOrg < 0 || cfg.TemplatesPerOrg < 0:
		return errors.New("seed: ChaptersPerOrg and TemplatesPerOrg must not be negative")
	case cfg.Years < 1:
		return errors.New("seed: Years must be at least 1")
	case cfg.PausedPercent > 100:
		return errors.New("seed: PausedPercent must be at most 100")
	}
	return nil
}

// Org is one seeded organisation.
type Org struct {
	Index        int
	ID           uuid.UUID
	Name         string
	Coordinators []uuid.UUID
	Mentors      []uuid.UUID
	Chapters     []uuid.UUID
	Templates    []uuid.UUID
	Paused       []uuid.UUID // mentors whose status is paused
}

// Stats reports what Load created.
type Stats struct {
	Orgs          []Org
	Users         int64
	Chapters      int64
	Templates     int64
	StatusRows    int64
	PausedMentors int64
	Activities    int64
	// AuditRows is the number of proxy_audit_log rows the seed copied (one
	// per activity; zero with NoAuditTrail or when the triggers fired).
	AuditRows int64
	// Pages and AllVisiblePages of proxy_activities after the final VACUUM
	// (equal unless SkipVacuum or a retry limit was hit).
	Pages, AllVisiblePages int64
	// VacuumPasses is how many VACUUMs that took.
	VacuumPasses int
	// TriggersSkipped is true when proxy_activities was loaded with
	// session_replication_role = replica (see the package comment).
	TriggersSkipped bool
	// ActivityLoad is the time spent copying proxy_activities; Analyze the
	// time of the final VACUUM/ANALYZE; Total the whole Load.
	ActivityLoad, Analyze, Total time.Duration
}

// Rate is activities per second of ActivityLoad.
func (s Stats) Rate() float64 {
	if s.ActivityLoad <= 0 {
		return 0
	}
	return float64(s.Activities) / s.ActivityLoad.Seconds()
}

// PRNG streams per organisation.
const (
	streamPeople = iota + 1
	streamActivities
)

func stream(seed int64, org, kind int) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), uint64(org)<<8|uint64(kind)))
}

// newUUID returns a version-4 uuid drawn from r.
func newUUID(r *rand.Rand) uuid.UUID {
	var u uuid.UUID
	a, b := r.Uint64(), r.Uint64()
	for i := 0; i < 8; i++ {
		u[i] = byte(a >> (56 - 8*i))
		u[8+i] = byte(b >> (56 - 8*i))
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}

// Plan returns the organisations cfg describes (ids and people), without
// touching a database. Load creates exactly these.
func Plan(cfg Config) []Org {
	cfg = cfg.Defaults()
	orgs := make([]Org, cfg.Orgs)
	for i := range orgs {
		idx := cfg.FirstOrg + i
		r := stream(cfg.Seed, idx, streamPeople)
		o := Org{Index: idx, ID: newUUID(r), Name: fmt.Sprintf("Seed org %d (seed %d)", idx, cfg.Seed)}
		for k := 0; k < cfg.CoordinatorsPerOrg; k++ {
			o.Coordinators = append(o.Coordinators, newUUID(r))
		}
		for k := 0; k < cfg.MentorsPerOrg; k++ {
			o.Mentors = append(o.Mentors, newUUID(r))
		}
		for k := 0; k < cfg.ChaptersPerOrg; k++ {
			o.Chapters = append(o.Chapters, newUUID(r))
		}
		for k := 0; k < cfg.TemplatesPerOrg; k++ {
			o.Templates = append(o.Templates, newUUID(r))
		}
		if cfg.PausedPercent > 0 {
			for _, m := range o.Mentors {
				if r.IntN(100) < cfg.PausedPercent {
					o.Paused = append(o.Paused, m)
				}
			}
		}
		orgs[i] = o
	}
	return orgs
}

// choice is a weighted pick list.
type choice[T any] struct {
	values  []T
	weights []int
	total   int
}

func newChoice[T any](pairs ...any) choice[T] {
	var c choice[T]
	for i := 0; i < len(pairs); i += 2 {
		c.values = append(c.values, pairs[i].(T))
		c.weights = append(c.weights, pairs[i+1].(int))
		c.total += pairs[i+1].(int)
	}
	return c
}

func (c choice[T]) pick(r *rand.Rand) T {
	n := r.IntN(c.total)
	for i, w := range c.weights {
		if n -= w; n < 0 {
			return c.values[i]
		}
	}
	return c.values[len(c.values)-1]
}

var (
	// Activity types and durations, weighted: the common ones dominate, as
	// in real data.
	activityTypes = newChoice[string](
		"conversation", 30, "phone_call", 20, "home_visit", 12, "group_meeting", 10,
		"accompaniment", 8, "digital_meeting", 8, "course", 5, "event", 4, "other", 3)
	durations = newChoice[int32](
		int32(15), 10, int32(30), 25, int32(45), 15, int32(60), 25,
		int32(90), 12, int32(120), 8, int32(180), 4, int32(240), 1)
	templateTitles = []string{"Weekly visit", "Phone follow-up", "Group evening", "Walk and talk", "Course night"}
	noteTexts      = []string{"Follow-up agreed.", "Went well.", "Needs a call next week.", "Met at the library.", "Short visit."}
)

// Load creates cfg's data through pool, which must connect as the tables'
// owner (or a superuser), and returns what it created. It runs in one
// transaction: on error nothing is left behind.
func Load(ctx context.Context, pool *pgxpool.Pool, cfg Config) (Stats, error) {
	cfg = cfg.Defaults()
	if err := cfg.validate(); err != nil {
		return Stats{}, err
	}
	started := time.Now()
	st := Stats{Orgs: Plan(cfg)}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return st, fmt.Errorf("seed: connect: %w", err)
	}
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return st, fmt.Errorf("seed: begin: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit a no-op
	phase(cfg, "copy organisations and people")
	if err := loadPeople(ctx, tx, cfg, &st); err != nil {
		return st, err
	}

	// proxy_activities: triggers off where we may (see the package comment).
	if _, err := tx.Exec(ctx, `SAVEPOINT replica`); err != nil {
		return st, fmt.Errorf("seed: %w", err)
	}
	if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			return st, fmt.Errorf("seed: set session_replication_role: %w", err)
		}
		if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT replica`); err != nil {
			return st, fmt.Errorf("seed: %w", err)
		}
	} else {
		st.TriggersSkipped = true
	}
	t0 := time.Now()
	var rebuild []string
	audit := st.TriggersSkipped && !cfg.NoAuditTrail
	if !cfg.KeepIndexes {
		if rebuild, err = dropIndexes(ctx, tx, "public.proxy_activities"); err != nil {
			return st, err
		}
		if audit {
			more, err := dropIndexes(ctx, tx, "public.proxy_audit_log")
			if err != nil {
				return st, err
			}
			rebuild = append(rebuild, more...)
		}
	}
	phase(cfg, "copy proxy_activities")
	src := newActivitySource(cfg, st.Orgs)
	n, err := tx.CopyFrom(ctx, pgx.Identifier{"public", "proxy_activities"}, activityColumns, src)
	if err != nil {
		return st, fmt.Errorf("seed: copy proxy_activities: %w", err)
	}
	st.Activities = n
	if cfg.Progress != nil {
		cfg.Progress(n, src.total)
	}
	if audit {
		phase(cfg, "copy proxy_audit_log")
		if st.AuditRows, err = tx.CopyFrom(ctx, pgx.Identifier{"public", "proxy_audit_log"}, auditColumns, newAuditSource(cfg, st.Orgs)); err != nil {
			return st, fmt.Errorf("seed: copy proxy_audit_log: %w", err)
		}
	}
	if len(rebuild) > 0 {
		phase(cfg, "build indexes")
		for _, q := range rebuild {
			if _, err := tx.Exec(ctx, q); err != nil {
				return st, fmt.Errorf("seed: recreate index: %w", err)
			}
		}
	}
	if st.TriggersSkipped {
		if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = origin`); err != nil {
			return st, fmt.Errorf("seed: %w", err)
		}
	}
	// The small tables' statistics, in the load's transaction: a separate
	// asynchronous commit here would delay the VACUUM below (see vacuum).
	if _, err := tx.Exec(ctx, `ANALYZE auth.users, public.organizations, public.chapters, public.org_members,
		public.chapter_members, public.recurring_activity_templates, public.peer_mentor_status,
		public.proxy_audit_log`); err != nil {
		return st, fmt.Errorf("seed: analyze: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return st, fmt.Errorf("seed: commit: %w", err)
	}
	st.ActivityLoad = time.Since(t0)

	t1 := time.Now()
	phase(cfg, "vacuum and analyze")
	if cfg.SkipVacuum {
		if _, err := conn.Exec(ctx, `ANALYZE public.proxy_activities`); err != nil {
			return st, fmt.Errorf("seed: analyze: %w", err)
		}
	} else if err := vacuum(ctx, conn.Conn(), &st); err != nil {
		return st, err
	}
	st.Analyze = time.Since(t1)
	st.Total = time.Since(started)
	return st, nil
}

// vacuum runs VACUUM (ANALYZE) on proxy_activities until the visibility map
// covers the table, as autovacuum would have in production.
//
// VACUUM marks a page all-visible only when it can set every tuple's
// xmin-committed hint bit, and PostgreSQL does not set that bit while the
// WAL of the commit's clog LSN group (32 consecutive xids) is unflushed. On a
// server with synchronous_commit = off (test servers, the conformance
// provider) any later asynchronous commit in that group, ours or another
// session's, can hold it back for up to a few wal_writer_delay periods. So:
// flush the WAL with a synchronous commit, vacuum, and retry briefly if the
// map is still short.
func vacuum(ctx context.Context, conn *pgx.Conn, st *Stats) error {
	for attempt := 0; ; attempt++ {
		if _, err := conn.Exec(ctx, `BEGIN; SET LOCAL synchronous_commit = on; SELECT txid_current(); COMMIT`); err != nil {
			return fmt.Errorf("seed: flush: %w", err)
		}
		if _, err := conn.Exec(ctx, `VACUUM (ANALYZE) public.proxy_activities`); err != nil {
			return fmt.Errorf("seed: vacuum: %w", err)
		}
		if err := conn.QueryRow(ctx, `SELECT relpages, relallvisible FROM pg_class WHERE oid = 'public.proxy_activities'::regclass`).
			Scan(&st.Pages, &st.AllVisiblePages); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		st.VacuumPasses = attempt + 1
		if st.AllVisiblePages >= st.Pages || attempt == 10 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func phase(cfg Config, name string) {
	if cfg.Phase != nil {
		cfg.Phase(name)
	}
}

// dropIndexes drops table's indexes that back no constraint and returns the
// statements that recreate them as they were (definition, storage
// parameters and comment), in creation order.
func dropIndexes(ctx context.Context, tx pgx.Tx, table string) ([]string, error) {
	rows, err := tx.Query(ctx, `
		SELECT format('%I.%I', n.nspname, c.relname), pg_get_indexdef(i.indexrelid),
		       obj_description(i.indexrelid, 'pg_class')
		FROM pg_index AS i
		JOIN pg_class AS c ON c.oid = i.indexrelid
		JOIN pg_namespace AS n ON n.oid = c.relnamespace
		WHERE i.indrelid = $1::regclass
		  AND NOT EXISTS (SELECT 1 FROM pg_constraint AS k WHERE k.conindid = i.indexrelid)
		ORDER BY i.indexrelid`, table)
	if err != nil {
		return nil, fmt.Errorf("seed: list indexes: %w", err)
	}
	type index struct {
		name, def string
		comment   *string
	}
	idx, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (index, error) {
		var x index
		return x, r.Scan(&x.name, &x.def, &x.comment)
	})
	if err != nil {
		return nil, fmt.Errorf("seed: list indexes: %w", err)
	}
	var rebuild []string
	for _, x := range idx {
		if _, err := tx.Exec(ctx, "DROP INDEX "+x.name); err != nil {
			return nil, fmt.Errorf("seed: drop index %s: %w", x.name, err)
		}
		rebuild = append(rebuild, x.def)
		if x.comment != nil {
			rebuild = append(rebuild, fmt.Sprintf("COMMENT ON INDEX %s IS '%s'", x.name, strings.ReplaceAll(*x.comment, "'", "''")))
		}
	}
	if len(rebuild) > 0 {
		if _, err := tx.Exec(ctx, `SET LOCAL maintenance_work_mem = '128MB'`); err != nil {
			return nil, fmt.Errorf("seed: %w", err)
		}
	}
	return rebuild, nil
}

func copyRows(ctx context.Context, tx pgx.Tx, table []string, cols []string, rows [][]any) (int64, error) {
	n, err := tx.CopyFrom(ctx, pgx.Identifier(table), cols, pgx.CopyFromRows(rows))
	if err != nil {
		return n, fmt.Errorf("seed: copy %s: %w", pgx.Identifier(table).Sanitize(), err)
	}
	return n, nil
}

func pgUUID(u uuid.UUID) pgtype.UUID { return pgtype.UUID{Bytes: u, Valid: true} }

// loadPeople writes everything but the activities, with all triggers on.
func loadPeople(ctx context.Context, tx pgx.Tx, cfg Config, st *Stats) error {
	created := cfg.Start().Add(-24 * time.Hour)
	var users, orgs, chapters, members, chapterMembers, templates, statuses [][]any
	// The database's day, which is the day of every seeded pause.
	var today time.Time
	if err := tx.QueryRow(ctx, `SELECT (now() AT TIME ZONE 'UTC')::date`).Scan(&today); err != nil {
		return fmt.Errorf("seed: today: %w", err)
	}
	for _, o := range st.Orgs {
		orgs = append(orgs, []any{pgUUID(o.ID), o.Name, created})
		for k, c := range o.Coordinators {
			users = append(users, user(cfg, o, "coordinator", k, c, created))
			members = append(members, []any{pgUUID(o.ID), pgUUID(c), "coordinator", created})
		}
		for k, m := range o.Mentors {
			users = append(users, user(cfg, o, "mentor", k, m, created))
			members = append(members, []any{pgUUID(o.ID), pgUUID(m), "peer_mentor", created})
		}
		for k, ch := range o.Chapters {
			chapters = append(chapters, []any{pgUUID(ch), pgUUID(o.ID), fmt.Sprintf("Chapter %d of org %d", k+1, o.Index), created})
		}
		if len(o.Chapters) > 0 {
			// Each mentor in one chapter, each coordinator covers one or two.
			for k, m := range o.Mentors {
				chapterMembers = append(chapterMembers, []any{pgUUID(o.Chapters[k%len(o.Chapters)]), pgUUID(o.ID), pgUUID(m), created})
			}
			for k, c := range o.Coordinators {
				chapterMembers = append(chapterMembers, []any{pgUUID(o.Chapters[k%len(o.Chapters)]), pgUUID(o.ID), pgUUID(c), created})
				if len(o.Chapters) > 1 && k%2 == 1 {
					chapterMembers = append(chapterMembers, []any{pgUUID(o.Chapters[(k+1)%len(o.Chapters)]), pgUUID(o.ID), pgUUID(c), created})
				}
			}
		}
		for k, t := range o.Templates {
			typ := activityTypes.values[k%len(activityTypes.values)]
			templates = append(templates, []any{
				pgUUID(t), pgUUID(o.ID), pgUUID(o.Coordinators[k%len(o.Coordinators)]), typ,
				templateTitles[k%len(templateTitles)], int32(30 + 15*(k%5)), "FREQ=WEEKLY;BYDAY=" + []string{"MO", "TU", "WE", "TH", "FR"}[k%5], created,
			})
		}
		paused := make(map[uuid.UUID]bool, len(o.Paused))
		for _, p := range o.Paused {
			paused[p] = true
		}
		for k, m := range o.Mentors {
			id := uuid.NewSHA1(o.ID, m[:]) // deterministic, distinct per (org, mentor)
			status, reason, ret := "active", pgtype.Text{}, pgtype.Date{}
			if paused[m] {
				status = "paused"
				reason = pgtype.Text{String: "Seeded pause", Valid: true}
				// Relative to the load day, which is the day of the pause
				// (the bookkeeping trigger sets paused_at): an expected
				// return date lies within two years after it (PS-IN-1).
				ret = pgtype.Date{Time: today.AddDate(0, 1+k%3, 0), Valid: true}
			}
			statuses = append(statuses, []any{pgUUID(id), pgUUID(m), pgUUID(o.ID), status, reason, ret})
		}
	}
	steps := []struct {
		table []string
		cols  []string
		rows  [][]any
		count *int64
	}{
		{[]string{"auth", "users"}, []string{"id", "email", "raw_user_meta_data", "raw_app_meta_data", "created_at", "updated_at"}, users, &st.Users},
		{[]string{"public", "organizations"}, []string{"id", "name", "created_at"}, orgs, nil},
		{[]string{"public", "chapters"}, []string{"id", "org_id", "name", "created_at"}, chapters, &st.Chapters},
		{[]string{"public", "org_members"}, []string{"org_id", "user_id", "role", "created_at"}, members, nil},
		{[]string{"public", "chapter_members"}, []string{"chapter_id", "org_id", "user_id", "created_at"}, chapterMembers, nil},
		{[]string{"public", "recurring_activity_templates"}, []string{"id", "org_id", "created_by", "activity_type", "title", "default_duration_minutes", "recurrence_rule", "created_at"}, templates, &st.Templates},
		{[]string{"public", "peer_mentor_status"}, []string{"id", "peer_mentor_id", "org_id", "status", "reason", "expected_return_date"}, statuses, &st.StatusRows},
	}
	for _, s := range steps {
		if len(s.rows) == 0 {
			continue
		}
		n, err := copyRows(ctx, tx, s.table, s.cols, s.rows)
		if err != nil {
			return err
		}
		if s.count != nil {
			*s.count = n
		}
	}
	for _, o := range st.Orgs {
		st.PausedMentors += int64(len(o.Paused))
	}
	return nil
}

func user(cfg Config, o Org, role string, k int, id uuid.UUID, created time.Time) []any {
	email := fmt.Sprintf("s%d.o%d.%s%d@seed.mentordb.test", cfg.Seed, o.Index, role, k)
	meta := fmt.Sprintf(`{"full_name":"%s %d of org %d"}`, role, k, o.Index)
	return []any{pgUUID(id), email, meta, `{"provider":"email"}`, created, created}
}

var activityColumns = []string{
	"id", "coordinator_id", "attributed_mentor_id", "org_id", "activity_type", "date",
	"duration_minutes", "notes", "is_recurring", "template_id", "created_at", "updated_at",
}

// activitySource generates the activities as a pgx.CopyFromSource, lazily:
// row i belongs to org i mod n (round robin, so every org's rows are spread
// over the whole table) and is that org's (i / n)-th activity, drawn from
// the org's own stream.
type activitySource struct {
	cfg     Config
	orgs    []Org
	streams []*rand.Rand
	total   int64
	i       int64
	days    int
	start   time.Time
	row     []any
	every   int64
}

func newActivitySource(cfg Config, orgs []Org) *activitySource {
	s := &activitySource{cfg: cfg, orgs: orgs, start: cfg.Start(), every: cfg.ProgressEvery}
	if cfg.ActivitiesPerOrg > 0 {
		s.total = int64(cfg.ActivitiesPerOrg) * int64(len(orgs))
	}
	s.days = int(cfg.End.Sub(s.start).Hours() / 24)
	for _, o := range orgs {
		s.streams = append(s.streams, stream(cfg.Seed, o.Index, streamActivities))
	}
	s.row = make([]any, len(activityColumns))
	return s
}

// Registration time. Every organisation registers its activities evenly over
// the years of the seed: its j-th activity falls in the j-th of
// ActivitiesPerOrg equal slots of the timeline, and the n organisations of
// one load take turns inside each slot (row i is org i mod n), so created_at
// rises with insertion order, as the server's now() makes it in production,
// and one day holds about 1/(365 x Years) of the rows. Inside a day,
// registrations fall between 07:00 and 21:00 UTC (working hours, evenings).
// The activity took place up to lagDays before the day of its slot: the day
// is that of the slot's start, which is the same whether the organisation is
// loaded alone or with others, so an organisation's dates do not depend on
// the load (its created_at, like its position in the table, does).
const (
	workdayStart = 7 * time.Hour
	workdayHours = 14 * time.Hour
)

// lagDays is how long after the activity it is registered: mostly the same
// day or the next, now and then weeks later.
var lagDays = newChoice[int](0, 35, 1, 25, 2, 10, 3, 5, 5, 8, 7, 7, 10, 5, 14, 3, 21, 1, 30, 1)

// registered returns the created_at of row i, org position k of n, the
// org's j-th activity, and the day index of its slot's start.
func (s *activitySource) registered(j int64, k, n int) (time.Time, int) {
	per := float64(s.cfg.ActivitiesPerOrg)
	x := (float64(j) + float64(k)/float64(n)) / per * float64(s.days)
	day := int(x)
	frac := x - float64(day)
	at := s.start.AddDate(0, 0, day).Add(workdayStart + time.Duration(frac*float64(workdayHours)))
	return at.Truncate(time.Microsecond), int(float64(j) / per * float64(s.days))
}

func (s *activitySource) Next() bool {
	if s.i >= s.total {
		return false
	}
	n := len(s.orgs)
	k := int(s.i % int64(n))
	o := &s.orgs[k]
	r := s.streams[k]
	id := newUUID(r)
	coord := o.Coordinators[r.IntN(len(o.Coordinators))]
	// Some mentors are much more active than others: min of two uniforms.
	mentor := o.Mentors[min(r.IntN(len(o.Mentors)), r.IntN(len(o.Mentors)))]
	typ := activityTypes.pick(r)
	created, slotDay := s.registered(s.i/int64(n), k, n)
	date := s.start.AddDate(0, 0, max(slotDay-lagDays.pick(r), 0))
	dur := durations.pick(r)
	note := pgtype.Text{}
	if r.IntN(5) == 0 {
		note = pgtype.Text{String: noteTexts[r.IntN(len(noteTexts))], Valid: true}
	}
	recurring, tmpl := false, pgtype.UUID{}
	if len(o.Templates) > 0 && r.IntN(10) == 0 {
		recurring, tmpl = true, pgUUID(o.Templates[r.IntN(len(o.Templates))])
	}
	s.row[0], s.row[1], s.row[2], s.row[3] = pgUUID(id), pgUUID(coord), pgUUID(mentor), pgUUID(o.ID)
	s.row[4], s.row[5], s.row[6], s.row[7] = typ, pgtype.Date{Time: date, Valid: true}, dur, note
	s.row[8], s.row[9], s.row[10], s.row[11] = recurring, tmpl, created, created
	s.i++
	if s.cfg.Progress != nil && s.i%s.every == 0 && s.i < s.total {
		s.cfg.Progress(s.i, s.total)
	}
	return true
}

func (s *activitySource) Values() ([]any, error) { return s.row, nil }
func (s *activitySource) Err() error             { return nil }

// Measure returns what a Load with cfg left in the database pool connects
// to, read back from it: the planned organisations and people, the number
// of activities and proxy_activities' pages and all-visible pages. It lets
// a test that clones an already seeded database (testdb.NewSeeded) check
// the data it got; the timings are zero.
func Measure(ctx context.Context, pool *pgxpool.Pool, cfg Config) (Stats, error) {
	cfg = cfg.Defaults()
	if err := cfg.validate(); err != nil {
		return Stats{}, err
	}
	st := Stats{Orgs: Plan(cfg)}
	err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM public.proxy_activities), relpages, relallvisible
		FROM pg_class WHERE oid = 'public.proxy_activities'::regclass`).Scan(&st.Activities, &st.Pages, &st.AllVisiblePages)
	if err != nil {
		return st, fmt.Errorf("seed: measure: %w", err)
	}
	return st, nil
}
