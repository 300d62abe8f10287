package migrate

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func readDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		out[e.Name()] = string(b)
	}
	return out
}

func TestExportWritesEveryMigrationOnce(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "supabase", "migrations") // created by Export
	written, err := Export(Source{Migrations: forward(), Rollbacks: rollbacks()}, dir)
	require.NoError(t, err)
	require.Equal(t, []string{v1 + "_foundation.sql", v2 + "_proxy_activities.sql", v3 + "_peer_mentor_status.sql"}, written)
	require.Equal(t, map[string]string{
		v1 + "_foundation.sql":         sql1,
		v2 + "_proxy_activities.sql":   sql2,
		v3 + "_peer_mentor_status.sql": sql3,
	}, readDir(t, dir), "the files byte for byte, no rollbacks, no other file")

	again, err := Export(Source{Migrations: forward()}, dir)
	require.NoError(t, err)
	require.Empty(t, again, "a second export writes nothing")
}

// The project's own migrations share the folder and are not touched.
func TestExportKeepsTheProjectsFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	theirs := "20270101000000_theirs.sql"
	require.NoError(t, os.WriteFile(filepath.Join(dir, theirs), []byte("CREATE TABLE t (id int);\n"), 0o644))
	written, err := Export(Source{Migrations: forward()}, dir)
	require.NoError(t, err)
	require.Len(t, written, 3)
	got := readDir(t, dir)
	require.Len(t, got, 4)
	require.Equal(t, "CREATE TABLE t (id int);\n", got[theirs])
}

func TestExportConflicts(t *testing.T) {
	t.Parallel()
	for name, existing := range map[string]map[string]string{
		"other bytes": {v2 + "_proxy_activities.sql": "CREATE TABLE b (id bigint);\n"},
		"other name":  {v2 + "_renamed.sql": sql2},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for f, body := range existing {
				require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte(body), 0o644))
			}
			written, err := Export(Source{Migrations: forward()}, dir)
			require.ErrorIs(t, err, ErrExportConflict)
			var me *Error
			require.ErrorAs(t, err, &me)
			require.Equal(t, v2, me.Version)
			require.Empty(t, written)
			require.Equal(t, existing, readDir(t, dir), "nothing written, nothing changed")
		})
	}
}

func TestExportDuplicateVersionInSource(t *testing.T) {
	t.Parallel()
	files := forward()
	files[v1+"_again.sql"] = files[v1+"_foundation.sql"]
	dir := t.TempDir()
	_, err := Export(Source{Migrations: files}, dir)
	require.ErrorIs(t, err, ErrDuplicateVersion)
	require.Empty(t, readDir(t, dir))
}
