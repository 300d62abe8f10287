package pgserver

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// EnvBinDir names the environment variable that points at a PostgreSQL bin
// directory (the one holding initdb and postgres), overriding discovery.
const EnvBinDir = "PG_BINDIR"

// DefaultBinDir is where Debian and Ubuntu install PostgreSQL 15
// (defaultBinDir gives it for any major).
const DefaultBinDir = "/usr/lib/postgresql/15/bin"

func defaultBinDir(major string) string { return "/usr/lib/postgresql/" + major + "/bin" }

// binaries locates a PostgreSQL installation.
type binaries struct {
	BinDir    string // holds initdb and postgres
	PkgLibDir string // holds loadable libraries (plpgsql_check.so)
}

func (b binaries) path(name string) string { return filepath.Join(b.BinDir, name) }

// findBinaries finds the bin directory of the major asked for
// (CONFORMANCE_PG_MAJOR, 15 by default): $PG_BINDIR if set (taken
// as given: an explicit choice that is broken is an error, not a reason to
// pick something else silently), else `pg_config --bindir` if that
// pg_config is of that major (on Debian PATH's pg_config reports the newest
// installed major), else /usr/lib/postgresql/<major>/bin. run executes a command and
// returns its standard output; isExec reports whether a path is an
// executable file. Both are parameters so discovery is unit-testable.
func findBinaries(getenv func(string) string, run func(name string, args ...string) (string, error), isExec func(string) bool) (binaries, error) {
	wantMajor := majorOf(getenv)
	defaultDir := defaultBinDir(wantMajor)
	valid := func(dir string) error {
		for _, name := range []string{"initdb", "postgres"} {
			if !isExec(filepath.Join(dir, name)) {
				return fmt.Errorf("%s: no executable %s", dir, name)
			}
		}
		return nil
	}
	pkgLibDir := func(dir string) string {
		if pc := filepath.Join(dir, "pg_config"); isExec(pc) {
			if out, err := run(pc, "--pkglibdir"); err == nil && strings.TrimSpace(out) != "" {
				return strings.TrimSpace(out)
			}
		}
		return filepath.Join(filepath.Dir(dir), "lib")
	}

	if dir := getenv(EnvBinDir); dir != "" {
		if err := valid(dir); err != nil {
			return binaries{}, fmt.Errorf("%s: %w", EnvBinDir, err)
		}
		return binaries{BinDir: dir, PkgLibDir: pkgLibDir(dir)}, nil
	}

	var reasons []string
	reasons = append(reasons, EnvBinDir+" unset")
	out, err := run("pg_config", "--version", "--bindir", "--pkglibdir")
	if err != nil {
		reasons = append(reasons, fmt.Sprintf("pg_config: %v", err))
	} else {
		lines := strings.Split(strings.TrimSpace(out), "\n")
		switch {
		case len(lines) != 3:
			reasons = append(reasons, fmt.Sprintf("pg_config: unexpected output %q", out))
		case majorVersion(lines[0]) != wantMajor:
			reasons = append(reasons, fmt.Sprintf("pg_config: %s, want major %s", strings.TrimSpace(lines[0]), wantMajor))
		default:
			dir := strings.TrimSpace(lines[1])
			if err := valid(dir); err != nil {
				reasons = append(reasons, "pg_config: "+err.Error())
			} else {
				return binaries{BinDir: dir, PkgLibDir: strings.TrimSpace(lines[2])}, nil
			}
		}
	}

	if err := valid(defaultDir); err != nil {
		reasons = append(reasons, err.Error())
	} else {
		return binaries{BinDir: defaultDir, PkgLibDir: pkgLibDir(defaultDir)}, nil
	}
	return binaries{}, errors.New("no PostgreSQL " + wantMajor + " binaries (" + strings.Join(reasons, "; ") + ")")
}

// majorVersion extracts "15" from "PostgreSQL 15.20 (Debian 15.20-0+deb12u1)".
func majorVersion(v string) string {
	f := strings.Fields(v)
	if len(f) < 2 {
		return ""
	}
	major, _, _ := strings.Cut(f[1], ".")
	return major
}

func runOutput(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			return "", fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return "", err
	}
	return string(out), nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
