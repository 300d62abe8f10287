// Package squawk runs the pinned squawk migration linter (npm squawk-cli,
// installed by scripts/setup into .tools/squawk) over SQL files and returns
// its findings (EXT-2).
//
// Its native binary ships inside the npm package @squawk-cli/<platform>, so,
// as with the Supabase CLI, nothing runs Node and nothing is fetched outside
// the npm registry. The rules mentordb excludes, each with its reason, are
// in migrations.toml and rollbacks.toml beside this file.
package squawk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/mentordb/mentordb/internal/harness/tools"
)

// Version is the release scripts/setup installs (conformance/squawk/npm pins it).
const Version = "2.66.0"

// EnvBin overrides where the binary is.
const EnvBin = "SQUAWK_BIN"

// ErrNotInstalled is returned by Find when no binary is found.
var ErrNotInstalled = errors.New("squawk: squawk-cli not installed (run scripts/setup npm, or set " + EnvBin + ")")

// Finding is one violation, as squawk's JSON reporter writes it.
type Finding struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Rule    string `json:"rule_name"`
	Level   string `json:"level"`
	Message string `json:"message"`
}

func (f Finding) String() string {
	return fmt.Sprintf("%s:%d %s: %s", f.File, f.Line, f.Rule, f.Message)
}

// Squawk runs one binary.
type Squawk struct{ Bin string }

// Find locates the binary: $SQUAWK_BIN if set, else the native binary that
// scripts/setup installs under .tools/squawk in the repository root.
func Find() (*Squawk, error) {
	if bin := os.Getenv(EnvBin); bin != "" {
		if !tools.Executable(bin) {
			return nil, fmt.Errorf("%w: %s=%s is not an executable file", ErrNotInstalled, EnvBin, bin)
		}
		return &Squawk{Bin: bin}, nil
	}
	dir, err := tools.Dir("squawk")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotInstalled, err)
	}
	bin := filepath.Join(dir, "node_modules", "@squawk-cli", platform(), "bin", "squawk")
	if !tools.Executable(bin) {
		return nil, fmt.Errorf("%w: no %s", ErrNotInstalled, bin)
	}
	return &Squawk{Bin: bin}, nil
}

// Version returns what `squawk --version` prints, without the name.
func (s *Squawk) Version(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, s.Bin, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("squawk --version: %w", err)
	}
	return strings.TrimPrefix(strings.TrimSpace(string(out)), "squawk "), nil
}

// Lint runs squawk with the config file over files and returns every
// finding. Squawk exits non-zero when it finds something; that is a result,
// not an error. The runner's setting is always passed explicitly too
// (--assume-in-transaction: the runner and the Supabase CLI run each file in
// one transaction), so a config file that failed to say it cannot change the
// verdict.
func (s *Squawk) Lint(ctx context.Context, config string, files ...string) ([]Finding, error) {
	args := append([]string{"--config", config, "--assume-in-transaction", "--pg-version", "15.0", "--reporter", "json"}, files...)
	cmd := exec.CommandContext(ctx, s.Bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var out []Finding
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &out); err != nil {
		return nil, fmt.Errorf("squawk %s: %v (output %q, stderr %q, parse: %w)", strings.Join(args, " "), runErr, stdout.String(), stderr.String(), err)
	}
	var exit *exec.ExitError
	if runErr != nil && !(errors.As(runErr, &exit) && len(out) > 0) {
		return nil, fmt.Errorf("squawk %s: %w (stderr %q)", strings.Join(args, " "), runErr, stderr.String())
	}
	return out, nil
}

// platform is the suffix of the npm binary package for this machine.
func platform() string {
	arch := map[string]string{"amd64": "x64", "arm64": "arm64"}[runtime.GOARCH]
	os := runtime.GOOS
	if os == "windows" {
		os = "win32"
	}
	return os + "-" + arch
}
