package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mentordb/mentordb/cmd/internal/bench"
)

const benchUsage = `usage: mentordb bench [--out docs/benchmarks.md] [--skip-conformance] [--orgs N] [--activities-per-org M] [--growth-orgs G] [--only pause|brin|wire|insert]
Measures the performance targets of DESIGN.md on a disposable PostgreSQL and writes the report.
`

// runBench implements `mentordb bench` (and `make bench`): boot a disposable
// PostgreSQL, seed it, measure every performance target of DESIGN.md as a
// side-by-side ratio, print the table and write the report.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench")
	out := fs.String("out", "", "write the Markdown report here")
	skipConf := fs.Bool("skip-conformance", false, "do not time the conformance suite")
	confCmd := fs.String("conformance-cmd", "make conformance", "command whose wall time is the conformance figure")
	orgs := fs.Int("orgs", 0, "organisations of the base data set (0: 10, or 1 with --only insert)")
	perOrg := fs.Int("activities-per-org", 100_000, "proxy activities per organisation")
	growth := fs.Int("growth-orgs", 40, "organisations added for the growth figure (0: skip it)")
	seedVal := fs.Int64("seed", 1, "seed of the data")
	only := fs.String("only", "", "measure only this figure (pause, brin, wire or insert); implies --skip-conformance and no growth figure")
	if err := parse(fs, benchUsage, args, stdout); err != nil {
		return err
	}
	opts := bench.Options{
		Seed:             *seedVal,
		Orgs:             *orgs,
		ActivitiesPerOrg: *perOrg,
		GrowthOrgs:       *growth,
		ConformanceCmd:   strings.Fields(*confCmd),
		SkipConformance:  *skipConf,
		Only:             *only,
		Logf: func(format string, args ...any) {
			fmt.Fprintf(stderr, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
		},
	}
	if *growth == 0 {
		opts.GrowthOrgs = -1
	}
	res, err := bench.Run(ctx, opts)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	res.PrintTable(stdout)
	if *out != "" {
		if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(*out, []byte(res.Markdown(bench.Notes(res))), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", *out)
	}
	return nil
}
