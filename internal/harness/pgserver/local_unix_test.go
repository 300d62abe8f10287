//go:build unix

package pgserver

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCleanStale proves leftovers of dead owners do not accumulate while
// live and kept directories survive. It works in a private TMPDIR: in the
// shared one, another process's cleanStale (any test run or benchmark on the
// machine) may judge these directories before this one does.
func TestCleanStale(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	t.Setenv(EnvDataParent, os.TempDir())
	mk := func() string {
		d, err := os.MkdirTemp("", dirPrefix+"*")
		require.NoError(t, err)
		t.Cleanup(func() { _ = os.RemoveAll(d) })
		require.NoError(t, os.WriteFile(filepath.Join(d, lockFile), nil, 0o600))
		return d
	}
	dead := mk() // lock free, no postmaster.pid: owner and server gone

	deadPID := mk() // lock free, postmaster.pid names a process that is gone
	require.NoError(t, os.MkdirAll(filepath.Join(deadPID, dataName), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(deadPID, dataName, "postmaster.pid"), []byte("2147483646\n/x\n"), 0o600))

	running := mk() // lock free but its postmaster (here: this process) runs
	require.NoError(t, os.MkdirAll(filepath.Join(running, dataName), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(running, dataName, "postmaster.pid"), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600))

	live := mk() // owner holds the lock
	f, err := os.Open(filepath.Join(live, lockFile))
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB))

	kept := mk()
	markKeep(kept)

	young := mk() // no lock file yet: being created right now
	require.NoError(t, os.Remove(filepath.Join(young, lockFile)))

	old := mk() // no lock file and old: crashed right after MkdirTemp
	require.NoError(t, os.Remove(filepath.Join(old, lockFile)))

	youngFree := mk() // lock file, lock not taken yet: a Start between the two

	// Every directory but the young ones was last changed long ago.
	past := time.Now().Add(-time.Hour)
	for _, d := range []string{dead, deadPID, running, live, kept, old} {
		require.NoError(t, os.Chtimes(d, past, past))
	}

	cleanStale(Options{Logf: t.Logf})

	require.NoDirExists(t, dead)
	require.NoDirExists(t, deadPID)
	require.NoDirExists(t, old)
	require.DirExists(t, running)
	require.DirExists(t, live)
	require.DirExists(t, kept)
	require.DirExists(t, young)
	require.DirExists(t, youngFree, "a free lock on a directory created this instant is a Start in progress")
}
