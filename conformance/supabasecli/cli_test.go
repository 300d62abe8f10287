package supabasecli

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/internal/harness/tools"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func TestParseMigrationList(t *testing.T) {
	t.Parallel()
	args := []string{"migration", "list"}

	t.Run("applied by the CLI", func(t *testing.T) {
		t.Parallel()
		rows, err := parseMigrationList(args, readTestdata(t, "migration_list.json"))
		require.NoError(t, err)
		require.Equal(t, []Row{{Local: "20261120000000", Remote: "20261120000000", Time: "2026-11-20 00:00:00"}}, rows)
		require.True(t, rows[0].Applied())
		require.False(t, rows[0].Pending())
	})

	t.Run("local only and remote only", func(t *testing.T) {
		t.Parallel()
		rows, err := parseMigrationList(args, readTestdata(t, "migration_list_mixed.json"))
		require.NoError(t, err)
		require.Len(t, rows, 3)
		require.True(t, rows[0].Applied())
		require.True(t, rows[1].Pending())
		require.Equal(t, "20260102000000", rows[1].Version())
		require.True(t, rows[2].Pending())

		rows, err = parseMigrationList(args, readTestdata(t, "migration_list_remote_only.json"))
		require.NoError(t, err)
		require.Equal(t, []Row{{Remote: "20261120000000", Time: "2026-11-20 00:00:00"}}, rows)
		require.Equal(t, "20261120000000", rows[0].Version())
		require.False(t, rows[0].Pending())
	})
}

func TestParseMigrationUp(t *testing.T) {
	t.Parallel()
	args := []string{"migration", "up"}
	names, err := parseMigrationUp(args, readTestdata(t, "migration_up.json"))
	require.NoError(t, err)
	require.Equal(t, []string{"20261120000000_foundation.sql"}, names)

	names, err = parseMigrationUp(args, readTestdata(t, "migration_up_noop.json"))
	require.NoError(t, err)
	require.Empty(t, names)

	// The envelope of a failed file, as printed with exit status 1.
	_, err = parseMigrationUp(args, readTestdata(t, "migration_up_error.json"))
	var e *Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, "MigrationApplyError", e.Code)
	require.Contains(t, e.Message, "SQLSTATE 42P01")
}

func TestParseAdvisors(t *testing.T) {
	t.Parallel()
	args := []string{"db", "advisors"}

	t.Run("foundation: only unused_index, which SchemaFindings drops", func(t *testing.T) {
		t.Parallel()
		fs, err := parseAdvisors(args, readTestdata(t, "advisors_foundation.json"))
		require.NoError(t, err)
		require.Len(t, fs, 5)
		for _, f := range fs {
			require.Equal(t, "advisors", f.Source)
			require.Equal(t, "unused_index", f.Name)
			require.Equal(t, "INFO", f.Level)
			require.Equal(t, []string{"PERFORMANCE"}, f.Categories)
			require.True(t, strings.HasPrefix(f.Object, "public."), f.Object)
			require.NotEmpty(t, f.CacheKey)
		}
		require.Equal(t, "public.chapters", fs[0].Object)
		require.Contains(t, fs[0].Detail, "chapters_org_id_idx")
		require.Empty(t, SchemaFindings(fs))
	})

	t.Run("level warn prints an empty result", func(t *testing.T) {
		t.Parallel()
		fs, err := parseAdvisors(args, readTestdata(t, "advisors_foundation_warn.json"))
		require.NoError(t, err)
		require.Empty(t, fs)
	})

	t.Run("every level on a broken schema", func(t *testing.T) {
		t.Parallel()
		fs, err := parseAdvisors(args, readTestdata(t, "advisors_findings.json"))
		require.NoError(t, err)
		got := map[string]string{}
		for _, f := range fs {
			got[f.Name+" "+f.Object] = f.Level
		}
		require.Equal(t, map[string]string{
			"unindexed_foreign_keys public.u":           "INFO",
			"function_search_path_mutable public.warn1": "WARN",
			"function_search_path_mutable private.bad":  "WARN",
			"rls_disabled_in_public public.t":           "ERROR",
		}, got)
		require.Len(t, SchemaFindings(fs), 4)
	})

	t.Run("connection error envelope", func(t *testing.T) {
		t.Parallel()
		_, err := parseAdvisors(args, readTestdata(t, "connect_error.json"))
		var e *Error
		require.ErrorAs(t, err, &e)
		require.Equal(t, "DbConnectError", e.Code)
		require.Contains(t, e.Message, "ECONNREFUSED")
	})

	t.Run("garbage", func(t *testing.T) {
		t.Parallel()
		_, err := parseAdvisors(args, []byte("not json"))
		require.ErrorContains(t, err, "parse output")
	})
}

