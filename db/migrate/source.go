package migrate

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"

	schema "github.com/mentordb/mentordb/sql"
)

// Source is where migrations come from. Both file systems hold files at
// their root, named <14-digit version>_<name>.sql; a rollback has the same
// name as the migration it undoes. Other names (and directories) are
// skipped, as the Supabase CLI skips them. A nil Rollbacks means none.
//
// Shipped lists every version the source has ever shipped, including
// versions whose files were since removed. The runner owns exactly these
// versions and those of Migrations: it checks them against the history and
// refuses a recorded one it no longer has a file for. Every other version in
// the shared history belongs to someone else (the project that embeds
// mentordb, another team) and is left alone. The history alone cannot tell
// the two apart, which is why the list exists; Default reads it from
// sql/shipped.txt, which is append-only.
type Source struct {
	Migrations fs.FS
	Rollbacks  fs.FS
	Shipped    []string
}

// Default is the SQL embedded in this binary (package sql: migrations/ and
// rollback/), so a service migrates its own database with exactly the files
// it was built and tested with.
func Default() Source {
	return Source{
		Migrations: mustSub(schema.Migrations, "migrations"),
		Rollbacks:  mustSub(schema.Rollbacks, "rollback"),
		Shipped:    shippedVersions(schema.Shipped),
	}
}

// shippedVersions reads the versions of a shipped list: one file name a
// line, '#' comments and blank lines skipped. A line that is not a
// migration file name is a programming error the unit tests catch
// (TestShippedListsEveryMigration), so it is skipped here.
func shippedVersions(list string) []string {
	var out []string
	for _, line := range strings.Split(list, "\n") {
		line = strings.TrimSpace(line)
		if m := fileName.FindStringSubmatch(line); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

// owned is the set of versions src owns: its files' and its shipped ones.
func owned(files []Migration, shipped []string) map[string]bool {
	out := make(map[string]bool, len(files)+len(shipped))
	for _, v := range shipped {
		out[v] = true
	}
	for _, m := range files {
		out[m.Version] = true
	}
	return out
}

// mustSub panics only on an invalid constant path, a programming error.
func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err)
	}
	return sub
}

// Migration is one migration file. For Down, File and Statements describe
// the rollback file that was run.
type Migration struct {
	Version    string   // the 14-digit prefix, which orders migrations
	Name       string   // the file name after the first '_', without ".sql"
	File       string   // the file name
	Statements []string // Split(file), as recorded in the history
	sql        string   // the whole file, executed as one multi-statement Exec
}

// fileName is the Supabase CLI's naming rule, restricted to the 14-digit
// UTC timestamp (20060102150405) its `migration new` writes.
var fileName = regexp.MustCompile(`^([0-9]{14})_(.*)\.sql$`)

// load reads every migration file at the root of fsys, in version order.
func load(fsys fs.FS) ([]Migration, error) {
	if fsys == nil {
		return nil, nil
	}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("migrate: read migrations: %w", err)
	}
	var out []Migration
	seen := map[string]string{}
	var errs []error
	for _, e := range entries {
		m := fileName.FindStringSubmatch(e.Name())
		if e.IsDir() || m == nil {
			continue
		}
		if prev, dup := seen[m[1]]; dup {
			errs = append(errs, &Error{Version: m[1], File: e.Name(), Op: "check",
				Err: fmt.Errorf("%w (also in %s)", ErrDuplicateVersion, prev)})
			continue
		}
		seen[m[1]] = e.Name()
		body, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("migrate: read %s: %w", e.Name(), err)
		}
		out = append(out, Migration{
			Version:    m[1],
			Name:       m[2],
			File:       e.Name(),
			Statements: Split(string(body)),
			sql:        string(body),
		})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.SortFunc(out, func(a, b Migration) int { return compareVersions(a.Version, b.Version) })
	return out, nil
}

// compareVersions orders versions as numbers: a shorter all-digit version is
// smaller, so Down(ctx, "0") means "everything". Equal lengths compare as
// text, which for 14-digit versions is the CLI's ORDER BY version.
func compareVersions(a, b string) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
