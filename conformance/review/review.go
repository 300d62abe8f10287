// Package review is `mentordb review --base REF` (REV-1): what a change of
// the schema does, shown before it merges. It builds the schema of the base
// and of the head on two disposable databases of one server and compares
// them:
//
//   - access: every cell of the access matrix (conformance/access) run on
//     both sides, and the API roles' privileges, policies and RLS read from
//     the catalog on both, each change judged by the head's access spec;
//   - catalog: pg_dump's entries added, dropped or changed
//     (internal/harness/schemadump), and the guarantees that fail a review
//     wherever they are lost (an exposed table without RLS, a SECURITY
//     DEFINER function without a search_path of its own);
//   - risk: for each new migration file, the locks its statements take on
//     existing tables (measured as the CONF-3 suite measures them), whether
//     its rollback restores the catalog before it, and squawk's findings;
//   - plans: the key queries planned on both sides on the same seeded rows;
//   - the gate (when asked): the mutants of new and changed objects run
//     against the head's tests.
//
// The command (cmd/mentordb review) only reads the files and writes the
// report; everything judged is here.
package review

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/mentordb/mentordb/conformance/access"
	"github.com/mentordb/mentordb/conformance/squawk"
	"github.com/mentordb/mentordb/db/migrate"
	"github.com/mentordb/mentordb/internal/harness/provision"
	"github.com/mentordb/mentordb/internal/harness/schemadump"
	"github.com/mentordb/mentordb/internal/harness/testdb"
)

// Options are one review's inputs.
type Options struct {
	// AdminURL is a superuser URL of the server; the review creates its two
	// databases there and drops them at the end.
	AdminURL   string
	Base, Head Files
	// Spec judges the head: access.Matrix as the head's tree declares it.
	Spec *access.Spec
	// Squawk lints the new files with the configs in SquawkConfigDir
	// (conformance/squawk); nil leaves it out with SquawkMissing as the
	// reason, reported as a warning.
	Squawk          *squawk.Squawk
	SquawkConfigDir string
	SquawkMissing   string
	Logf            func(format string, args ...any)
	// Gate, when set, runs the mutants of the new and changed objects
	// against the head's tests (slow: the mutation runner first runs the
	// head's matrix unmutated); nil leaves the gate out, reported as not
	// run.
	Gate GateRunner
	// Cache, when set, keeps the base's database (as a template) and its
	// access-matrix results for the next review of the same base on the
	// same server.
	Cache *Cache
}

func (o Options) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}

// since is the time since start, for progress lines.
func since(start time.Time) string { return time.Since(start).Round(100 * time.Millisecond).String() }

