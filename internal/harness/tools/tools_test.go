package tools

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRepoRoot: the root is found from a nested module's directory, past
// that module's own go.mod.
func TestRepoRoot(t *testing.T) {
	wd, err := os.Getwd()
	require.NoError(t, err)
	harness := filepath.Dir(wd)
	require.FileExists(t, filepath.Join(harness, "go.mod"), "a nested module's go.mod is nearer than the root's")
	root, err := RepoRoot()
	require.NoError(t, err)
	require.Equal(t, filepath.Dir(filepath.Dir(harness)), root)
	require.Equal(t, "example.com/x", modulePath([]byte("// comment\nmodule \"example.com/x\"\n\ngo 1.25.0\n")))
}

func TestExecutable(t *testing.T) {
	dir := t.TempDir()
	exe, plain := filepath.Join(dir, "exe"), filepath.Join(dir, "plain")
	require.NoError(t, os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755))
	require.NoError(t, os.WriteFile(plain, []byte("x"), 0o644))
	require.True(t, Executable(exe))
	require.False(t, Executable(plain))
	require.False(t, Executable(dir), "a directory is not a program")
	require.False(t, Executable(filepath.Join(dir, "missing")))
}
