// Package tools finds the programs that tests and commands run: the
// repository's pinned npm tools, which scripts/setup installs under
// .tools/<name> in the repository root, and executables in general.
package tools

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// rootModule is the module whose directory is the repository root; the
// nested modules (conformance, cmd, internal/harness) sit below it.
const rootModule = "github.com/mentordb/mentordb"

// Executable reports whether path is a regular file with an execute bit.
func Executable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}

// RepoRoot returns the repository root: the nearest directory holding the
// root module's go.mod above the working directory, else above this source
// file.
func RepoRoot() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		starts = append(starts, filepath.Dir(file))
	}
	for _, dir := range starts {
		for d := dir; ; d = filepath.Dir(d) {
			if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && modulePath(b) == rootModule {
				return d, nil
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return "", errors.New("no go.mod of " + rootModule + " above the working directory")
}

// modulePath returns the module path a go.mod declares.
func modulePath(gomod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

// Dir returns where scripts/setup installs the npm tool name.
func Dir(name string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, ".tools", name), nil
}

// Install runs the repository's set-up script for its pinned npm tools
// (scripts/setup npm), a no-op for those already there. The script is the
// one installer shared by make, .ci/run and the tests, so they cannot
// disagree on where or which version. Its output is in the error when it
// fails.
func Install(ctx context.Context) error {
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, filepath.Join(root, "scripts", "setup"), "npm")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("scripts/setup npm: %w\n%s", err, strings.TrimSpace(string(out)))
	}
	return nil
}
