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

	"github.com/jackc/pgx/v5/pgxpool"
)

// NewSeeded clones, for t, a copy of the migrated template that load has
// filled once: the first call with key on a server runs load on a fresh
// clone and keeps it as a template; every later call, from this test binary
// or from another run of the same binary on the same server (the mutation
// run starts it once per mutant), clones that template, which takes a
// fraction of a second where seeding takes many. key names the data (give
// every different load its own); the template's name also carries the
// migration hash and this binary's, so a changed schema or seed code never
// finds stale data.
//
// The clone is a migrated database (Hooks.Cloned runs on it, after the
// seed, not on the template).
func NewSeeded(t testing.TB, key string, load func(ctx context.Context, pool *pgxpool.Pool) error) *DB {
	t.Helper()
	hookStart(t)
	s := Server(t)
	base := template(t, s)
	v, _ := seededTemplates.LoadOrStore(key, &seeded{})
	st := v.(*seeded)
	st.once.Do(func() { st.name, st.err = buildSeeded(t, s.URL, base, key, load) })
	if st.err != nil {
		t.Fatalf("seeded template %s: %v", key, st.err)
	}
	return create(t, s, st.name, true)
}

type seeded struct {
	once sync.Once
	name string
	err  error
}

var seededTemplates sync.Map // key → *seeded

// buildSeeded finds or builds the seeded template for key (see buildOnce).
func buildSeeded(t testing.TB, adminURL, base, key string, load func(context.Context, *pgxpool.Pool) error) (string, error) {
	id, err := binaryHash()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(base + "\x00" + id + "\x00" + key))
	name := "mentordb_seed_" + hex.EncodeToString(sum[:8])
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	create := fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s STRATEGY FILE_COPY`, name, base)
	return name, buildOnce(ctx, adminURL, name, create, func() error {
		start := time.Now()
		pool, err := pgxpool.New(ctx, WithDatabase(adminURL, name))
		if err != nil {
			return err
		}
		err = load(ctx, pool)
		pool.Close()
		if err != nil {
			return fmt.Errorf("load: %w", err)
		}
		t.Logf("seeded template %s (%s) built in %s", name, key, time.Since(start).Round(time.Millisecond))
		if config.Hooks.Seeded != nil {
			config.Hooks.Seeded(t, WithDatabase(adminURL, name))
		}
		return nil
	})
}

var (
	binaryOnce sync.Once
	binaryID   string
	binaryErr  error
)

// binaryHash identifies this test binary by its content, so a seeded
// template outlives neither the seed code nor the tests that made it.
func binaryHash() (string, error) {
	binaryOnce.Do(func() {
		path, err := os.Executable()
		if err != nil {
			binaryErr = err
			return
		}
		f, err := os.Open(path)
		if err != nil {
			binaryErr = err
			return
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			binaryErr = err
			return
		}
		binaryID = hex.EncodeToString(h.Sum(nil))
	})
	return binaryID, binaryErr
}
