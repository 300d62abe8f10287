package testdb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Seed is data loaded once into a copy of the migrated template, which
// NewSeeded then clones for every test that asks for it.
type Seed struct {
	// Key names the data: the load's parameters (row counts, random seed),
	// so that a different load never finds this one's template. The code
	// that loads it is named apart (Config.CodeDirs, else the test binary).
	Key  string
	Load func(ctx context.Context, pool *pgxpool.Pool) error

	once  sync.Once
	name  string
	err   error
	built bool // by this process (Main's prebuild or the first NewSeeded)
}

// NewSeeded clones, for t, a copy of the migrated template that s.Load has
// filled once: the first call on a server runs the load on a fresh clone
// and keeps it as a template; every later call, from this test binary or
// from another run of it on the same server (the mutation run starts it
// once per mutant), clones that template, which takes a fraction of a
// second where seeding takes many. A seed listed in Config.Seeds is built
// before the tests and kept in the server's snapshot across runs (see
// Main).
//
// The clone is a migrated database (Hooks.Cloned runs on it, after the
// seed, not on the template).
func NewSeeded(t testing.TB, s *Seed) *DB {
	t.Helper()
	hookStart(t)
	srv := Server(t)
	base := template(t, srv)
	s.once.Do(func() { s.name, s.err = buildSeeded(context.Background(), t.Logf, srv.URL, base, s) })
	if s.err != nil {
		t.Fatalf("seeded template %s: %v", s.Key, s.err)
	}
	return create(t, srv, s.name, true)
}

// buildSeeded finds or builds s's template (see buildOnce). A template it
// builds gets Hooks.Seeded's note as its comment; one it finds hands its
// note to Hooks.Reused.
func buildSeeded(ctx context.Context, logf func(string, ...any), adminURL, base string, s *Seed) (string, error) {
	id, err := codeID()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(base + "\x00" + id + "\x00" + s.Key))
	name := "mentordb_seed_" + hex.EncodeToString(sum[:8])
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	create := fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s STRATEGY FILE_COPY`, name, base)
	err = buildOnce(ctx, adminURL, name, create, func(admin *pgx.Conn) error {
		start := time.Now()
		pool, err := pgxpool.New(ctx, WithDatabase(adminURL, name))
		if err != nil {
			return err
		}
		err = s.Load(ctx, pool)
		pool.Close()
		if err != nil {
			return fmt.Errorf("load: %w", err)
		}
		s.built = true
		logf("seeded template %s (%s) built in %s", name, s.Key, time.Since(start).Round(time.Millisecond))
		if config.Hooks.Seeded == nil {
			return nil
		}
		note, err := config.Hooks.Seeded(ctx, WithDatabase(adminURL, name))
		if err != nil {
			return err
		}
		_, err = admin.Exec(ctx, fmt.Sprintf(`COMMENT ON DATABASE %s IS %s`, name, quoteLiteral(note)))
		return err
	})
	if err != nil || s.built || config.Hooks.Reused == nil {
		return name, err
	}
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", err
	}
	defer admin.Close(context.Background())
	var note string
	if err := admin.QueryRow(ctx, `SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = $1`, name).Scan(&note); err != nil {
		return "", err
	}
	return name, config.Hooks.Reused(note)
}

// quoteLiteral quotes s as an SQL string literal (standard_conforming_strings
// is on in every supported server).
func quoteLiteral(s string) string {
	out := []byte{'\''}
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, '\'')
		}
		out = append(out, s[i])
	}
	return string(append(out, '\''))
}

var (
	codeOnce sync.Once
	codeSum  string
	codeErr  error
)

// codeID names the code that builds the templates: the sources under
// Config.CodeDirs when the repository is at hand, else this test binary's
// content (so a seeded template outlives neither the seed code nor the
// tests that made it).
func codeID() (string, error) {
	codeOnce.Do(func() {
		if sum, ok := sourceHash(config.CodeDirs); ok {
			codeSum = "source " + sum
			return
		}
		codeSum, codeErr = binaryHash()
	})
	return codeSum, codeErr
}

// binaryHash identifies this test binary by its content.
func binaryHash() (string, error) {
	path, err := os.Executable()
	if err != nil {
		return "", err
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return "binary " + hex.EncodeToString(h.Sum(nil)), nil
}
