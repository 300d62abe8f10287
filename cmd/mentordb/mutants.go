package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/mentordb/mentordb/conformance/mutation"
)

// runMutants is `mentordb mutants`: the mutation run of CONF-4. It compiles
// the conformance test binary once and runs it for every mutant.
func runMutants(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mutants", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("json", "conformance/out/mutants.json", "write the run to this file")
	workers := fs.Int("workers", 3, "mutants run at once")
	fallback := fs.Bool("fallback", false, "run the whole matrix for a mutant that no selected test killed (checks the selection; slow)")
	only := fs.String("only", "", "run only the mutants whose ID matches this regexp (development; the gate then fails)")
	verbose := fs.Bool("v", false, "log every mutant")
	pending := fs.Bool("pending", false, "also generate the families not yet in the gate (mutation.Pending; development: the gate then fails)")
	list := fs.Bool("list", false, "print the mutants the migrated schema yields (and why a mutant is equivalent), run nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *list {
		mutants, err := mutation.List(ctx, *pending)
		if err != nil {
			return err
		}
		for _, m := range mutants {
			if e := mutation.EquivalenceOf(m.ID); e != nil {
				fmt.Fprintf(stdout, "%s\tequivalent for %s (pinned by %s): %s\n", m.ID,
					strings.Join(mutation.CallerNames(e.Callers), ", "), strings.Join(e.Pins, "; "), e.Reason)
			} else if why, ok := mutation.Pending[m.Family]; ok {
				fmt.Fprintf(stdout, "%s\tpending: %s\n", m.ID, why)
			} else {
				fmt.Fprintf(stdout, "%s\n", m.ID)
			}
		}
		fmt.Fprintf(stderr, "%d mutants\n", len(mutants))
		return nil
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	work, err := filepath.Abs(filepath.Dir(*out))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	bin := filepath.Join(work, "conformance.test")
	dir, err := filepath.Abs("conformance")
	if err != nil {
		return err
	}
	// One compilation for every run of the matrix, in the conformance
	// module's directory, so it builds with or without the workspace.
	build := exec.CommandContext(ctx, "go", "test", "-c", "-o", bin, ".")
	build.Dir = dir
	build.Stdout, build.Stderr = stderr, stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build the conformance test binary: %w", err)
	}
	opts := mutation.Options{Binary: bin, Dir: dir, Workers: *workers, Fallback: *fallback, Pending: *pending,
		TestTimeout: 3 * time.Minute, Work: work, Progress: *out + ".partial"}
	if *only != "" {
		if opts.Only, err = regexp.Compile(*only); err != nil {
			return err
		}
	}
	opts.Logf = func(format string, args ...any) {
		if *verbose {
			fmt.Fprintf(stderr, format+"\n", args...)
		}
	}
	run, err := mutation.Execute(ctx, opts)
	if err != nil {
		return err
	}
	if err := run.WriteJSON(*out); err != nil {
		return err
	}
	run.Text(stdout)
	if !run.OK() {
		t := run.Total()
		return exitError{1, fmt.Sprintf("mutants: %d survived, %d killed only by snapshot tests, %d runner errors", t.Survived, t.SnapshotOnly, t.Errors)}
	}
	return nil
}
