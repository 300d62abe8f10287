// Package provision prepares a plain PostgreSQL database the way a Supabase
// project is: the platform shim of sql/platform, then every migration by the
// Go runner. The conformance templates and `mentordb dev` both use it, so
// tests and developers see the same schema.
package provision

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"sort"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/mentordb/mentordb/db/migrate"
	"github.com/mentordb/mentordb/db/platform"
	schema "github.com/mentordb/mentordb/sql"
)

// Hash identifies the schema a template holds: the platform shim and every
// migration, names and bytes. A change to any of them builds a new template
// instead of reusing a stale one.
func Hash() (string, error) {
	h := sha256.New()
	for _, src := range []struct {
		fsys fs.FS
		dir  string
	}{{schema.Platform, "platform"}, {schema.Migrations, "migrations"}} {
		names, err := fs.Glob(src.fsys, src.dir+"/*.sql")
		if err != nil {
			return "", err
		}
		sort.Strings(names)
		for _, n := range names {
			b, err := fs.ReadFile(src.fsys, n)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(h, "%s\x00%d\x00", n, len(b))
			h.Write(b)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// Apply applies the platform shim alone to the database at url, through
// package db/platform (the one copy of it that service code uses too).
func Apply(ctx context.Context, url string) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return err
	}
	sqlDB := stdlib.OpenDB(*cfg)
	defer sqlDB.Close()
	return platform.Apply(ctx, sqlDB)
}

// Prepare applies the platform shim and then every migration with the Go
// runner to the database at url. It is what a template holds, and what
// `mentordb dev` gives a developer.
func Prepare(ctx context.Context, url string) error {
	if err := Apply(ctx, url); err != nil {
		return err
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return err
	}
	sqlDB := stdlib.OpenDB(*cfg)
	defer sqlDB.Close()
	_, err = migrate.New(sqlDB, migrate.Default()).Up(ctx)
	return err
}

// CodeDirs are the directories, relative to the repository root, whose code
// builds what Prepare makes: the platform shim's and the migrations'
// runners, and this package (testdb.Config.CodeDirs).
var CodeDirs = []string{"db/migrate", "db/platform", "internal/harness/provision"}

// Migrator is Hash and Prepare for a template builder (testdb.Config).
type Migrator struct{}

func (Migrator) Hash() (string, error)                         { return Hash() }
func (Migrator) Migrate(ctx context.Context, url string) error { return Prepare(ctx, url) }