// Run reviews head against base. An error means the review could not be
// made; a change that loses a guarantee is a Fail finding (Report.Verdict).
func Run(ctx context.Context, o Options) (_ *Report, err error) {
	r := &Report{Base: o.Base.Label, Head: o.Head.Label, Findings: []Finding{}, started: time.Now()}
	added, edited := split(o.Base, o.Head)
	r.NewMigrations = append([]string{}, added...)
	for _, f := range edited {
		r.add(Finding{Level: Fail, Rule: RuleMigrationEdited, Section: "risk", Object: f,
			Message: f + " is in the base and was changed or removed: a shipped migration is never edited (add a new one)"})
	}

	admin, err := pgx.Connect(ctx, o.AdminURL)
	if err != nil {
		return nil, err
	}
	defer admin.Close(context.Background())
	suffix := randomHex(4)
	baseName, headName := "review_base_"+suffix, "review_head_"+suffix
	var created []string
	defer func() {
		for _, n := range created {
			if _, derr := admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+n+" WITH (FORCE)"); derr != nil && err == nil {
				err = derr
			}
		}
	}()
	create := func(name, template string) (string, error) {
		q := "CREATE DATABASE " + name
		if template != "" {
			q += " TEMPLATE " + template
		}
		// A template's last connection may still be closing (55006):
		// wait for it a little.
		for try := 0; ; try++ {
			_, err := admin.Exec(ctx, q)
			var pgErr *pgconn.PgError
			if err == nil {
				break
			}
			if !errors.As(err, &pgErr) || pgErr.Code != "55006" || try == 50 {
				return "", err
			}
			time.Sleep(100 * time.Millisecond)
		}
		created = append(created, name)
		return testdb.WithDatabase(o.AdminURL, name), nil
	}

	// The base: the platform shim, then the base's migrations (or a copy
	// of the cache's template of them).
	o.logf("review: %s building the base (%d migrations)", since(r.started), len(o.Base.Migrations))
	template, seedErr, err := o.Cache.template(ctx, admin, o.AdminURL, o.Base)
	if err != nil {
		return nil, err
	}
	baseURL, err := create(baseName, template)
	if err != nil {
		return nil, err
	}
	if template == "" {
		if seedErr, err = prepareBase(ctx, baseURL, o.Base); err != nil {
			return nil, err
		}
	}

	// The head: a copy of the base when the head only adds files (the
	// usual case), else built from scratch up to its first new file.
	var headURL string
	prev := "0"
	if len(edited) == 0 {
		headURL, err = create(headName, baseName)
		if err != nil {
			return nil, err
		}
		if names := o.Base.Names(); len(names) > 0 {
			prev = names[len(names)-1][:14]
		}
	} else {
		headURL, err = create(headName, "")
		if err != nil {
			return nil, err
		}
		names := o.Head.Names()
		cut := ""
		for _, n := range names {
			if len(added) > 0 && n == added[0] {
				break
			}
			cut, prev = n[:14], n[:14]
		}
		if err := buildHead(ctx, headURL, o.Head, cut); err != nil {
			return nil, err
		}
	}
	o.logf("review: %s applying %d new migrations, each measured and rolled back once", since(r.started), len(added))
	headSQL, err := openSQL(headURL)
	if err != nil {
		return nil, err
	}
	defer func() { headSQL.Close() }()
	for i, file := range added {
		if file[:14] <= prev {
			return nil, fmt.Errorf("%s is older than a migration the base already has (%s): the runner would refuse it", file, prev)
		}
		fr, intact, err := applyNew(ctx, headURL, headSQL, o.Head, file, prev, r)
		if err != nil {
			return nil, err
		}
		r.Risk = append(r.Risk, fr)
		prev = file[:14]
		if !intact {
			// Its rollback left the database elsewhere: a fresh head up to
			// this file, for the files after it and the comparisons.
			headSQL.Close()
			if headURL, err = create(fmt.Sprintf("%s_%d", headName, i), ""); err != nil {
				return nil, err
			}
			if err := buildHead(ctx, headURL, o.Head, prev); err != nil {
				return nil, err
			}
			if headSQL, err = openSQL(headURL); err != nil {
				return nil, err
			}
		}
	}
	if len(added) > 0 {
		if o.Squawk != nil {
			if err := lintNew(ctx, o.Squawk, o.SquawkConfigDir, o.Head, r.Risk, r); err != nil {
				return nil, fmt.Errorf("squawk: %w", err)
			}
		} else {
			r.NotRun = append(r.NotRun, "squawk: "+o.SquawkMissing)
			r.add(Finding{Level: Warn, Rule: RuleNotRun, Section: "risk", Object: "squawk", Message: "squawk did not run: " + o.SquawkMissing})
		}
	}

	// The catalogs.
	o.logf("review: %s comparing the catalogs", since(r.started))
	baseEntries, err := schemadump.Dump(ctx, baseURL)
	if err != nil {
		return nil, err
	}
	headEntries, err := schemadump.Dump(ctx, headURL)
	if err != nil {
		return nil, err
	}
	r.Catalog = diffEntries(baseEntries, headEntries)
	basePool, err := pgxpool.New(ctx, baseURL)
	if err != nil {
		return nil, err
	}
	defer basePool.Close()
	headPool, err := pgxpool.New(ctx, headURL)
	if err != nil {
		return nil, err
	}
	defer headPool.Close()
	if err := guarantees(ctx, headPool, r); err != nil {
		return nil, err
	}
	bs, err := readShape(ctx, basePool)
	if err != nil {
		return nil, err
	}
	hs, err := readShape(ctx, headPool)
	if err != nil {
		return nil, err
	}
	shapeWarnings(bs, hs, r)

	// Access, last: it writes the fixture world into both databases.
	o.logf("review: %s running the access matrix on both sides (%d cells each)", since(r.started), o.Spec.Cells())
	r.Access, err = compareAccess(ctx, o.Spec, side{"base", basePool, o.Cache.cells(o.Base)}, side{"head", headPool, nil}, r.Catalog, r)
	if err != nil {
		return nil, err
	}
	o.logf("review: %s planning the key queries on both sides (%d orgs × %d activities)", since(r.started), PlanScale.Orgs, PlanScale.ActivitiesPerOrg)
	if seedErr != nil {
		r.add(Finding{Level: Warn, Rule: RuleNotRun, Section: "plans", Object: "base",
			Message: "the plans did not run: seeding the base failed: " + seedErr.Error()})
	} else if r.Plans, err = comparePlans(ctx, basePool, headPool, r); err != nil {
		return nil, err
	}
	if err := o.gate(ctx, r); err != nil {
		return nil, err
	}
	o.logf("review: %s done", since(r.started))
	r.Verdict = r.verdict()
	r.Seconds = time.Since(r.started).Seconds()
	return r, nil
}