func TestParseLint(t *testing.T) {
	t.Parallel()
	args := []string{"db", "lint"}

	fs, err := parseLint(args, readTestdata(t, "lint_foundation.json"))
	require.NoError(t, err)
	require.Empty(t, fs)

	fs, err = parseLint(args, readTestdata(t, "lint_findings.json"))
	require.NoError(t, err)
	require.Len(t, fs, 3)
	require.Equal(t, Finding{
		Source: "lint", Name: "plpgsql_check", Level: "error", Object: "private.bad",
		Title:    `column "nosuchcol" does not exist`,
		Detail:   `column "nosuchcol" does not exist (line 4, SQL statement): select nosuchcol        from public.t`,
		SQLState: "42703",
	}, fs[0])
	require.Equal(t, "warning", fs[1].Level)
	require.Equal(t, "public.warn1", fs[1].Object)
	require.Equal(t, "warning extra", fs[2].Level)
	require.Len(t, SchemaFindings(fs), 3, "lint findings are never filtered")
}

func TestJSONDocTolerantOfLeadingText(t *testing.T) {
	t.Parallel()
	out := []byte("Target: custom Postgres\n{\"migrations\":[]}\n")
	rows, err := parseMigrationList(nil, out)
	require.NoError(t, err)
	require.Empty(t, rows)
}

func TestNewWorkdir(t *testing.T) {
	t.Parallel()

	t.Run("symlinks the migrations folder by absolute path", func(t *testing.T) {
		t.Parallel()
		mig := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(mig, "20260101000000_a.sql"), []byte("select 1;\n"), 0o644))
		w, err := NewWorkdir(mig)
		require.NoError(t, err)
		link := filepath.Join(w.Dir, "supabase", "migrations")
		target, err := os.Readlink(link)
		require.NoError(t, err)
		require.Equal(t, mig, target)
		_, err = os.Stat(filepath.Join(link, "20260101000000_a.sql"))
		require.NoError(t, err)
		st, err := os.Stat(w.Home)
		require.NoError(t, err)
		require.True(t, st.IsDir())
		_, err = os.Stat(filepath.Join(w.Dir, "supabase", "config.toml"))
		require.ErrorIs(t, err, os.ErrNotExist, "3.1.0 needs no config.toml")

		require.NoError(t, w.Close())
		_, err = os.Stat(w.Dir)
		require.ErrorIs(t, err, os.ErrNotExist)
		_, err = os.Stat(filepath.Join(mig, "20260101000000_a.sql"))
		require.NoError(t, err, "Close must not remove the symlink's target")
	})

	t.Run("relative path is made absolute", func(t *testing.T) {
		t.Parallel()
		w, err := NewWorkdir("testdata")
		require.NoError(t, err)
		defer w.Close()
		target, err := os.Readlink(filepath.Join(w.Dir, "supabase", "migrations"))
		require.NoError(t, err)
		require.True(t, filepath.IsAbs(target))
		wd, err := os.Getwd()
		require.NoError(t, err)
		require.Equal(t, filepath.Join(wd, "testdata"), target)
	})

	t.Run("no migrations folder for database-only commands", func(t *testing.T) {
		t.Parallel()
		w, err := NewWorkdir("")
		require.NoError(t, err)
		defer w.Close()
		_, err = os.Lstat(filepath.Join(w.Dir, "supabase", "migrations"))
		require.ErrorIs(t, err, os.ErrNotExist)
	})

	t.Run("missing or non-directory migrations folder", func(t *testing.T) {
		t.Parallel()
		_, err := NewWorkdir(filepath.Join(t.TempDir(), "nope"))
		require.Error(t, err)
		_, err = NewWorkdir(filepath.Join("testdata", "migration_list.json"))
		require.ErrorContains(t, err, "not a directory")
	})
}

// fakeCLI writes a shell script standing in for the binary: it records its
// arguments, working directory, environment and what supabase/migrations
// points at, then prints the given stdout and exits with the given code.
func fakeCLI(t *testing.T, stdout []byte, code int) (*CLI, string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("shell script stand-in")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "stdout")
	require.NoError(t, os.WriteFile(out, stdout, 0o644))
	rec := filepath.Join(dir, "rec")
	script := `#!/bin/sh
rec=` + rec + `
printf '%s\n' "$@" > "$rec.args"
pwd > "$rec.pwd"
env > "$rec.env"
wd=""; prev=""
for a in "$@"; do [ "$prev" = "--workdir" ] && wd="$a"; prev="$a"; done
readlink "$wd/supabase/migrations" > "$rec.link" 2>/dev/null || true
echo "Target: custom Postgres" >&2
cat ` + out + `
exit ` + map[bool]string{true: "0", false: "1"}[code == 0] + `
`
	bin := filepath.Join(dir, "supabase")
	require.NoError(t, os.WriteFile(bin, []byte(script), 0o755))
	return New(bin), rec
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

