package review

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// FromGit reads sql/ as it is at a ref of a repository, not as the working
// tree has it; split tells added files from edited and removed ones.
func TestFromGitAndSplit(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.test"}, args...)...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
	}
	write := func(path, body string) {
		t.Helper()
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, path)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, path), []byte(body), 0o644))
	}
	run("init", "-q")
	write("sql/migrations/20260101000000_a.sql", "CREATE TABLE a ();")
	write("sql/rollback/20260101000000_a.sql", "DROP TABLE a;")
	write("sql/migrations/20260102000000_b.sql", "CREATE TABLE b ();")
	write("sql/migrations/README", "not a migration")
	run("add", ".")
	run("commit", "-q", "-m", "base")
	// The working tree and a later commit differ from the base.
	write("sql/migrations/20260101000000_a.sql", "CREATE TABLE a (id int);")
	write("sql/migrations/20260103000000_c.sql", "CREATE TABLE c ();")
	require.NoError(t, os.Remove(filepath.Join(dir, "sql/migrations/20260102000000_b.sql")))
	run("add", "-A")
	run("commit", "-q", "-m", "head")

	base, err := FromGit(dir, "HEAD~1")
	require.NoError(t, err)
	require.Equal(t, []string{"20260101000000_a.sql", "20260102000000_b.sql"}, base.Names())
	require.Equal(t, "CREATE TABLE a ();", string(base.Migrations["20260101000000_a.sql"]))
	require.Equal(t, "DROP TABLE a;", string(base.Rollbacks["20260101000000_a.sql"]))
	require.Contains(t, base.Label, "HEAD~1 (")

	head, err := FromFS("working tree", os.DirFS(filepath.Join(dir, "sql", "migrations")), os.DirFS(filepath.Join(dir, "sql", "rollback")))
	require.NoError(t, err)
	added, edited := split(base, head)
	require.Equal(t, []string{"20260103000000_c.sql"}, added)
	require.Equal(t, []string{"20260101000000_a.sql", "20260102000000_b.sql"}, edited, "a changed and a removed migration of the base")

	_, err = FromGit(dir, "no-such-ref")
	require.ErrorContains(t, err, "is not a commit here")
}
