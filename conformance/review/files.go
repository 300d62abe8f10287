package review

import (
	"bytes"
	"fmt"
	"io/fs"
	"os/exec"
	"path"
	"regexp"
	"sort"
	"strings"
	"testing/fstest"

	"github.com/mentordb/mentordb/db/migrate"
)

// Files are one side's migrations and rollbacks, by file name.
type Files struct {
	// Label says where they come from: "base abc1234 (main)", "working tree".
	Label      string
	Migrations map[string][]byte
	Rollbacks  map[string][]byte
}

var migrationName = regexp.MustCompile(`^[0-9]{14}_.*\.sql$`)

// Names are the migration file names in version order.
func (f Files) Names() []string {
	var out []string
	for n := range f.Migrations {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// FromFS reads the migrations and rollbacks at the roots of two file
// systems (the working tree's sql/migrations and sql/rollback, or the
// embedded ones).
func FromFS(label string, migrations, rollbacks fs.FS) (Files, error) {
	f := Files{Label: label, Migrations: map[string][]byte{}, Rollbacks: map[string][]byte{}}
	for _, src := range []struct {
		fsys fs.FS
		into map[string][]byte
	}{{migrations, f.Migrations}, {rollbacks, f.Rollbacks}} {
		if src.fsys == nil {
			continue
		}
		entries, err := fs.ReadDir(src.fsys, ".")
		if err != nil {
			return Files{}, err
		}
		for _, e := range entries {
			if e.IsDir() || !migrationName.MatchString(e.Name()) {
				continue
			}
			b, err := fs.ReadFile(src.fsys, e.Name())
			if err != nil {
				return Files{}, err
			}
			src.into[e.Name()] = b
		}
	}
	return f, nil
}

// FromGit reads sql/migrations and sql/rollback as they are at ref in the
// repository at dir (git ls-tree and git show: the working tree is not
// touched).
func FromGit(dir, ref string) (Files, error) {
	commit, err := git(dir, "rev-parse", "--verify", "--quiet", ref+"^{commit}")
	if err != nil {
		return Files{}, fmt.Errorf("base %q is not a commit here (a shallow clone? fetch with depth 0): %w", ref, err)
	}
	commit = strings.TrimSpace(commit)
	f := Files{Label: fmt.Sprintf("%s (%s)", ref, commit[:min(12, len(commit))]), Migrations: map[string][]byte{}, Rollbacks: map[string][]byte{}}
	for _, src := range []struct {
		dir  string
		into map[string][]byte
	}{{"sql/migrations", f.Migrations}, {"sql/rollback", f.Rollbacks}} {
		list, err := git(dir, "ls-tree", "--name-only", commit, src.dir+"/")
		if err != nil {
			return Files{}, err
		}
		for _, p := range strings.Fields(list) {
			name := path.Base(p)
			if !migrationName.MatchString(name) {
				continue
			}
			body, err := git(dir, "show", commit+":"+p)
			if err != nil {
				return Files{}, err
			}
			src.into[name] = []byte(body)
		}
	}
	return f, nil
}

func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// source is the migrate.Source of the files up to and including version
// (all of them when version is empty), owning every version it holds.
func (f Files) source(version string) migrate.Source {
	m, r := fstest.MapFS{}, fstest.MapFS{}
	var shipped []string
	for n, b := range f.Migrations {
		if version != "" && n[:14] > version {
			continue
		}
		m[n] = &fstest.MapFile{Data: b}
		shipped = append(shipped, n[:14])
		if rb, ok := f.Rollbacks[n]; ok {
			r[n] = &fstest.MapFile{Data: rb}
		}
	}
	sort.Strings(shipped)
	return migrate.Source{Migrations: m, Rollbacks: r, Shipped: shipped}
}

// split compares the two sides' migrations: the files head adds (in
// order), and base's files that head changed or removed (a shipped
// migration is never edited: a new one is added instead).
func split(base, head Files) (added, edited []string) {
	for _, n := range head.Names() {
		b, ok := base.Migrations[n]
		switch {
		case !ok:
			added = append(added, n)
		case !bytes.Equal(b, head.Migrations[n]):
			edited = append(edited, n)
		}
	}
	for _, n := range base.Names() {
		if _, ok := head.Migrations[n]; !ok {
			edited = append(edited, n)
		}
	}
	sort.Strings(edited)
	return added, edited
}
