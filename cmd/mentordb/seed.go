package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mentordb/mentordb/conformance/seed"
)

// runSeed implements `mentordb seed`: fill a migrated database with the
// deterministic data set of package seed, showing progress.
func runSeed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	// Errors are reported as one line by main; only -h prints the usage.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	usage := func() {
		fs.SetOutput(stderr)
		fmt.Fprintln(fs.Output(), "usage: mentordb seed [--database-url URL] [--orgs N] [--first-org K] [--activities-per-org M] [--seed S]")
		fmt.Fprintln(fs.Output(), "Loads N organisations (index K onwards) with 200 mentors, 10 coordinators, chapters,")
		fmt.Fprintln(fs.Output(), "templates, pause statuses and M proxy activities each, interleaved, then VACUUM ANALYZE.")
		fs.PrintDefaults()
	}
	dbURL := fs.String("database-url", "", "database to seed, as its owner (default $DATABASE_URL)")
	orgs := fs.Int("orgs", 10, "organisations to create")
	firstOrg := fs.Int("first-org", 0, "index of the first organisation (to add organisations to a seeded database)")
	perOrg := fs.Int("activities-per-org", 100_000, "proxy activities per organisation")
	seedVal := fs.Int64("seed", 1, "seed of every random choice; the same seed gives the same data")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage()
			return err
		}
		return fmt.Errorf("seed: %w", err)
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("seed: unexpected arguments %q", fs.Args())
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
		return errors.New(firstLine(err))
	}
	mode := "triggers skipped (session_replication_role = replica)"
	if !st.TriggersSkipped {
		mode = "all triggers fired (not a superuser)"
	}
	fmt.Fprintf(stdout, "seeded %d orgs (from index %d), %d users, %d chapters, %d templates, %d status rows (%d paused), %d activities\n",
		len(st.Orgs), *firstOrg, st.Users, st.Chapters, st.Templates, st.StatusRows, st.PausedMentors, st.Activities)
	fmt.Fprintf(stdout, "activities: %s, %.0f rows/s, %s; vacuum/analyze %s; total %s\n",
		st.ActivityLoad.Round(time.Millisecond), st.Rate(), mode, st.Analyze.Round(time.Millisecond), st.Total.Round(time.Millisecond))
	return nil
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

// progress draws a bar with rate and ETA on a terminal, and writes plain
// lines otherwise.
type progress struct {
	w     io.Writer
	tty   bool
	start time.Time
	last  time.Time
	drawn bool
}

func newProgress(w io.Writer, tty bool) *progress {
	return &progress{w: w, tty: tty, start: time.Now()}
}

func (p *progress) update(done, total int64) {
	now := time.Now()
	if p.tty && done < total && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	elapsed := now.Sub(p.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(done) / elapsed
	}
	eta := "?"
	if rate > 0 {
		eta = (time.Duration(float64(total-done)/rate) * time.Second).Round(time.Second).String()
	}
	pct := 100.0
	if total > 0 {
		pct = 100 * float64(done) / float64(total)
	}
	if !p.tty {
		fmt.Fprintf(p.w, "activities %d/%d (%.0f%%) %.0f rows/s eta %s\n", done, total, pct, rate, eta)
		return
	}
	const width = 30
	fill := int(pct / 100 * width)
	bar := strings.Repeat("█", fill) + strings.Repeat("░", width-fill)
	fmt.Fprintf(p.w, "\r%s %5.1f%% %d/%d  %.0f rows/s  eta %-6s", bar, pct, done, total, rate, eta)
	p.drawn = true
}

func (p *progress) phase(name string) {
	p.finish()
	p.drawn = false
	fmt.Fprintf(p.w, "%s: %s\n", time.Now().Format("15:04:05"), name)
	if name == "copy proxy_activities" {
		p.start = time.Now()
	}
}

func (p *progress) finish() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}
