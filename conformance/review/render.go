package review

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// JSON is review.json (docs/review.md describes its fields).
func (r *Report) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Markdown is review.md: each section only when it has something to say.
func (r *Report) Markdown() []byte {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Schema review\n\n")
	p("**%s**: %d fail, %d warn. Base %s, head %s", strings.ToUpper(string(r.Verdict)), r.Count(Fail), r.Count(Warn), r.Base, r.Head)
	if len(r.NewMigrations) > 0 {
		p("; new migrations: %s", strings.Join(quoteAll(r.NewMigrations), ", "))
	}
	p(". Reviewed in %.0f s.", r.Seconds)
	if pl := r.Plans; !pl.empty() && !pl.changed() {
		p(" The plans of %d key queries are unchanged (%s).", len(pl.Queries), pl.Scale)
	}
	p("\n\n")

	var judged []Finding
	for _, f := range r.Findings {
		if f.Level == Fail || f.Level == Warn {
			judged = append(judged, f)
		}
	}
	if len(judged) > 0 {
		p("## Findings\n\n| level | rule | object | what |\n|---|---|---|---|\n")
		for _, f := range judged {
			p("| %s | %s | `%s` | %s |\n", f.Level, f.Rule, cell(f.Object), cell(f.Message))
		}
		p("\n")
	}

	if a := r.Access; !a.empty() {
		p("## Access delta\n\nThe access matrix (%d cells: actor × operation × object, `conformance/access`) run on both sides as PostgREST-equivalent requests, judged by the head's access spec.\n\n", a.Cells)
		for _, s := range a.NotBuilt {
			p("- not run on the %s\n", s)
		}
		if len(a.NotBuilt) > 0 {
			p("\n")
		}
		if len(a.Changed) > 0 {
			p("| object | operation | actor | base | head | change | spec | responsible |\n|---|---|---|---|---|---|---|---|\n")
			for _, c := range a.Changed {
				spec := "**not declared**"
				if c.Declared {
					spec = "declared (intended)"
				}
				p("| `%s` | %s | %s | %s | %s | %s | %s | %s |\n", c.Object, cell(c.Probe), c.Actor, c.Base, c.Head, c.Change, spec, cell(strings.Join(c.Responsible, "; ")))
			}
			p("\n")
		}
		if len(a.Grants) > 0 {
			p("Privileges, policies and RLS (catalog):\n\n")
			for _, g := range a.Grants {
				spec := "**not declared**"
				if g.Declared {
					spec = "as the spec declares"
				}
				p("- %s `%s` (%s)\n", g.Change, g.Fact, spec)
			}
			p("\n")
		}
		if len(a.Unknown) > 0 {
			p("Exposed objects with no row in the access spec: %s\n\n", strings.Join(quoteAll(a.Unknown), ", "))
		}
	}

	if c := r.Catalog; !c.empty() {
		p("## Catalog delta\n\n")
		for _, e := range c.Added {
			p("**added** %s\n\n```sql\n%s\n```\n\n", e.Title(), e.SQL)
		}
		for _, e := range c.Dropped {
			p("**dropped** %s\n\n```sql\n%s\n```\n\n", e.Title(), e.SQL)
		}
		for _, ch := range c.Changed {
			p("**changed** %s\n\n```diff\n%s```\n\n", ch.Title(), lineDiff(ch.Base, ch.Head))
		}
	}

	if len(r.Risk) > 0 {
		p("## Deployment risk\n\n")
		for _, fr := range r.Risk {
			p("### `%s`\n\nRollback: **%s**.", fr.File, fr.Rollback)
			if fr.Error != "" {
				p(" %s.", fr.Error)
			}
			p("\n\n")
			if len(fr.Locks) == 0 {
				p("Takes no lock on an existing table.\n\n")
			} else {
				p("Locks on existing tables (measured: each statement run in a rolled-back transaction, pg_locks read after it):\n\n| # | statement | table | lock | blocks |\n|---|---|---|---|---|\n")
				for _, l := range fr.Locks {
					p("| %d | `%s` | `%s` | %s | %s |\n", l.Statement, cell(l.SQL), l.Table, l.Mode, l.Blocks)
				}
				p("\n")
			}
			if len(fr.Squawk) > 0 {
				p("squawk:\n\n")
				for _, s := range fr.Squawk {
					p("- %s line %d `%s`: %s\n", s.File, s.Line, s.Rule, s.Message)
				}
				p("\n")
			}
		}
	}

	if pl := r.Plans; pl.changed() {
		p("## Plans\n\nThe key queries, as gen sends them, planned (EXPLAIN) on both sides on the same seeded data: %s.\n\n", pl.Scale)
		p("| query | as | base | head | cost head/base |\n|---|---|---|---|---|\n")
		for _, q := range pl.Queries {
			p("| %s | %s | %s | %s | %.2f |\n", q.Query, q.As, cell(q.Base.String()), cell(q.Head.String()), q.CostRatio)
		}
		p("\n")
	}

	if g := r.Gate; g != nil && len(g.Mutants) > 0 {
		count := map[string]int{}
		for _, m := range g.Mutants {
			count[m.Status]++
		}
		p("## Gate\n\n%d mutants of the new and changed objects, run against the branch's conformance matrix (CONF-4): %d killed, %d equivalent, %d survived, %d only snapshot tests noticed, %d not run.\n\n",
			len(g.Mutants), count["killed"], count["equivalent"], count["survived"], count["snapshot-only"], count["error"])
		p("<details><summary>every mutant (selected by <code>%s</code>)</summary>\n\n| mutant | status | killed by |\n|---|---|---|\n", html(g.Pattern))
		for _, m := range g.Mutants {
			by := ""
			if len(m.KilledBy) > 0 {
				by = "`" + m.KilledBy[0] + "`"
				if len(m.KilledBy) > 1 {
					by += fmt.Sprintf(" and %d more", len(m.KilledBy)-1)
				}
			}
			if m.Error != "" {
				by = cell(m.Error)
			}
			p("| `%s` | %s | %s |\n", m.ID, m.Status, by)
		}
		p("\n</details>\n\n")
	}

	if len(r.NotRun) > 0 {
		p("## Not run\n\n")
		for _, n := range r.NotRun {
			p("- %s\n", n)
		}
	}
	return b.Bytes()
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = "`" + s + "`"
	}
	return out
}

// html escapes text for an HTML element of the summary.
func html(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// cell makes text safe inside a Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

// lineDiff is a unified-style line diff (longest common subsequence) of
// two small texts, every line prefixed with "-", "+" or " ".
func lineDiff(a, b string) string {
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	n, m := len(x), len(y)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && x[i] == y[j]:
			out.WriteString("  " + x[i] + "\n")
			i, j = i+1, j+1
		case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
			out.WriteString("+ " + y[j] + "\n")
			j++
		default:
			out.WriteString("- " + x[i] + "\n")
			i++
		}
	}
	return out.String()
}
