package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Markdown writes the report as a table reviewers can read: requirement,
// result, and the tests that prove it.
func (r *Report) Markdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Conformance report\n\n")
	if srv := r.Server(); srv != "" {
		fmt.Fprintf(&b, "Server: %s\n\n", srv)
	}
	fmt.Fprintf(&b, "%d requirements: %d pass, %d fail, %d missing, %d not run.\n\n", len(r.Rows), r.Passed, r.Failed, r.Missing, r.NotRun)
	b.WriteString("| ID | result | requirement | tests |\n|---|---|---|---|\n")
	for _, row := range r.Rows {
		names := make([]string, 0, len(row.Tests))
		if row.Note != "" {
			names = append(names, escape(row.Note))
		}
		for _, t := range row.Tests {
			names = append(names, fmt.Sprintf("`%s` (%s)", t.Name, t.Result))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", row.ID, mark(row.Result), escape(row.Text), strings.Join(names, "<br>"))
	}
	if len(r.Metrics) > 0 {
		b.WriteString("\n## Measurements\n\n| metric | value |\n|---|---|\n")
		keys := make([]string, 0, len(r.Metrics))
		for k := range r.Metrics {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "| %s | %s |\n", k, escape(r.Metrics[k]))
		}
	}
	if r.Mutation != nil {
		r.Mutation.markdown(&b)
	}
	if len(r.Unknown) > 0 {
		fmt.Fprintf(&b, "\nTests name IDs that DESIGN.md does not define: %s\n", strings.Join(r.Unknown, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Server is the run's servers on one line ("" when no test binary named
// one): the version and provider of each.
func (r *Report) Server() string { return strings.Join(r.Servers, "; ") }

func mark(result string) string {
	switch result {
	case Pass:
		return "PASS"
	case Fail:
		return "**FAIL**"
	case Skip:
		return "**SKIPPED**"
	case NotRun:
		return "NOT RUN"
	}
	return "**MISSING**"
}

func escape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// Summary writes the few lines a CI job page shows (GitHub's
// $GITHUB_STEP_SUMMARY): the verdict, the counts, the requirements that did
// not pass and up to 20 failing tests. The full table stays in Markdown.
func (r *Report) Summary(w io.Writer) error {
	var b strings.Builder
	verdict := "passed"
	if !r.OK() {
		verdict = "FAILED"
	}
	fmt.Fprintf(&b, "### Conformance %s\n\n", verdict)
	if srv := r.Server(); srv != "" {
		fmt.Fprintf(&b, "- server: %s\n", escape(srv))
	}
	fmt.Fprintf(&b, "- %d requirements: %d pass, %d fail, %d missing\n", len(r.Rows), r.Passed, r.Failed, r.Missing)
	fmt.Fprintf(&b, "- tests: %d passed, %d failed, %d skipped\n", r.Tests[Pass], r.Tests[Fail], r.Tests[Skip])
	for _, row := range r.Rows {
		if row.Result != Pass {
			fmt.Fprintf(&b, "- %s %s: %s\n", mark(row.Result), row.ID, escape(row.Text))
			if row.Note != "" {
				fmt.Fprintf(&b, "  (%s)\n", escape(row.Note))
			}
		}
	}
	if len(r.Unknown) > 0 {
		fmt.Fprintf(&b, "- unknown IDs in test names: %s\n", strings.Join(r.Unknown, ", "))
	}
	n := 0
	for _, f := range r.Failures {
		if n == 20 {
			fmt.Fprintf(&b, "- ... %d more failures\n", len(r.Failures)-n)
			break
		}
		name := f.Test
		if name == "" {
			name = "(package)"
		}
		fmt.Fprintf(&b, "- failed: `%s` %s\n", f.Package, escape(name))
		n++
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}
