package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/mentordb/mentordb/conformance/access"
	"github.com/mentordb/mentordb/conformance/mutation"
	"github.com/mentordb/mentordb/conformance/review"
	"github.com/mentordb/mentordb/conformance/squawk"
	"github.com/mentordb/mentordb/internal/harness/pgserver"
)

const reviewUsage = `usage: mentordb review --base REF [--gate] [--out DIR] [--summary F] [-v]
Reviews the schema change between the git ref REF and the working tree
(REV-1): builds both schemas on two databases of one disposable PostgreSQL,
compares access-matrix cells, grants, the catalog, and the new migration
files' locks, rollbacks and squawk findings. Writes DIR/review.md and
DIR/review.json (docs/review.md); appends review.md to --summary. --gate
also runs the mutants of the new and changed objects against the working
tree's conformance matrix (CONF-4; minutes: the matrix runs once unmutated
first). Exits 1
when the change loses a guarantee (a fail finding), 0 otherwise (warnings
included). Run it from the repository; REF's history must be fetched.

`

func runReview(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("review")
	base := fs.String("base", "", "the git ref to compare with (required): a branch, a tag, a commit")
	out := fs.String("out", "conformance/out", "directory for review.md and review.json")
	summary := fs.String("summary", os.Getenv("GITHUB_STEP_SUMMARY"), "append review.md to this file (default $GITHUB_STEP_SUMMARY)")
	verbose := fs.Bool("v", false, "log progress")
	gate := fs.Bool("gate", false, "run the mutants of the new and changed objects against the working tree's tests")
	if err := parse(fs, reviewUsage, args, stdout); err != nil {
		return err
	}
	if *base == "" {
		return fmt.Errorf("review: --base is required (see mentordb review -h)")
	}
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return fmt.Errorf("review: not in a git repository: %w", err)
	}
	root := strings.TrimSpace(string(top))
	baseFiles, err := review.FromGit(root, *base)
	if err != nil {
		return fmt.Errorf("review: %w", err)
	}
	headFiles, err := review.FromFS("working tree", os.DirFS(filepath.Join(root, "sql", "migrations")), os.DirFS(filepath.Join(root, "sql", "rollback")))
	if err != nil {
		return fmt.Errorf("review: %w", err)
	}
	logf := func(string, ...any) {}
	if *verbose {
		logf = func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) }
	}
	o := review.Options{Base: baseFiles, Head: headFiles, Spec: &access.Matrix, Logf: logf,
		SquawkConfigDir: filepath.Join(root, "conformance", "squawk")}
	if o.Squawk, err = squawk.Find(); err != nil {
		if os.Getenv("CI") == "true" {
			return fmt.Errorf("review: %w", err)
		}
		o.SquawkMissing = err.Error()
	}
	if *gate {
		o.Gate = gateRunner(root, *out, logf, stderr)
	}
	srv, err := pgserver.Start(ctx, pgserver.Options{Logf: logf})
	if err != nil {
		return fmt.Errorf("review: %w", err)
	}
	defer srv.Stop() //nolint:errcheck // a server that does not stop leaves a temporary directory, not a wrong review
	o.AdminURL = srv.URL
	rep, err := review.Run(ctx, o)
	if err != nil {
		return fmt.Errorf("review: %w", err)
	}
	md := rep.Markdown()
	js, err := rep.JSON()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	for name, b := range map[string][]byte{"review.md": md, "review.json": js} {
		if err := os.WriteFile(filepath.Join(*out, name), b, 0o644); err != nil {
			return err
		}
	}
	if *summary != "" {
		f, err := os.OpenFile(*summary, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("review: summary: %w", err)
		}
		_, werr := f.Write(md)
		if err := f.Close(); werr == nil {
			werr = err
		}
		if werr != nil {
			return fmt.Errorf("review: summary: %w", werr)
		}
	}
	fmt.Fprintf(stdout, "review: %s (%d fail, %d warn); %s\n", rep.Verdict, rep.Count(review.Fail), rep.Count(review.Warn), filepath.Join(*out, "review.md"))
	if rep.Verdict == review.Fail {
		return exitError{code: 1, msg: "review: the change loses a guarantee (see the fail findings)"}
	}
	return nil
}

// gateRunner compiles the working tree's conformance test binary (as
// mentordb mutants does) and runs the mutation run restricted to only.
func gateRunner(root, out string, logf func(string, ...any), stderr io.Writer) review.GateRunner {
	return func(ctx context.Context, only *regexp.Regexp) (*mutation.Run, error) {
		work, err := filepath.Abs(out)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(work, 0o755); err != nil {
			return nil, err
		}
		bin := filepath.Join(work, "conformance.test")
		dir := filepath.Join(root, "conformance")
		build := exec.CommandContext(ctx, "go", "test", "-c", "-o", bin, ".")
		build.Dir = dir
		build.Stdout, build.Stderr = stderr, stderr
		if err := build.Run(); err != nil {
			return nil, fmt.Errorf("build the conformance test binary: %w", err)
		}
		return mutation.Execute(ctx, mutation.Options{Binary: bin, Dir: dir, Workers: 2, Only: only,
			TestTimeout: 3 * time.Minute, Work: work, Logf: logf})
	}
}
