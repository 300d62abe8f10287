package supabasecli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// Finding is one advisor result or one plpgsql_check issue.
type Finding struct {
	// Source is "advisors" or "lint".
	Source string
	// Name is the advisor lint's name (unused_index, auth_rls_initplan...) or
	// "plpgsql_check" for db lint.
	Name string
	// Level as the CLI prints it: INFO, WARN or ERROR for advisors; error,
	// warning, "warning extra" or "warning performance" for lint.
	Level string
	// Object is what the finding is about: schema.name from the advisor's
	// metadata, or the linted function (schema.name).
	Object string
	// Title and Detail: the advisor's title and detail; for lint the
	// plpgsql_check message, and the statement/query it points at.
	Title, Detail string
	// Remediation is the advisor's documentation link.
	Remediation string
	Categories  []string // SECURITY, PERFORMANCE (advisors)
	SQLState    string   // lint
	CacheKey    string   // advisors
	Metadata    json.RawMessage
}

func (f Finding) String() string {
	return fmt.Sprintf("%s %s %s [%s]: %s", f.Source, f.Level, f.Name, f.Object, f.Detail)
}

// StatisticsDependent names the advisors whose result depends on the
// database's activity statistics, not on its schema.
//
// unused_index (0005) reports every index that is neither unique nor a
// primary key while pg_stat_user_indexes.idx_scan = 0, which is every such
// index of a freshly migrated database: it fires for the foreign-key indexes
// HACKING.md requires (and removing them makes unindexed_foreign_keys, 0001,
// fire instead). No schema change can clear it; only query traffic can.
var StatisticsDependent = map[string]bool{"unused_index": true}

// SchemaFindings drops the statistics-dependent findings, keeping everything
// the schema itself causes, at every level. EXT-1 is "SchemaFindings of
// Advisors and Lint are empty".
func SchemaFindings(fs []Finding) []Finding {
	out := []Finding{}
	for _, f := range fs {
		if f.Source == "advisors" && StatisticsDependent[f.Name] {
			continue
		}
		out = append(out, f)
	}
	return out
}

// Advisors runs Supabase's security and performance linter (splinter) on
// dbURL, at every level:
//
//	supabase db advisors --remote=<url> --type all --level info --fail-on none \
//	  --workdir <tmp> --agent no --output-format json
//
// The splinter SQL runs on the database itself (no Supabase API call). It
// needs the roles anon and authenticated (has_table_privilege on them);
// auth.users, the extensions schema and pgrst.db_schemas are optional
// (the exposed schemas default to public).
// It returns every finding, unused_index included; see SchemaFindings.
func (c *CLI) Advisors(ctx context.Context, dbURL string) ([]Finding, error) {
	w, err := NewWorkdir("")
	if err != nil {
		return nil, err
	}
	defer w.Close()
	args := []string{"db", "advisors", remote(dbURL), "--type", "all", "--level", "info", "--fail-on", "none"}
	out, err := c.run(ctx, w, args...)
	if err != nil {
		return nil, err
	}
	return parseAdvisors(args, out)
}

// Lint runs plpgsql_check over the PL/pgSQL functions of dbURL, warnings
// included:
//
//	supabase db lint --remote=<url> --level warning --fail-on none [--schema a,b] \
//	  --workdir <tmp> --agent no --output-format json
//
// With no schemas the CLI lints every non-system schema (auth, extensions,
// private, public on our database). The CLI creates the plpgsql_check
// extension inside a transaction it rolls back, so the server needs the
// extension's files (Debian: postgresql-15-plpgsql-check) and the URL's role
// the right to create it; shared_preload_libraries is not needed.
func (c *CLI) Lint(ctx context.Context, dbURL string, schemas ...string) ([]Finding, error) {
	w, err := NewWorkdir("")
	if err != nil {
		return nil, err
	}
	defer w.Close()
	args := []string{"db", "lint", remote(dbURL), "--level", "warning", "--fail-on", "none"}
	if len(schemas) > 0 {
		args = append(args, "--schema", strings.Join(schemas, ","))
	}
	out, err := c.run(ctx, w, args...)
	if err != nil {
		return nil, err
	}
	return parseLint(args, out)
}

type advisorResult struct {
	Name        string          `json:"name"`
	Title       string          `json:"title"`
	Level       string          `json:"level"`
	Facing      string          `json:"facing"`
	Categories  []string        `json:"categories"`
	Description string          `json:"description"`
	Detail      string          `json:"detail"`
	Remediation string          `json:"remediation"`
	Metadata    json.RawMessage `json:"metadata"`
	CacheKey    string          `json:"cacheKey"`
	CacheKey2   string          `json:"cache_key"` // the text-mode spelling
}

func parseAdvisors(args []string, out []byte) ([]Finding, error) {
	var doc struct {
		Results []advisorResult `json:"results"`
	}
	if err := decode(args, out, &doc); err != nil {
		return nil, err
	}
	fs := make([]Finding, 0, len(doc.Results))
	for _, r := range doc.Results {
		var md struct{ Schema, Name string }
		_ = json.Unmarshal(r.Metadata, &md)
		obj := md.Name
		if md.Schema != "" {
			obj = md.Schema + "." + md.Name
		}
		key := r.CacheKey
		if key == "" {
			key = r.CacheKey2
		}
		fs = append(fs, Finding{
			Source: "advisors", Name: r.Name, Level: r.Level, Object: obj,
			Title: r.Title, Detail: r.Detail, Remediation: r.Remediation,
			Categories: r.Categories, CacheKey: key, Metadata: r.Metadata,
		})
	}
	return fs, nil
}

type lintIssue struct {
	Level     string `json:"level"`
	Message   string `json:"message"`
	Detail    string `json:"detail"`
	Hint      string `json:"hint"`
	Context   string `json:"context"`
	SQLState  string `json:"sqlState"`
	Statement *struct {
		LineNumber string `json:"lineNumber"`
		Text       string `json:"text"`
	} `json:"statement"`
	Query *struct {
		Position string `json:"position"`
		Text     string `json:"text"`
	} `json:"query"`
}

func parseLint(args []string, out []byte) ([]Finding, error) {
	var doc struct {
		Results []struct {
			Function string      `json:"function"`
			Issues   []lintIssue `json:"issues"`
		} `json:"results"`
	}
	if err := decode(args, out, &doc); err != nil {
		return nil, err
	}
	fs := []Finding{}
	for _, r := range doc.Results {
		for _, is := range r.Issues {
			detail := is.Message
			if is.Statement != nil {
				detail += fmt.Sprintf(" (line %s, %s)", is.Statement.LineNumber, is.Statement.Text)
			}
			if is.Query != nil && is.Query.Text != "" {
				detail += fmt.Sprintf(": %s", is.Query.Text)
			}
			for _, extra := range []string{is.Detail, is.Hint} {
				if extra != "" {
					detail += "; " + extra
				}
			}
			fs = append(fs, Finding{
				Source: "lint", Name: "plpgsql_check", Level: is.Level, Object: r.Function,
				Title: is.Message, Detail: detail, SQLState: is.SQLState,
			})
		}
	}
	return fs, nil
}
