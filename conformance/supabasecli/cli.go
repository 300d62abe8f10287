// Package supabasecli drives the real Supabase CLI (the pinned npm release,
// installed by scripts/setup, `make supabase-cli` or tools.Install) against any PostgreSQL URL, for the
// external tier: PA-MIG-1 and PS-MIG-1 (the CLI applies our migrations and
// sees the history our runner wrote) and EXT-1 (its advisors and its
// plpgsql_check lint report nothing on the migrated schema).
//
// Facts about CLI 3.1.0 this package relies on (checked by running it):
//   - A database URL is given as --remote=<url>; there is no --db-url flag.
//     With a URL nothing talks to the Supabase API: no access token, no link,
//     no Docker, no supabase/config.toml.
//   - --output-format json writes one JSON document to stdout (progress and
//     the "Target: ..." line go to stderr). A failure is the envelope
//     {"_tag":"Error","error":{"code","message","suggestion"}} and exit 1.
//   - --workdir is used as given, with no upward search; the CLI reads
//     <workdir>/supabase/migrations and creates <workdir>/supabase/.temp.
//   - SUPABASE_HOME (default ~/.supabase) receives telemetry.json; telemetry
//     is off with SUPABASE_TELEMETRY_DISABLED / DO_NOT_TRACK, and the update
//     notice with SUPABASE_NO_UPDATE_NOTIFIER.
package supabasecli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/mentordb/mentordb/internal/harness/tools"
)

// Version is the CLI release this package is written against; mk/supabase.mk
// installs exactly this version.
const Version = "3.1.0"

// EnvBin names the environment variable that overrides where the binary is.
const EnvBin = "SUPABASE_BIN"

// ErrNotInstalled is returned by Find when no binary is found.
var ErrNotInstalled = errors.New("supabasecli: Supabase CLI not installed (run scripts/setup npm, or set " + EnvBin + ")")

// CLI runs one Supabase CLI binary.
type CLI struct {
	// Bin is the path of the native binary
	// (.tools/supabase/node_modules/@supabase/cli-<platform>/bin/supabase) or
	// of the npm shim node_modules/.bin/supabase, which needs node.
	Bin string
	// Env is added to the command's environment after the defaults, so it
	// can override them.
	Env []string
}

// New returns a CLI for the binary at bin.
func New(bin string) *CLI { return &CLI{Bin: bin} }

// Find locates the binary: $SUPABASE_BIN if set, else the native binary that
// scripts/setup installs under .tools/supabase in the repository root (at
// Version). It does not ask the binary its version.
func Find() (*CLI, error) {
	if bin := os.Getenv(EnvBin); bin != "" {
		if !tools.Executable(bin) {
			return nil, fmt.Errorf("%w: %s=%s is not an executable file", ErrNotInstalled, EnvBin, bin)
		}
		return New(bin), nil
	}
	dir, err := tools.Dir("supabase")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotInstalled, err)
	}
	for _, bin := range candidates(dir) {
		if tools.Executable(bin) {
			return New(bin), nil
		}
	}
	return nil, fmt.Errorf("%w: nothing under %s", ErrNotInstalled, dir)
}

// candidates lists where an npm install in dir puts the binary, native
// packages first (no node needed), the JS shim last.
func candidates(dir string) []string {
	nm := filepath.Join(dir, "node_modules")
	var out []string
	for _, p := range platforms(runtime.GOOS, runtime.GOARCH) {
		name := "supabase"
		if runtime.GOOS == "windows" {
			name += ".exe"
		}
		out = append(out, filepath.Join(nm, "@supabase", "cli-"+p, "bin", name))
	}
	return append(out, filepath.Join(nm, ".bin", "supabase"))
}

// platforms maps GOOS/GOARCH to the suffixes of the npm binary packages, in
// the order the npm shim tries them.
func platforms(goos, goarch string) []string {
	arch := map[string]string{"amd64": "x64", "arm64": "arm64"}[goarch]
	if arch == "" {
		return nil
	}
	switch goos {
	case "linux":
		return []string{"linux-" + arch, "linux-" + arch + "-musl"}
	case "darwin":
		return []string{"darwin-" + arch}
	case "windows":
		return []string{"windows-" + arch}
	}
	return nil
}

// Workdir is a temporary project directory for one CLI call.
type Workdir struct {
	// Dir is passed as --workdir.
	Dir string
	// Home is SUPABASE_HOME, so the call writes nothing under ~/.supabase.
	Home string
}