func TestRunArgsAndEnvironment(t *testing.T) {
	// Not parallel: sets SUPABASE_ACCESS_TOKEN in the process environment.
	t.Setenv("SUPABASE_ACCESS_TOKEN", "sbp_must_not_leak")
	t.Setenv("SUPABASE_WORKDIR", "/elsewhere")
	ctx := context.Background()
	url := "postgresql://postgres:secret@127.0.0.1:5432/db?sslmode=disable"
	mig := t.TempDir()

	cli, rec := fakeCLI(t, readTestdata(t, "migration_up.json"), 0)
	names, err := cli.MigrationUpApplied(ctx, url, mig)
	require.NoError(t, err)
	require.Equal(t, []string{"20261120000000_foundation.sql"}, names)
	args := readLines(t, rec+".args")
	require.Equal(t, []string{"migration", "up", "--yes", "--remote=" + url, "--workdir"}, args[:5])
	require.Equal(t, []string{"--agent", "no", "--output-format", "json"}, args[6:])
	require.Equal(t, []string{mig}, readLines(t, rec+".link"))
	wd := args[5]
	require.Equal(t, []string{wd}, readLines(t, rec+".pwd"))
	_, err = os.Stat(wd)
	require.ErrorIs(t, err, os.ErrNotExist, "workdir removed after the call")

	env := strings.Join(readLines(t, rec+".env"), "\n")
	for _, want := range []string{"SUPABASE_TELEMETRY_DISABLED=1", "DO_NOT_TRACK=1", "SUPABASE_NO_UPDATE_NOTIFIER=1", "CI=true", "SUPABASE_HOME=" + filepath.Join(wd, "home")} {
		require.Contains(t, env, want)
	}
	require.NotContains(t, env, "sbp_must_not_leak")
	require.NotContains(t, env, "SUPABASE_WORKDIR")

	cli, rec = fakeCLI(t, readTestdata(t, "advisors_foundation.json"), 0)
	fs, err := cli.Advisors(ctx, url)
	require.NoError(t, err)
	require.Len(t, fs, 5)
	args = readLines(t, rec+".args")
	require.Equal(t, []string{"db", "advisors", "--remote=" + url, "--type", "all", "--level", "info", "--fail-on", "none", "--workdir"}, args[:10])
	require.Equal(t, []string{""}, readLines(t, rec+".link"), "no migrations folder for advisors")

	cli, rec = fakeCLI(t, readTestdata(t, "lint_findings.json"), 0)
	fs, err = cli.Lint(ctx, url, "public", "private")
	require.NoError(t, err)
	require.Len(t, fs, 3)
	args = readLines(t, rec+".args")
	require.Equal(t, []string{"db", "lint", "--remote=" + url, "--level", "warning", "--fail-on", "none", "--schema", "public,private", "--workdir"}, args[:10])

	cli, _ = fakeCLI(t, readTestdata(t, "migration_list.json"), 0)
	rows, err := cli.MigrationList(ctx, url, mig)
	require.NoError(t, err)
	require.Len(t, rows, 1)
}

func TestRunFailureIsTypedAndRedacted(t *testing.T) {
	t.Parallel()
	cli, _ := fakeCLI(t, readTestdata(t, "migration_up_error.json"), 1)
	err := cli.MigrationUp(context.Background(), "postgresql://postgres:secret@127.0.0.1:5432/db", t.TempDir())
	var e *Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, 1, e.ExitCode)
	require.Equal(t, "MigrationApplyError", e.Code)
	require.Contains(t, e.Stderr, "Target: custom Postgres")
	require.NotContains(t, err.Error(), "secret")
	require.Contains(t, err.Error(), "postgres:xxxxx@127.0.0.1")
	require.Contains(t, err.Error(), `relation "nowhere" does not exist`)
}

func TestFind(t *testing.T) {
	t.Run("SUPABASE_BIN wins", func(t *testing.T) {
		cli, _ := fakeCLI(t, nil, 0)
		t.Setenv(EnvBin, cli.Bin)
		got, err := Find()
		require.NoError(t, err)
		require.Equal(t, cli.Bin, got.Bin)
	})
	t.Run("SUPABASE_BIN not executable", func(t *testing.T) {
		t.Setenv(EnvBin, filepath.Join(t.TempDir(), "missing"))
		_, err := Find()
		require.True(t, errors.Is(err, ErrNotInstalled))
	})
	t.Run("candidates under the tool's directory, the npm shim last", func(t *testing.T) {
		dir, err := tools.Dir("supabase")
		require.NoError(t, err)
		c := candidates(dir)
		require.NotEmpty(t, c)
		require.Equal(t, filepath.Join(dir, "node_modules", ".bin", "supabase"), c[len(c)-1])
	})
	t.Run("platform names match the npm packages", func(t *testing.T) {
		require.Equal(t, []string{"linux-x64", "linux-x64-musl"}, platforms("linux", "amd64"))
		require.Equal(t, []string{"darwin-arm64"}, platforms("darwin", "arm64"))
		require.Nil(t, platforms("plan9", "386"))
	})
}

func TestParseDBPush(t *testing.T) {
	t.Parallel()
	names, err := parseDBPush([]string{"db", "push"}, readTestdata(t, "db_push.json"))
	require.NoError(t, err)
	require.Equal(t, []string{"20200101000000_theirs_before.sql", "20261120500000_theirs_between.sql"}, names)
}
