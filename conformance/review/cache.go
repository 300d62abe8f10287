package review

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/mentordb/mentordb/internal/harness/testdb"
)

// Cache keeps what a review computes from its base alone, for several
// reviews of one base on one server (the fixture tests review many heads
// against the repository's migrations): the base's migrated database as a
// template, and the base's access-matrix results. The zero value is ready;
// a nil *Cache caches nothing. Drop removes the templates.
type Cache struct {
	mu        sync.Mutex
	templates map[string]string
	seedErrs  map[string]error
	cellsOf   map[string]*cachedCells
}

// hash names a side's files.
func (f Files) hash() string {
	h := sha256.New()
	for _, set := range []map[string][]byte{f.Migrations, f.Rollbacks} {
		names := make([]string, 0, len(set))
		for n := range set {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(h, "%s\x00%d\x00", n, len(set[n]))
			h.Write(set[n])
		}
		h.Write([]byte{1})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// template returns the name of a template database holding base's schema
// and seed (prepareBase), building it the first time ("" without a cache),
// and the seed's error.
func (c *Cache) template(ctx context.Context, admin *pgx.Conn, adminURL string, base Files) (string, error, error) {
	if c == nil {
		return "", nil, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	key := base.hash()
	if name, ok := c.templates[key]; ok {
		return name, c.seedErrs[key], nil
	}
	name := "review_template_" + key
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		return "", nil, err
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, err
	}
	seedErr, err := prepareBase(ctx, testdb.WithDatabase(adminURL, name), base)
	if err != nil {
		return "", nil, fmt.Errorf("base template: %w", err)
	}
	if c.templates == nil {
		c.templates, c.seedErrs = map[string]string{}, map[string]error{}
	}
	c.templates[key], c.seedErrs[key] = name, seedErr
	return name, seedErr, nil
}

// cells is where the base's cell results are kept (nil without a cache).
func (c *Cache) cells(base Files) *cachedCells {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cellsOf == nil {
		c.cellsOf = map[string]*cachedCells{}
	}
	key := base.hash()
	if c.cellsOf[key] == nil {
		c.cellsOf[key] = &cachedCells{}
	}
	return c.cellsOf[key]
}

// Drop removes the cache's template databases from the server at adminURL.
func (c *Cache) Drop(ctx context.Context, adminURL string) error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return err
	}
	defer admin.Close(ctx)
	for key, name := range c.templates {
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			return err
		}
		delete(c.templates, key)
	}
	return nil
}

// cachedCells computes a side's cells once; a nil one computes every time.
type cachedCells struct {
	once  sync.Once
	cells map[string]string
	err   error
}

func (c *cachedCells) get(run func() (map[string]string, error)) (map[string]string, error) {
	if c == nil {
		return run()
	}
	c.once.Do(func() { c.cells, c.err = run() })
	return c.cells, c.err
}
