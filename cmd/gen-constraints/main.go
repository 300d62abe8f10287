// Command gen-constraints writes db/constraints_gen.go from the catalog of a
// freshly migrated database: it boots a disposable PostgreSQL the way the
// conformance suite does (CONFORMANCE_DATABASE_URL, else Docker, else local
// binaries), applies the platform shim and every migration with the Go
// runner, reads the names (package internal/harness/constraintgen) and writes them.
// `make generate` runs it after sqlc.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"

	"github.com/jackc/pgx/v5"

	"github.com/mentordb/mentordb/internal/harness/constraintgen"
	"github.com/mentordb/mentordb/internal/harness/pgserver"
	"github.com/mentordb/mentordb/internal/harness/provision"
)

func main() {
	out := flag.String("out", constraintgen.File, "file to write")
	flag.Parse()
	if err := run(context.Background(), *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen-constraints:", err)
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
	// A database of its own, so a shared CONFORMANCE_DATABASE_URL server is
	// left as it was.
	name := fmt.Sprintf("mentordb_gen_%d", os.Getpid())
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close(ctx)
		return err
	}
	defer func() {
		_, derr := admin.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)")
		admin.Close(ctx)
		if derr != nil && err == nil {
			err = derr
		}
	}()
	u, err := url.Parse(srv.URL)
	if err != nil {
		return err
	}
	u.Path = "/" + name
	if err := provision.Prepare(ctx, u.String()); err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	cat, err := constraintgen.Read(ctx, conn)
	if err != nil {
		return err
	}
	src, err := constraintgen.Render(cat)
	if err != nil {
		return err
	}
	return os.WriteFile(out, src, 0o644)
}
