package db_test

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/mentordb/mentordb/db/migrate"
	"github.com/mentordb/mentordb/db/platform"
)

// envDatabaseURL names a superuser URL of a PostgreSQL the examples may
// create a database on. `make test` and `make unit` pass one by running the
// tests under `mentordb dev --`, which boots a disposable server.
const envDatabaseURL = "MENTORDB_TEST_DATABASE_URL"

// pool connects, as the superuser that owns the schema, to a database with
// the platform shim and every migration applied; the examples run on it.
var pool *pgxpool.Pool

// TestMain provides the examples' database: a fresh one on the server at
// envDatabaseURL, migrated here the way a service migrates (db/platform,
// then db/migrate) and dropped after the run. Without the variable the
// examples fail in CI (CI=true) and are left out elsewhere, saying why; the
// unit tests run either way.
func TestMain(m *testing.M) {
	ctx := context.Background()
	serverURL := os.Getenv(envDatabaseURL)
	if serverURL == "" {
		msg := envDatabaseURL + " is not set; make unit runs these tests with a disposable PostgreSQL (mentordb dev -- go test ./db/...)"
		if os.Getenv("CI") == "true" {
			fmt.Fprintf(os.Stderr, "db examples: %s\n", msg)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "db examples left out: %s\n", msg)
		_ = flag.Set("test.run", "^Test")
		os.Exit(m.Run())
	}
	name := "mentordb_examples_" + uuid.NewString()[:8]
	if err := create(ctx, serverURL, name); err != nil {
		fmt.Fprintf(os.Stderr, "db examples: %v\n", err)
		os.Exit(1)
	}
	code := m.Run()
	pool.Close()
	if err := exec(ctx, serverURL, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
		fmt.Fprintf(os.Stderr, "db examples: %v\n", err)
	}
	os.Exit(code)
}

// create makes database name on the server at serverURL, migrates it and
// opens pool on it.
func create(ctx context.Context, serverURL, name string) error {
	if err := exec(ctx, serverURL, "CREATE DATABASE "+name); err != nil {
		return err
	}
	u, err := url.Parse(serverURL)
	if err != nil {
		return err
	}
	u.Path = "/" + name
	cfg, err := pgx.ParseConfig(u.String())
	if err != nil {
		return err
	}
	sqlDB := stdlib.OpenDB(*cfg)
	defer sqlDB.Close()
	if err := platform.Apply(ctx, sqlDB); err != nil {
		return err
	}
	if _, err := migrate.New(sqlDB, migrate.Default()).Up(ctx); err != nil {
		return err
	}
	if pool, err = pgxpool.New(ctx, u.String()); err != nil {
		return err
	}
	// The caller's own table of ExampleDB_Do, next to mentordb's.
	_, err = pool.Exec(ctx, `CREATE TABLE public.example_outbox (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, event text NOT NULL, ref uuid NOT NULL);
		GRANT INSERT ON public.example_outbox TO authenticated`)
	return err
}

// exec runs one statement on the server's own database.
func exec(ctx context.Context, serverURL, sql string) error {
	c, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	_, err = c.Exec(ctx, sql)
	return err
}

// newUser stands in for Supabase Auth: it creates an account (auth.users
// belongs to the platform, not to mentordb).
func newUser(ctx context.Context) uuid.UUID {
	id := uuid.New()
	if _, err := pool.Exec(ctx, `INSERT INTO auth.users (id, email) VALUES ($1, $2)`, id, id.String()+"@example.test"); err != nil {
		panic(err)
	}
	return id
}
