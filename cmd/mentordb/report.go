package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/mentordb/mentordb/conformance/report"
)

func runReport(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	jsonPath := fs.String("json", "", "write the report as JSON to this file")
	mdPath := fs.String("md", "", "write the report as Markdown to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rep, err := report.Build(stdin)
	if err != nil {
		return err
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
	// The closing line CI systems read: every test and subtest of the run.
	defer fmt.Fprintf(stdout, "tests: %d passed, %d failed, %d skipped\n", rep.Tests[report.Pass], rep.Tests[report.Fail], rep.Tests[report.Skip])
	for _, f := range rep.Failures {
		fmt.Fprintf(stderr, "--- FAIL %s %s\n%s\n", f.Package, f.Test, f.Output)
	}
	if !rep.OK() {
		fmt.Fprintf(stderr, "conformance: %d failed, %d missing, %d unknown IDs\n", rep.Failed, rep.Missing, len(rep.Unknown))
		return exitError{1}
	}
	return nil
}

func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
