// Command gen-schema writes sql/schema.sql (REV-2): pg_dump's schema of a
// freshly migrated database, normalised by package
// internal/harness/schemadump, without what the platform shim alone
// creates. It boots a disposable PostgreSQL the way the conformance suite
// does (CONFORMANCE_DATABASE_URL, else Docker, else local binaries) and
// needs PostgreSQL 15's pg_dump. `make generate` runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"

	"github.com/jackc/pgx/v5"

	"github.com/mentordb/mentordb/internal/harness/pgserver"
	"github.com/mentordb/mentordb/internal/harness/provision"
	"github.com/mentordb/mentordb/internal/harness/schemadump"
)

func main() {
	out := flag.String("out", schemadump.File, "file to write")
	flag.Parse()
	if err := run(context.Background(), *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen-schema:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out string) (err error) {
	srv, err := pgserver.Start(ctx, pgserver.Options{Logf: func(string, ...any) {}})
	if err != nil {
		return err
	}
	defer func() {
		if serr := srv.Stop(); serr != nil && err == nil {
			err = serr
		}
	}()
	admin, err := pgx.Connect(ctx, srv.URL)
	if err != nil {
		return err
	}
	defer admin.Close(ctx)
	// Databases of its own, so a shared CONFORMANCE_DATABASE_URL server is
	// left as it was: one with the platform shim alone, one migrated.
	var urls []string
	for _, kind := range []string{"platform", "migrated"} {
		name := fmt.Sprintf("mentordb_schema_%s_%d", kind, os.Getpid())
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
			return err
		}
		defer func() {
			if _, derr := admin.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); derr != nil && err == nil {
				err = derr
			}
		}()
		u, err := url.Parse(srv.URL)
		if err != nil {
			return err
		}
		u.Path = "/" + name
		urls = append(urls, u.String())
	}
	if err := provision.Apply(ctx, urls[0]); err != nil {
		return fmt.Errorf("platform: %w", err)
	}
	if err := provision.Prepare(ctx, urls[1]); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	src, err := schemadump.Schema(ctx, urls[0], urls[1])
	if err != nil {
		return err
	}
	return os.WriteFile(out, src, 0o644)
}
