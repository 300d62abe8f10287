//go:build unix

package pgserver

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// TestLocalServerSnapshot proves that a snapshot keeps what the server held
// when it was taken, that only a start with the same Cache boots from it,
// and that it keeps one WAL segment. Its snapshots live in a directory of
// its own, so it neither finds nor prunes anyone else's (not parallel: it
// sets snapshotParent).
func TestLocalServerSnapshot(t *testing.T) {
	b := localBinaries(t)
	tmp := t.TempDir()
	// As root, postgres runs as the OS user postgres, which must reach the
	// directories under it.
	require.NoError(t, os.Chmod(tmp, 0o755))
	require.NoError(t, os.Chmod(filepath.Dir(tmp), 0o755))
	defer func(p func() string) { snapshotParent = p }(snapshotParent)
	snapshotParent = func() string { return tmp }
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	has := func(s *Server, name string) bool {
		t.Helper()
		c, err := pgx.Connect(ctx, s.URL)
		require.NoError(t, err)
		defer c.Close(ctx)
		var n int
		require.NoError(t, c.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n))
		return n == 1
	}

	first, err := startLocal(ctx, Options{Logf: t.Logf, Cache: "a"}, b)
	require.NoError(t, err)
	t.Cleanup(func() { _ = first.Stop() })
	require.False(t, first.Cached, "no snapshot yet")
	c, err := pgx.Connect(ctx, first.URL)
	require.NoError(t, err)
	_, err = c.Exec(ctx, `CREATE DATABASE kept`)
	require.NoError(t, err)
	require.NoError(t, c.Close(ctx))
	require.NoError(t, first.Snapshot(ctx))
	require.True(t, has(first, "kept"), "the server runs on after its snapshot")
	require.NoError(t, first.Stop())

	snaps, err := filepath.Glob(filepath.Join(tmp, snapshotPrefix+"*"))
	require.NoError(t, err)
	require.Len(t, snaps, 1)
	wal, err := filepath.Glob(filepath.Join(snaps[0], dataName, "pg_wal", "0*"))
	require.NoError(t, err)
	require.Len(t, wal, 1, "only the segment of the last checkpoint is kept")

	again, err := startLocal(ctx, Options{Logf: t.Logf, Cache: "a"}, b)
	require.NoError(t, err)
	t.Cleanup(func() { _ = again.Stop() })
	require.True(t, again.Cached)
	require.True(t, has(again, "kept"), "a start with the same Cache boots from the snapshot")
	require.NoError(t, again.Stop())

	other, err := startLocal(ctx, Options{Logf: t.Logf, Cache: "b"}, b)
	require.NoError(t, err)
	t.Cleanup(func() { _ = other.Stop() })
	require.False(t, other.Cached)
	require.False(t, has(other, "kept"), "another Cache does not find it")
	require.NoError(t, other.Stop())

	plain, err := startLocal(ctx, Options{Logf: t.Logf}, b)
	require.NoError(t, err)
	t.Cleanup(func() { _ = plain.Stop() })
	require.Error(t, plain.Snapshot(ctx), "a server without Cache has nowhere to keep one")
}