// gate runs the mutants of what the change adds or changes, when asked.
func (o Options) gate(ctx context.Context, r *Report) error {
	pattern := GatePattern(r.Catalog)
	switch {
	case pattern == nil:
		return nil
	case o.Gate == nil:
		r.NotRun = append(r.NotRun, "gate: the mutants of the new and changed objects were not run (mentordb review --gate runs them)")
		return nil
	}
	o.logf("review: %s the gate: mutants matching %s", since(r.started), pattern)
	run, err := o.Gate(ctx, pattern)
	if err != nil {
		r.add(Finding{Level: Warn, Rule: RuleNotRun, Section: "gate", Object: "gate", Message: "the gate did not run: " + err.Error()})
		return nil
	}
	r.Gate = judgeGate(run, pattern, r)
	return nil
}

// prepareBase migrates the base and seeds it with PlanScale, so the head,
// a copy of it, holds the same rows: the new migrations apply to tables
// with data, and the plans compare the same data. A seed that fails on the
// base's schema (seedErr) leaves the plans out, not the review.
func prepareBase(ctx context.Context, url string, base Files) (seedErr, err error) {
	if err := migrateTo(ctx, url, base, "", true); err != nil {
		return nil, fmt.Errorf("base: %w", err)
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	return seedForPlans(ctx, pool), nil
}

// buildHead builds a head database from nothing up to version (the
// platform alone when empty) and seeds it as prepareBase seeds the base (a
// seed that fails here shows as the plans' errors).
func buildHead(ctx context.Context, url string, head Files, version string) error {
	if version == "" {
		if err := provision.Apply(ctx, url); err != nil {
			return fmt.Errorf("head: platform: %w", err)
		}
		return nil
	}
	if err := migrateTo(ctx, url, head, version, true); err != nil {
		return fmt.Errorf("head: %w", err)
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	_ = seedForPlans(ctx, pool)
	return nil
}

// migrateTo applies the platform shim (when platform) and files up to
// version (all when empty) with the Go runner.
func migrateTo(ctx context.Context, url string, f Files, version string, platform bool) error {
	if platform {
		if err := provision.Apply(ctx, url); err != nil {
			return fmt.Errorf("platform: %w", err)
		}
	}
	sqlDB, err := openSQL(url)
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	_, err = migrate.New(sqlDB, f.source(version)).Up(ctx)
	return err
}

func openSQL(url string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	return stdlib.OpenDB(*cfg), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
