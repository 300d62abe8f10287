package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/schollz/progressbar/v3"

	"github.com/mentordb/mentordb/internal/harness/seed"
)

const seedUsage = `usage: mentordb seed [--database-url URL] [--orgs N] [--first-org K] [--activities-per-org M] [--seed S]
Loads N organisations (index K onwards) with 200 mentors, 10 coordinators, chapters,
templates, pause statuses and M proxy activities each, interleaved, then VACUUM ANALYZE.
To add organisations to a seeded database, start after those it holds (--first-org).
`

// runSeed implements `mentordb seed`: fill a migrated database with the
// deterministic data set of package seed, showing progress.
func runSeed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("seed")
	dbURL := fs.String("database-url", "", "database to seed, as its owner (default $DATABASE_URL)")
	orgs := fs.Int("orgs", 10, "organisations to create")
	firstOrg := fs.Int("first-org", 0, "index of the first organisation (to add organisations to a seeded database)")
	perOrg := fs.Int("activities-per-org", 100_000, "proxy activities per organisation")
	seedVal := fs.Int64("seed", 1, "seed of every random choice; the same seed gives the same data")
	if err := parse(fs, seedUsage, args, stdout); err != nil {
		return err
	}
	switch {
	case *orgs < 1:
		return fmt.Errorf("seed: --orgs must be at least 1, got %d", *orgs)
	case *firstOrg < 0:
		return fmt.Errorf("seed: --first-org must not be negative, got %d", *firstOrg)
	case *perOrg < 0:
		return fmt.Errorf("seed: --activities-per-org must not be negative, got %d", *perOrg)
	}
	if *dbURL == "" {
		*dbURL = os.Getenv("DATABASE_URL")
	}
	if *dbURL == "" {
		return errors.New("seed: no database: pass --database-url or set DATABASE_URL")
	}

	cfg, err := pgxpool.ParseConfig(*dbURL)
	if err != nil {
		return fmt.Errorf("seed: bad --database-url: %s", firstLine(err))
	}
	cfg.MaxConns = 2
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err == nil {
		err = pool.Ping(pingCtx)
	}
	if err != nil {
		return fmt.Errorf("seed: cannot connect to %s:%d: %s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, firstLine(err))
	}
	defer pool.Close()

	pr := newProgress(stdout, isTerminal(stdout))
	c := seed.Config{Orgs: *orgs, FirstOrg: *firstOrg, ActivitiesPerOrg: *perOrg, Seed: *seedVal, Progress: pr.update}
	if *perOrg == 0 {
		c.ActivitiesPerOrg = -1
	}
	if !pr.tty {
		c.ProgressEvery = 100_000
	}
	c.Phase = pr.phase
	st, err := seed.Load(ctx, pool, c)
	pr.finish()
	if err != nil {
		return seedError(ctx, pool, *firstOrg, err)
	}
	mode := "triggers skipped (session_replication_role = replica)"
	if !st.TriggersSkipped {
		mode = "all triggers fired (not a superuser)"
	}
	fmt.Fprintf(stdout, "seeded %d orgs (from index %d), %d users, %d chapters, %d templates, %d status rows (%d paused), %d activities\n",
		len(st.Orgs), *firstOrg, st.Users, st.Chapters, st.Templates, st.StatusRows, st.PausedMentors, st.Activities)
	if cp := pr.copyTime(); cp > 0 {
		fmt.Fprintf(stdout, "activities: copy %s at %.0f rows/s (the bar's rate); with index builds and commit %s, %.0f rows/s; %s\n",
			cp.Round(time.Millisecond), float64(st.Activities)/cp.Seconds(), st.ActivityLoad.Round(time.Millisecond), st.Rate(), mode)
	} else {
		fmt.Fprintf(stdout, "activities: %s, %.0f rows/s; %s\n", st.ActivityLoad.Round(time.Millisecond), st.Rate(), mode)
	}
	fmt.Fprintf(stdout, "vacuum/analyze %s; total %s\n", st.Analyze.Round(time.Millisecond), st.Total.Round(time.Millisecond))
	return nil
}

// seedError explains the usual failure of a second run: the seed is
// deterministic, so organisations from --first-org on already exist.
func seedError(ctx context.Context, pool *pgxpool.Pool, firstOrg int, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		var n int
		if qerr := pool.QueryRow(ctx, `SELECT count(*) FROM public.organizations`).Scan(&n); qerr == nil && n > 0 {
			return fmt.Errorf("seed: the database already holds %d organisations, and seeding from index %d creates the same rows again (%s); "+
				"to add organisations after them run with --first-org %d, or seed a fresh database", n, firstOrg, pgErr.ConstraintName, n)
		}
	}
	return errors.New(firstLine(err))
}

// firstLine keeps an error message to one line.
func firstLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progress shows the copy of proxy_activities: a bar with its rate and
// ETA (github.com/schollz/progressbar) on a terminal, plain lines otherwise;
// and the start of every phase. The bar starts with the copy, so its rate is
// the copy's, which the summary prints next to the rate with index builds.
type progress struct {
	w         io.Writer
	tty       bool
	bar       *progressbar.ProgressBar
	copyStart time.Time
	copyEnd   time.Time
	inCopy    bool
	lastLine  time.Time
}

func newProgress(w io.Writer, tty bool) *progress {
	return &progress{w: w, tty: tty}
}

func (p *progress) update(done, total int64) {
	if !p.inCopy {
		return
	}
	if p.tty {
		if p.bar == nil {
			p.bar = progressbar.NewOptions64(total,
				progressbar.OptionSetWriter(p.w),
				progressbar.OptionSetDescription("activities"),
				progressbar.OptionShowCount(),
				progressbar.OptionShowIts(),
				progressbar.OptionSetItsString("rows"),
				progressbar.OptionSetPredictTime(true),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionSetWidth(30),
			)
			p.bar.Reset() // its clock starts with the copy, not at the first update
			p.bar.ChangeMax64(total)
		}
		_ = p.bar.Set64(done)
		return
	}
	elapsed := time.Since(p.copyStart)
	rate := float64(done) / elapsed.Seconds()
	eta := "?"
	if rate > 0 && total >= done {
		eta = time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "activities %d/%d (%.0f%%) %.0f rows/s eta %s\n", done, total, 100*float64(done)/float64(max(total, 1)), rate, eta)
}

func (p *progress) phase(name string) {
	p.finish()
	fmt.Fprintf(p.w, "%s: %s\n", time.Now().Format("15:04:05"), name)
	if name == "copy proxy_activities" {
		p.copyStart, p.inCopy = time.Now(), true
	}
}

// finish ends the bar, and the copy when it was running.
func (p *progress) finish() {
	if p.inCopy {
		p.copyEnd, p.inCopy = time.Now(), false
	}
	if p.bar != nil {
		_ = p.bar.Finish()
		fmt.Fprintln(p.w)
		p.bar = nil
	}
}

// copyTime is how long the copy of proxy_activities took (0 if unknown).
func (p *progress) copyTime() time.Duration {
	if p.copyStart.IsZero() || p.copyEnd.IsZero() {
		return 0
	}
	return p.copyEnd.Sub(p.copyStart)
}
