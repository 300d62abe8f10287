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
	fmt.Fprintf(&b, "%d requirements: %d pass, %d fail, %d missing.\n\n", len(r.Rows), r.Passed, r.Failed, r.Missing)
	b.WriteString("| ID | result | requirement | tests |\n|---|---|---|---|\n")
	for _, row := range r.Rows {
		names := make([]string, 0, len(row.Tests))
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
	if len(r.Unknown) > 0 {
		fmt.Fprintf(&b, "\nTests name IDs that DESIGN.md does not define: %s\n", strings.Join(r.Unknown, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mark(result string) string {
	switch result {
	case Pass:
		return "PASS"
	case Fail:
		return "**FAIL**"
	case Skip:
		return "**SKIPPED**"
	}
	return "**MISSING**"
}

func escape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
