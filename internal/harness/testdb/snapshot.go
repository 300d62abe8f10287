package testdb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mentordb/mentordb/internal/harness/pgserver"
	"github.com/mentordb/mentordb/internal/harness/tools"
)

// snapshotName names what a snapshot of c's templates holds: the schema,
// the seeds' keys and the sources of the code that builds them. It is empty
// when c names no code, or the repository is not at hand (a test binary run
// elsewhere): nothing can then tell a stale snapshot.
func snapshotName(c Config) (string, error) {
	if len(c.CodeDirs) == 0 || c.Migrator == nil {
		return "", nil
	}
	src, ok := sourceHash(c.CodeDirs)
	if !ok {
		return "", nil
	}
	schema, err := c.Migrator.Hash()
	if err != nil {
		return "", err
	}
	keys := make([]string, 0, len(c.Seeds))
	for _, s := range c.Seeds {
		keys = append(keys, s.Key)
	}
	slices.Sort(keys)
	h := sha256.New()
	fmt.Fprintf(h, "testdb snapshot\x00schema %s\x00code %s\x00seeds %s", schema, src, strings.Join(keys, "\x00"))
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// sourceHash hashes the Go sources (tests left out) of the repository's
// dirs and of this package, and the root module's go.sum; false when the
// repository is not found.
func sourceHash(dirs []string) (string, bool) {
	if len(dirs) == 0 {
		return "", false
	}
	root, err := tools.RepoRoot()
	if err != nil {
		return "", false
	}
	h := sha256.New()
	files := []string{filepath.Join(root, "go.sum")}
	// The template builder's own code is always part of it.
	for _, d := range append([]string{"internal/harness/testdb"}, dirs...) {
		found, err := filepath.Glob(filepath.Join(root, d, "*.go"))
		if err != nil || len(found) == 0 {
			return "", false
		}
		files = append(files, found...)
	}
	slices.Sort(files)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return "", false
		}
		rel, _ := filepath.Rel(root, f)
		fmt.Fprintf(h, "%s\x00%d\x00", rel, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], true
}

// prebuild builds, on a server that booted without its snapshot, the
// migrated template and every seed of the config, then takes the snapshot.
func prebuild(ctx context.Context, s *pgserver.Server) error {
	base := ""
	tmplOnce.Do(func() { tmplName, tmplErr = BuildTemplate(ctx, s.URL, config.Migrator) })
	if tmplErr != nil {
		return tmplErr
	}
	base = tmplName
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "testdb: "+format+"\n", args...) }
	for _, seed := range config.Seeds {
		seed.once.Do(func() { seed.name, seed.err = buildSeeded(ctx, logf, s.URL, base, seed) })
		if seed.err != nil {
			return seed.err
		}
	}
	return s.Snapshot(ctx)
}
