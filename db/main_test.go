package db_test

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mentordb/mentordb/internal/harness/pgserver"
	"github.com/mentordb/mentordb/internal/harness/provision"
)

// pool connects, as the superuser that owns the schema, to a database with
// the platform shim and every migration applied; the examples run on it.
var pool *pgxpool.Pool

// TestMain provides the examples' database: a disposable PostgreSQL from the
// conformance provider (CONFORMANCE_DATABASE_URL, else Docker, else local
// binaries). Without one, the examples fail in CI (CI=true) and are left
// out, with the reason printed, elsewhere; the unit tests run either way.
func TestMain(m *testing.M) {
	ctx := context.Background()
	srv, err := start(ctx)
	if err != nil {
		if os.Getenv("CI") == "true" {
			fmt.Fprintf(os.Stderr, "db examples: no PostgreSQL: %v\n", err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "db examples left out, no PostgreSQL: %v\n", err)
		_ = flag.Set("test.run", "^Test")
		os.Exit(m.Run())
	}
	code := m.Run()
	pool.Close()
	if err := srv.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "stop PostgreSQL: %v\n", err)
	}
	os.Exit(code)
}

func start(ctx context.Context) (*pgserver.Server, error) {
	srv, err := pgserver.Start(ctx, pgserver.Options{Logf: func(string, ...any) {}})
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*pgserver.Server, error) {
		_ = srv.Stop()
		return nil, err
	}
	name := "mentordb_examples_" + uuid.NewString()[:8]
	admin, err := pgxpool.New(ctx, srv.URL)
	if err != nil {
		return fail(err)
	}
	_, err = admin.Exec(ctx, "CREATE DATABASE "+name)
	admin.Close()
	if err != nil {
		return fail(err)
	}
	u, err := url.Parse(srv.URL)
	if err != nil {
		return fail(err)
	}
	u.Path = "/" + name
	if err := provision.Prepare(ctx, u.String()); err != nil {
		return fail(err)
	}
	if pool, err = pgxpool.New(ctx, u.String()); err != nil {
		return fail(err)
	}
	// The caller's own table of ExampleDB_Do, next to mentordb's.
	if _, err := pool.Exec(ctx, `CREATE TABLE public.example_outbox (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, event text NOT NULL, ref uuid NOT NULL);
		GRANT INSERT ON public.example_outbox TO authenticated`); err != nil {
		return fail(err)
	}
	return srv, nil
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
