package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/mentordb/mentordb/conformance/mutation"
	"github.com/mentordb/mentordb/conformance/report"
)

const reportUsage = `usage: mentordb report [--json F] [--md F] [--junit F] [--mutants F] [--summary F] < go-test.json
Builds the conformance report from the event stream of 'go test -json' on stdin:
prints it as Markdown and fails (exit 1) unless every requirement passed.
`

func runReport(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("report")
	jsonPath := fs.String("json", "", "write the report as JSON to this file")
	mdPath := fs.String("md", "", "write the report as Markdown to this file")
	junitPath := fs.String("junit", "", "check this JUnit XML file (gotestsum --junitfile, same run) against the stream (same tests, same results) and name the run's server in its root element")
	mutantsPath := fs.String("mutants", "", "the mutation run's JSON (mentordb mutants --json): CONF-4 is judged by it; without it CONF-4 is reported as not run")
	summaryPath := fs.String("summary", os.Getenv("GITHUB_STEP_SUMMARY"), "append a short Markdown summary to this file (default $GITHUB_STEP_SUMMARY)")
	if err := parse(fs, reportUsage, args, stdout); err != nil {
		return err
	}
	rep, err := report.Build(stdin)
	if err != nil {
		return err
	}
	if len(rep.Results) == 0 && len(rep.Failures) == 0 {
		return errors.New("report: no test results on stdin; pipe in the output of 'go test -json', e.g. go test -json ./... | mentordb report")
	}
	if *mutantsPath != "" {
		run, err := mutation.ReadJSON(*mutantsPath)
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		run.Reclassify()
		rep.AttachMutation(run.Report())
	}
	var md bytes.Buffer
	if err := rep.Markdown(&md); err != nil {
		return err
	}
	if _, err := stdout.Write(md.Bytes()); err != nil {
		return err
	}
	if *mdPath != "" {
		if err := writeFile(*mdPath, md.Bytes()); err != nil {
			return err
		}
	}
	if *jsonPath != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := writeFile(*jsonPath, append(b, '\n')); err != nil {
			return err
		}
	}
	if *summaryPath != "" {
		if err := appendSummary(*summaryPath, rep); err != nil {
			return err
		}
	}
	// The closing line CI systems read: every test and subtest of the run.
	defer fmt.Fprintf(stdout, "tests: %d passed, %d failed, %d skipped\n", rep.Tests[report.Pass], rep.Tests[report.Fail], rep.Tests[report.Skip])
	if *junitPath != "" {
		doc, err := os.ReadFile(*junitPath)
		if err != nil {
			return err
		}
		if err := report.CheckJUnit(bytes.NewReader(doc), rep); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s agrees with the JSON stream: %d tests, same results\n", *junitPath, len(rep.Results))
		if srv := rep.Server(); srv != "" {
			if doc, err = report.NameJUnit(doc, srv); err != nil {
				return err
			}
			if err := writeFile(*junitPath, doc); err != nil {
				return err
			}
		}
	}
	for _, f := range rep.Failures {
		fmt.Fprintf(stderr, "--- FAIL %s %s\n%s\n", f.Package, f.Test, f.Output)
	}
	if !rep.OK() {
		return exitError{1, fmt.Sprintf("conformance: %d requirements failed, %d missing, %d unknown IDs; %d tests failed",
			rep.Failed, rep.Missing, len(rep.Unknown), rep.Tests[report.Fail])}
	}
	return nil
}

func appendSummary(path string, rep *report.Report) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("report: summary: %w", err)
	}
	if err := rep.Summary(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