// NewWorkdir creates a temporary directory whose supabase/migrations is a
// symlink to migrationsDir (made absolute; it must be a directory). With
// migrationsDir empty there is no migrations folder, which is what the
// database-only commands (advisors, lint) need. No config.toml is written:
// CLI 3.1.0 needs none for --remote=<url>. Remove it with Close.
func NewWorkdir(migrationsDir string) (*Workdir, error) {
	var abs string
	if migrationsDir != "" {
		var err error
		if abs, err = filepath.Abs(migrationsDir); err != nil {
			return nil, fmt.Errorf("supabasecli: migrations dir: %w", err)
		}
		st, err := os.Stat(abs)
		if err != nil {
			return nil, fmt.Errorf("supabasecli: migrations dir: %w", err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("supabasecli: migrations dir %s is not a directory", abs)
		}
	}
	dir, err := os.MkdirTemp("", "supabasecli-")
	if err != nil {
		return nil, fmt.Errorf("supabasecli: workdir: %w", err)
	}
	w := &Workdir{Dir: dir, Home: filepath.Join(dir, "home")}
	if err := os.MkdirAll(filepath.Join(dir, "supabase"), 0o755); err != nil {
		w.Close()
		return nil, fmt.Errorf("supabasecli: workdir: %w", err)
	}
	if err := os.Mkdir(w.Home, 0o700); err != nil {
		w.Close()
		return nil, fmt.Errorf("supabasecli: workdir: %w", err)
	}
	if abs != "" {
		if err := os.Symlink(abs, filepath.Join(dir, "supabase", "migrations")); err != nil {
			w.Close()
			return nil, fmt.Errorf("supabasecli: workdir: %w", err)
		}
	}
	return w, nil
}

// Close removes the workdir (the symlink, never its target).
func (w *Workdir) Close() error { return os.RemoveAll(w.Dir) }

// Error is a failed CLI call.
type Error struct {
	Args     []string // with any password in a URL redacted
	ExitCode int
	// Code, Message and Suggestion come from the JSON error envelope, when
	// the CLI printed one (Code is e.g. MigrationApplyError, DbConnectError).
	Code, Message, Suggestion string
	Stdout, Stderr            string
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "supabase %s: exit %d", strings.Join(e.Args, " "), e.ExitCode)
	if e.Code != "" {
		fmt.Fprintf(&b, ": %s: %s", e.Code, e.Message)
		if e.Suggestion != "" {
			fmt.Fprintf(&b, " (%s)", e.Suggestion)
		}
	}
	if s := strings.TrimSpace(e.Stderr); s != "" {
		fmt.Fprintf(&b, "\nstderr:\n%s", s)
	}
	if e.Code == "" {
		if s := strings.TrimSpace(e.Stdout); s != "" {
			fmt.Fprintf(&b, "\nstdout:\n%s", s)
		}
	}
	return b.String()
}

// defaultEnv makes every call non-interactive and hermetic.
func defaultEnv(home string) []string {
	return []string{
		"SUPABASE_HOME=" + home,
		"SUPABASE_TELEMETRY_DISABLED=1",
		"DO_NOT_TRACK=1",
		"SUPABASE_NO_UPDATE_NOTIFIER=1",
		"CI=true",
		"NO_COLOR=1",
	}
}

// environ is the parent environment without anything that could point the
// CLI at another project, profile, token or workdir, plus defaultEnv and
// c.Env.
func (c *CLI) environ(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "SUPABASE_") && !strings.HasPrefix(kv, EnvBin+"=") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, defaultEnv(home)...)
	return append(env, c.Env...)
}

// run runs `supabase <args> --workdir <w> --agent no --output-format json`
// and returns stdout. A non-zero exit is an *Error.
func (c *CLI) run(ctx context.Context, w *Workdir, args ...string) ([]byte, error) {
	full := append(append([]string{}, args...), "--workdir", w.Dir, "--agent", "no", "--output-format", "json")
	cmd := exec.CommandContext(ctx, c.Bin, full...)
	cmd.Dir = w.Dir
	cmd.Env = c.environ(w.Home)
	cmd.Stdin = nil
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err == nil {
		return stdout.Bytes(), nil
	}
	e := &Error{Args: redactArgs(full), ExitCode: -1, Stdout: stdout.String(), Stderr: stderr.String()}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		e.ExitCode = exit.ExitCode()
	} else {
		e.Message = err.Error()
	}
	if env, ok := parseErrorEnvelope(stdout.Bytes()); ok {
		e.Code, e.Message, e.Suggestion = env.Code, env.Message, env.Suggestion
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%w: %w", ctx.Err(), e)
	}
	return nil, e
}

type errorEnvelope struct {
	Tag   string `json:"_tag"`
	Error *struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		Suggestion string `json:"suggestion"`
	} `json:"error"`
}

type envelopeError struct{ Code, Message, Suggestion string }

func parseErrorEnvelope(out []byte) (envelopeError, bool) {
	var env errorEnvelope
	if json.Unmarshal(jsonDoc(out), &env) != nil || env.Error == nil {
		return envelopeError{}, false
	}
	return envelopeError{env.Error.Code, env.Error.Message, env.Error.Suggestion}, true
}

// jsonDoc returns the JSON document in stdout: all of it when it parses,
// else its last line that starts with '{' (defensive: 3.1.0 prints only the
// document on stdout in json mode).
func jsonDoc(out []byte) []byte {
	out = bytes.TrimSpace(out)
	if json.Valid(out) {
		return out
	}
	lines := bytes.Split(out, []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		l := bytes.TrimSpace(lines[i])
		if len(l) > 0 && l[0] == '{' && json.Valid(l) {
			return l
		}
	}
	return out
}

// decode parses the JSON document of a successful call into v, and turns an
// error envelope printed with exit status 0 into an *Error as well.
func decode(args []string, out []byte, v any) error {
	if env, ok := parseErrorEnvelope(out); ok {
		return &Error{Args: redactArgs(args), Code: env.Code, Message: env.Message, Suggestion: env.Suggestion, Stdout: string(out)}
	}
	if err := json.Unmarshal(jsonDoc(out), v); err != nil {
		return fmt.Errorf("supabasecli: parse output of supabase %s: %w\n%s", strings.Join(redactArgs(args), " "), err, out)
	}
	return nil
}

// remote is the --remote flag for a database URL.
func remote(dbURL string) string { return "--remote=" + dbURL }

func redactArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--remote="); ok {
			a = "--remote=" + redactURL(v)
		}
		out[i] = a
	}
	return out
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}
