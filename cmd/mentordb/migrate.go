package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/mentordb/mentordb/db/migrate"
)

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("migrate: want up, down --to VERSION, status or export --dir DIR")
	}
	verb := args[0]
	switch verb {
	case "up", "down", "status":
	case "export":
		return runExport(args[1:], stdout, stderr)
	default:
		return fmt.Errorf("migrate: unknown verb %q (want up, down, status or export)", verb)
	}
	fs := flag.NewFlagSet("migrate "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("database-url", os.Getenv("DATABASE_URL"), "database to migrate (default $DATABASE_URL)")
	to := fs.String("to", "", "down: roll back every migration newer than this version")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("migrate %s: unexpected argument %q", verb, fs.Arg(0))
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
		if *to == "" {
			return errors.New("migrate down: --to VERSION is required (0 rolls back everything)")
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
func runExport(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "the Supabase project's migrations folder, e.g. ./supabase/migrations")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("migrate export: unexpected argument %q", fs.Arg(0))
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
