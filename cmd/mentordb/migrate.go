package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/mentordb/mentordb/db/migrate"
)

const migrateUsage = `usage: mentordb migrate VERB [flags]

  up                  apply every pending migration
  down --to VERSION   roll back every migration newer than VERSION (0: all);
                      --yes is required when the database holds rows
  status              list every migration and whether it is applied
  export --dir DIR    write the migrations into a Supabase project's
                      supabase/migrations (for supabase db push)

'mentordb migrate VERB -h' lists the flags of a verb.
`

// verbUsage is each verb's first usage line; its flags follow.
var verbUsage = map[string]string{
	"up":     "usage: mentordb migrate up [--database-url URL]\nApplies every pending migration, each in its own transaction.\n",
	"down":   "usage: mentordb migrate down --to VERSION [--yes] [--database-url URL]\nRolls back every applied migration newer than VERSION (0: all of them), newest first.\n",
	"export": "usage: mentordb migrate export --dir DIR\nWrites the embedded migrations into a Supabase project's migrations folder, for supabase db push.\n",
	"status": "usage: mentordb migrate status [--database-url URL]\nLists every migration known to this binary or recorded in the database.\n",
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("migrate: want a verb: up, down, status or export (see mentordb migrate -h)")
	}
	verb := args[0]
	if isHelp(verb) {
		fmt.Fprint(stdout, migrateUsage)
		return flag.ErrHelp
	}
	if verb == "export" {
		return runExport(args[1:], stdout)
	}
	if _, ok := verbUsage[verb]; !ok {
		return fmt.Errorf("migrate: unknown verb %q (want up, down, status or export; see mentordb migrate -h)", verb)
	}
	fs := newFlags("migrate " + verb)
	url := fs.String("database-url", os.Getenv("DATABASE_URL"), "database to migrate (default $DATABASE_URL)")
	var to *string
	var yes *bool
	if verb == "down" {
		to = fs.String("to", "", "roll back every migration newer than this version (0: all)")
		yes = fs.Bool("yes", false, "roll back even though the database holds rows (they are lost with the tables)")
	}
	if err := parse(fs, verbUsage[verb], args[1:], stdout); err != nil {
		return err
	}
	if verb == "down" && *to == "" {
		return errors.New("migrate down: --to VERSION is required (0 rolls back everything)")
	}
	if *url == "" {
		return errors.New("migrate: no database: give --database-url or set DATABASE_URL")
	}
	sqlDB, err := openDB(ctx, *url)
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	runner := migrate.New(sqlDB, migrate.Default())

	switch verb {
	case "up":
		done, err := runner.Up(ctx)
		for _, m := range done {
			fmt.Fprintf(stdout, "applied %s\n", m.File)
		}
		if err == nil && len(done) == 0 {
			fmt.Fprintln(stdout, "up to date")
		}
		return err
	case "down":
		newer, err := appliedAfter(ctx, runner, *to)
		if err != nil {
			return err
		}
		if len(newer) == 0 {
			fmt.Fprintf(stdout, "nothing to roll back: no applied migration is newer than %s\n", *to)
			return nil
		}
		if !*yes {
			tables, err := tablesWithRows(ctx, sqlDB)
			if err != nil {
				return err
			}
			if len(tables) > 0 {
				return fmt.Errorf("migrate down: rolling back %d migration(s) (%s ... %s) may drop tables that hold rows (%s); run again with --yes to proceed",
					len(newer), newer[len(newer)-1], newer[0], strings.Join(tables, ", "))
			}
		}
		done, err := runner.Down(ctx, *to)
		for _, m := range done {
			fmt.Fprintf(stdout, "rolled back %s\n", m.File)
		}
		return err
	case "status":
		st, err := runner.Status(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "VERSION\tNAME\tSTATE")
		for _, s := range st {
			fmt.Fprintf(w, "%s\t%s\t%s\n", s.Version, s.Name, state(s))
		}
		return w.Flush()
	}
	panic("unreachable")
}

// appliedAfter returns the applied versions newer than to, newest first:
// what down would roll back. A version that is not a number is left for
// the runner to refuse.
func appliedAfter(ctx context.Context, runner *migrate.Runner, to string) ([]string, error) {
	st, err := runner.Status(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for i := len(st) - 1; i >= 0; i-- {
		if st[i].Applied && !st[i].Foreign && newerVersion(st[i].Version, to) {
			out = append(out, st[i].Version)
		}
	}
	return out, nil
}

// newerVersion compares two all-digit versions numerically ("9" < "10").
func newerVersion(v, than string) bool {
	v, than = strings.TrimLeft(v, "0"), strings.TrimLeft(than, "0")
	if len(v) != len(than) {
		return len(v) > len(than)
	}
	return v > than
}

// tablesWithRows lists the tables of schema public that hold at least one
// row: what a rollback could destroy.
func tablesWithRows(ctx context.Context, sqlDB *sql.DB) ([]string, error) {
	rows, err := sqlDB.QueryContext(ctx, `SELECT format('%I.%I', schemaname, relname) FROM pg_stat_user_tables WHERE schemaname = 'public' ORDER BY relname`)
	if err != nil {
		return nil, fmt.Errorf("migrate down: list tables: %w", err)
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return nil, err
		}
		tables = append(tables, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var full []string
	for _, t := range tables {
		var has bool
		if err := sqlDB.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+t+`)`).Scan(&has); err != nil {
			return nil, fmt.Errorf("migrate down: read %s: %w", t, err)
		}
		if has {
			full = append(full, strings.TrimPrefix(t, "public."))
		}
	}
	return full, nil
}

func state(s migrate.Status) string {
	switch {
	case s.Foreign:
		return "applied, not mentordb's (left alone)"
	case s.Retired:
		return "applied, NO LONGER SHIPPED by this binary"
	case s.Changed:
		return "applied, FILE CHANGED since"
	case s.Applied:
		return "applied"
	}
	return "pending"
}

// runExport writes the embedded migrations into a Supabase project's
// migrations folder, for teams that deploy with `supabase db push`.
func runExport(args []string, stdout io.Writer) error {
	fs := newFlags("migrate export")
	dir := fs.String("dir", "", "the Supabase project's migrations folder, e.g. ./supabase/migrations")
	if err := parse(fs, verbUsage["export"], args, stdout); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("migrate export: --dir is required (your project's supabase/migrations)")
	}
	written, err := migrate.Export(migrate.Default(), *dir)
	if err != nil {
		return err
	}
	for _, f := range written {
		fmt.Fprintf(stdout, "wrote %s\n", f)
	}
	if len(written) == 0 {
		fmt.Fprintln(stdout, "up to date")
	}
	return nil
}

// openDB connects and pings, so an unreachable database is one clear line
// instead of an error from deep inside the first migration.
func openDB(ctx context.Context, url string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("bad database url: %w", err)
	}
	sqlDB := stdlib.OpenDB(*cfg)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pingCtx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("cannot reach database: %w", err)
	}
	return sqlDB, nil
}
