// Package schemadump turns pg_dump's schema-only output into a stable,
// reviewable form: sql/schema.sql (REV-2), and the catalog delta of
// `mentordb review` (REV-1), which compares two dumps entry by entry.
//
// pg_dump writes one entry per object (a table, a constraint, an index, a
// policy, an ACL, ...), each under a header naming it. Parse keeps those
// entries, in pg_dump's order (by object type, then name, then
// dependencies: the same schema applied the same way dumps the same), and
// drops what varies between runs or servers: the preamble of SET
// statements (and the two it emits before the first table), the version
// lines, the random \restrict key of newer pg_dump releases and the owner (dumps are taken with --no-owner).
package schemadump

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"

	"github.com/mentordb/mentordb/internal/harness/pgserver"
)

// File is the committed schema, relative to the repository root.
const File = "sql/schema.sql"

// Entry is one object of a dump.
type Entry struct {
	Name   string `json:"name"`   // as pg_dump names it: "proxy_activities", "TABLE proxy_activities", "FUNCTION f(a uuid)"
	Type   string `json:"type"`   // TABLE, CONSTRAINT, INDEX, POLICY, ACL, FUNCTION, TRIGGER, ROW SECURITY, COMMENT, ...
	Schema string `json:"schema"` // "-" for objects outside a schema (schemas, extensions)
	SQL    string `json:"sql"`
}

// Key identifies an entry across two dumps.
func (e Entry) Key() string { return e.Type + " " + e.Schema + " " + e.Name }

// Title is the entry as a reader names it: "POLICY public.proxy_activities p",
// "ACL on TABLE public.t" (an ACL's or a comment's name starts with the
// kind of object it is on).
func (e Entry) Title() string {
	if e.Schema == "-" {
		return e.Type + " " + e.Name
	}
	if kind, rest, ok := strings.Cut(e.Name, " "); ok && objectKind.MatchString(kind) {
		return e.Type + " on " + kind + " " + e.Schema + "." + rest
	}
	return e.Type + " " + e.Schema + "." + e.Name
}

// objectKind is an unquoted upper-case word: a kind, never an object's name
// (pg_dump quotes a name with upper-case letters).
var objectKind = regexp.MustCompile(`^[A-Z]+$`)

// Args are pg_dump's options: schema only, no owners, no tablespaces, and
// never the migration runner's history (supabase_migrations is the CLI's,
// and its rows are data).
var Args = []string{"--schema-only", "--no-owner", "--no-tablespaces", "--no-publications",
	"--no-subscriptions", "--no-security-labels", "--exclude-schema=supabase_migrations"}

// Dump runs pg_dump (PostgreSQL 15's, see pgserver.Tool) against the
// database at url and parses its output.
func Dump(ctx context.Context, url string) ([]Entry, error) {
	bin, err := pgserver.Tool("pg_dump")
	if err != nil {
		return nil, fmt.Errorf("pg_dump: %w", err)
	}
	cmd := exec.CommandContext(ctx, bin, append(append([]string{}, Args...), "--dbname", url)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("pg_dump: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return Parse(stdout.String())
}

var header = regexp.MustCompile(`^-- Name: (.+?); Type: (.+?); Schema: (.+?); Owner: .*$`)

// Parse splits pg_dump's plain output into its entries.
func Parse(out string) ([]Entry, error) {
	var entries []Entry
	var body []string
	flush := func() {
		if len(entries) > 0 {
			entries[len(entries)-1].SQL = strings.TrimSpace(strings.Join(body, "\n"))
		}
		body = nil
	}
	lines := strings.Split(out, "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if m := header.FindStringSubmatch(l); m != nil {
			// The header's framing "--" line before it is in body.
			if n := len(body); n > 0 && body[n-1] == "--" {
				body = body[:n-1]
			}
			flush()
			entries = append(entries, Entry{Name: m[1], Type: m[2], Schema: m[3]})
			if i+1 < len(lines) && lines[i+1] == "--" {
				i++
			}
			continue
		}
		switch {
		case strings.HasPrefix(l, `\restrict `), strings.HasPrefix(l, `\unrestrict `),
			// Session settings pg_dump emits between entries (before the
			// first table), not part of any object.
			strings.HasPrefix(l, "SET default_tablespace = "), strings.HasPrefix(l, "SET default_table_access_method = "):
			continue
		case l == "-- PostgreSQL database dump complete":
			// Its framing lines are "--" too.
			if n := len(body); n > 0 && body[n-1] == "--" {
				body = body[:n-1]
			}
			if i+1 < len(lines) && lines[i+1] == "--" {
				i++
			}
			continue
		}
		body = append(body, l)
	}
	flush()
	if len(entries) == 0 {
		return nil, fmt.Errorf("pg_dump wrote no entries")
	}
	return entries, nil
}

// Without returns the entries of full that base does not hold with the same
// key and SQL: the objects a migration added or changed on top of base.
func Without(full, base []Entry) []Entry {
	seen := map[string]string{}
	for _, e := range base {
		seen[e.Key()] = e.SQL
	}
	var out []Entry
	for _, e := range full {
		if sql, ok := seen[e.Key()]; ok && sql == e.SQL {
			continue
		}
		out = append(out, e)
	}
	return out
}

// Render writes entries as sql/schema.sql.
func Render(entries []Entry) []byte {
	var b bytes.Buffer
	b.WriteString(`-- The schema of the fully migrated database, as pg_dump (PostgreSQL 15,
-- --schema-only --no-owner) writes it, one entry per object in pg_dump's
-- order. Generated by make generate (cmd/gen-schema); do not edit. It
-- leaves out what sql/platform creates (the platform shim: roles, auth,
-- extensions), the migration history and owners. Privileges, policies and
-- comments are kept: they are the access surface a reviewer reads.
`)
	for _, e := range entries {
		fmt.Fprintf(&b, "\n-- Name: %s; Type: %s; Schema: %s\n", e.Name, e.Type, e.Schema)
		if e.SQL != "" {
			b.WriteString(e.SQL)
			b.WriteString("\n")
		}
	}
	return b.Bytes()
}

// Schema is sql/schema.sql for a migrated database: its dump without what
// the platform-only database (the shim alone) dumps the same.
func Schema(ctx context.Context, platformURL, migratedURL string) ([]byte, error) {
	base, err := Dump(ctx, platformURL)
	if err != nil {
		return nil, err
	}
	full, err := Dump(ctx, migratedURL)
	if err != nil {
		return nil, err
	}
	return Render(Without(full, base)), nil
}
