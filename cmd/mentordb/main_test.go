package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/db/migrate"
	"github.com/mentordb/mentordb/internal/harness/provision"
	"github.com/mentordb/mentordb/internal/harness/testdb"
)

// TestMain runs the tests, or, when the test binary is started with
// envRunMain set, the command itself (so TestDevSignals can signal a real
// process without building the binary again).
func TestMain(m *testing.M) {
	if os.Getenv(envDevProbe) == "1" {
		os.Exit(devProbe())
	}
	if os.Getenv(envRunMain) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(testdb.Main(m, testdb.Config{Migrator: provision.Migrator{}, CodeDirs: provision.CodeDirs}))
}

const envRunMain = "MENTORDB_TEST_RUN_MAIN"

// envDevProbe makes the test binary the command of TestDevRunsCommand: it
// prints the URL it was given and exits with devProbeOK when that URL
// reaches a migrated database.
const (
	envDevProbe = "MENTORDB_TEST_DEV_PROBE"
	devProbeOK  = 7
)

func devProbe() int {
	url := os.Getenv(envTestDatabaseURL)
	fmt.Println(url)
	if url == "" || os.Getenv("DATABASE_URL") != url {
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer c.Close(ctx)
	var migrated bool
	if err := c.QueryRow(ctx, `SELECT to_regclass('public.proxy_activities') IS NOT NULL`).Scan(&migrated); err != nil || !migrated {
		fmt.Fprintln(os.Stderr, "not migrated:", err)
		return 1
	}
	return devProbeOK
}

// invocation is one run of the command as main would do it.
type invocation struct {
	code           int
	stdout, stderr string
	message        string // what main prints on stderr after the run
}

func invoke(t *testing.T, stdin string, args ...string) invocation {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return invocation{code: exitCode(err), stdout: out.String(), stderr: errb.String(), message: message(err)}
}

// TestHelp: -h, -help and --help on the command and on every subcommand
// print that usage once, to stdout, and exit 0.
func TestHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-h"}, {"--help"}, {"help"},
		{"migrate", "-h"}, {"migrate", "--help"}, {"migrate", "help"},
		{"migrate", "up", "-h"}, {"migrate", "down", "--help"}, {"migrate", "status", "-h"}, {"migrate", "export", "-h"},
		{"dev", "-h"}, {"dev", "--help"}, {"report", "-h"}, {"seed", "-h"}, {"seed", "-help"}, {"bench", "--help"},
		{"review", "-h"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			got := invoke(t, "", args...)
			require.Equal(t, 0, got.code)
			require.Empty(t, got.stderr)
			require.Empty(t, got.message)
			require.Equal(t, 1, strings.Count(got.stdout, "usage:"), got.stdout)
		})
	}
}

// TestMigrateVerbFlags: each verb lists only its own flags.
func TestMigrateVerbFlags(t *testing.T) {
	t.Parallel()
	status := invoke(t, "", "migrate", "status", "-h").stdout
	require.Contains(t, status, "-database-url")
	require.NotContains(t, status, "-to")
	require.NotContains(t, status, "-yes")
	down := invoke(t, "", "migrate", "down", "-h").stdout
	require.Contains(t, down, "-to")
	require.Contains(t, down, "-yes")
	got := invoke(t, "", "migrate", "status", "--to", "0")
	require.Equal(t, 2, got.code)
	require.Contains(t, got.message, "flag provided but not defined: -to")
}

// TestBadFlag: a bad flag is one line on stderr (main's), no usage dump.
func TestBadFlag(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"migrate", "up", "-bogus"}, {"migrate", "down", "-bogus"}, {"migrate", "export", "-bogus"}, {"dev", "-bogus"},
		{"seed", "-bogus"}, {"report", "-bogus"}, {"bench", "-bogus"}, {"dev", "extra"}, {"review", "-bogus"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			got := invoke(t, "", args...)
			require.Equal(t, 2, got.code)
			require.Empty(t, got.stdout)
			require.Empty(t, got.stderr)
			require.NotContains(t, got.message, "\n")
			require.Contains(t, got.message, "-h)")
			require.Equal(t, 1, strings.Count(got.message, args[len(args)-1]), got.message)
		})
	}
	got := invoke(t, "", "migrate", "-bogus")
	require.Equal(t, 2, got.code)
	require.Contains(t, got.message, `unknown verb "-bogus"`)
	got = invoke(t, "", "review")
	require.Equal(t, 2, got.code)
	require.Contains(t, got.message, "--base is required")
}

// TestReportInput: no input is a clear error; a failing run is one line
// that says what failed, never "exit status 1".
func TestReportInput(t *testing.T) {
	t.Parallel()
	got := invoke(t, "", "report")
	require.Equal(t, 2, got.code)
	require.Contains(t, got.message, "no test results on stdin")

	failing := `{"Action":"fail","Package":"p","Test":"TestA"}` + "\n"
	got = invoke(t, failing, "report", "--summary", "")
	require.Equal(t, 1, got.code)
	require.Contains(t, got.message, "1 tests failed")
	require.NotContains(t, got.message, "exit status")
	require.Contains(t, got.stdout, "tests: 0 passed, 1 failed, 0 skipped")
}

// TestReportJUnitAndSummary: --junit checks the file against the stream and
// the summary is appended to $GITHUB_STEP_SUMMARY.
func TestReportJUnitAndSummary(t *testing.T) {
	dir := t.TempDir()
	summary := filepath.Join(dir, "summary.md")
	require.NoError(t, os.WriteFile(summary, []byte("earlier step\n"), 0o644))
	t.Setenv("GITHUB_STEP_SUMMARY", summary)
	junit := filepath.Join(dir, "junit.xml")
	stream := `{"Action":"pass","Package":"p","Test":"TestA"}` + "\n"

	require.NoError(t, os.WriteFile(junit, []byte(`<testsuites><testsuite name="p"><testcase classname="p" name="TestA"></testcase></testsuite></testsuites>`), 0o644))
	got := invoke(t, stream, "report", "--junit", junit)
	require.Equal(t, 1, got.code) // requirements are missing from this tiny run
	require.Contains(t, got.stdout, "agrees with the JSON stream: 1 tests")
	b, err := os.ReadFile(summary)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(b), "earlier step\n### Conformance FAILED"), string(b))
	require.Contains(t, string(b), "tests: 1 passed, 0 failed, 0 skipped")

	require.NoError(t, os.WriteFile(junit, []byte(`<testsuites><testsuite name="p"><testcase classname="p" name="TestA"><failure/></testcase></testsuite></testsuites>`), 0o644))
	got = invoke(t, stream, "report", "--junit", junit, "--summary", "")
	require.Equal(t, 2, got.code)
	require.Contains(t, got.message, "p TestA: pass in the JSON stream, fail in the JUnit file")
}

// TestMigrateDownGuard: down asks for --yes when the database holds rows,
// changing nothing without it, and says when there is nothing to do.
func TestMigrateDownGuard(t *testing.T) {
	t.Parallel()
	d := testdb.New(t)
	ctx := testdb.Ctx(t)
	var latest string
	require.NoError(t, d.Pool.QueryRow(ctx, `SELECT max(version) FROM supabase_migrations.schema_migrations`).Scan(&latest))

	got := invoke(t, "", "migrate", "down", "--to", latest, "--database-url", d.URL)
	require.Equal(t, 0, got.code, got.message)
	require.Equal(t, "nothing to roll back: no applied migration is newer than "+latest+"\n", got.stdout)

	_, err := d.Pool.Exec(ctx, `INSERT INTO public.organizations (name) VALUES ('kept')`)
	require.NoError(t, err)
	got = invoke(t, "", "migrate", "down", "--to", "0", "--database-url", d.URL)
	require.Equal(t, 2, got.code)
	require.Contains(t, got.message, "organizations")
	require.Contains(t, got.message, "--yes")
	var n int
	require.NoError(t, d.Pool.QueryRow(ctx, `SELECT count(*) FROM public.organizations`).Scan(&n))
	require.Equal(t, 1, n, "refused down changed nothing")

	got = invoke(t, "", "migrate", "down", "--to", "0", "--yes", "--database-url", d.URL)
	require.Equal(t, 0, got.code, got.message)
	require.Contains(t, got.stdout, "rolled back")
	var exists bool
	require.NoError(t, d.Pool.QueryRow(ctx, `SELECT to_regclass('public.organizations') IS NOT NULL`).Scan(&exists))
	require.False(t, exists)
}

// TestSeedTwice: a second seed of the same organisations explains itself.
func TestSeedTwice(t *testing.T) {
	t.Parallel()
	d := testdb.New(t)
	args := []string{"seed", "--database-url", d.URL, "--orgs", "1", "--activities-per-org", "100"}
	got := invoke(t, "", args...)
	require.Equal(t, 0, got.code, got.message)
	require.Contains(t, got.stdout, "seeded 1 orgs")
	require.Contains(t, got.stdout, "rows/s")

	got = invoke(t, "", args...)
	require.Equal(t, 2, got.code)
	require.Contains(t, got.message, "already holds 1 organisations")
	require.Contains(t, got.message, "--first-org 1")

	got = invoke(t, "", append(args, "--first-org", "1")...)
	require.Equal(t, 0, got.code, got.message)
	require.Contains(t, got.stdout, "seeded 1 orgs (from index 1)")
}

// TestProgressRate: the plain progress lines and the summary agree on the
// copy's rate, and the ETA is the rows left at that rate.
func TestProgressRate(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	p := newProgress(&b, false)
	p.phase("copy proxy_activities")
	p.copyStart = time.Now().Add(-2 * time.Second)
	p.update(1000, 4000)
	line := b.String()[strings.LastIndex(strings.TrimRight(b.String(), "\n"), "\n")+1:]
	var done, total, pct int
	var rate float64
	var eta string
	_, err := fmt.Sscanf(line, "activities %d/%d (%d%%) %f rows/s eta %s", &done, &total, &pct, &rate, &eta)
	require.NoError(t, err, line)
	require.Equal(t, []int{1000, 4000, 25}, []int{done, total, pct})
	require.InDelta(t, 450, rate, 50, "1,000 rows in a little over 2 s: %s", line)
	left, err := time.ParseDuration(eta)
	require.NoError(t, err)
	require.InDelta(t, 3000/rate, left.Seconds(), 0.6, "the rows left at that rate, to the second: %s", line)
	p.finish()
	require.InDelta(t, 2*time.Second, p.copyTime(), float64(time.Second))
}

// TestDevSignals runs the command in a process of its own: SIGTERM while booting says it was
// stopped (not a timeout); once ready, dev prints how to use the URL from a
// second terminal and, on SIGTERM, that it was stopped.
func TestDevSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("boots PostgreSQL twice")
	}
	t.Parallel()
	testdb.Server(t) // fails in CI, skips elsewhere, where no PostgreSQL can run
	bin, err := os.Executable()
	require.NoError(t, err)

	start := func() (*exec.Cmd, *bufio.Scanner, *bytes.Buffer) {
		cmd := exec.Command(bin, "dev")
		cmd.Env = append(os.Environ(), "CONFORMANCE_DATABASE_URL=", envRunMain+"=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill() })
		return cmd, bufio.NewScanner(stdout), &stderr
	}

	t.Run("SIGTERM while booting", func(t *testing.T) {
		// A signal that arrives before dev has installed its handler kills
		// the process outright (a loaded machine can take longer than the
		// first delay to start it): that says nothing about dev, so the
		// signal is sent again, later, to a new process.
		var err error
		var msg string
		for _, delay := range []time.Duration{300 * time.Millisecond, time.Second, 2 * time.Second} {
			cmd, _, stderr := start()
			time.Sleep(delay)
			require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
			err = cmd.Wait()
			msg = stderr.String()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || !exit.Sys().(syscall.WaitStatus).Signaled() {
				break
			}
			t.Logf("SIGTERM after %s came before dev's handler: %v", delay, err)
		}
		if err == nil {
			// The server was ready before the signal (a fast machine).
			require.Contains(t, msg, "dev: stopped (")
			return
		}
		require.Contains(t, msg, "stopped")
		require.NotContains(t, msg, "not ready after")
	})
	t.Run("SIGTERM when ready", func(t *testing.T) {
		cmd, stdout, stderr := start()
		require.True(t, stdout.Scan(), stderr.String())
		require.True(t, strings.HasPrefix(stdout.Text(), "DATABASE_URL=postgres"), stdout.Text())
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		require.NoError(t, cmd.Wait())
		msg := stderr.String()
		require.Contains(t, msg, "in a second one:")
		require.Contains(t, msg, "export DATABASE_URL='"+strings.TrimPrefix(stdout.Text(), "DATABASE_URL=")+"'")
		require.Contains(t, msg, "dev: stopped (")
	})
}

// TestDevRunsCommand: `dev -- command` runs the command with the URL of a
// migrated database in its environment while the server lives, exits with
// the command's status, and removes the server after.
func TestDevRunsCommand(t *testing.T) {
	t.Parallel()
	testdb.Server(t) // fails in CI, skips elsewhere, where no PostgreSQL can run
	bin, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(bin, "dev", "--", "env", envDevProbe+"=1", bin)
	cmd.Env = append(os.Environ(), "CONFORMANCE_DATABASE_URL=", envRunMain+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, stderr.String())
	require.Equal(t, devProbeOK, exit.ExitCode(), "dev exits with the command's status:\n%s%s", stdout.String(), stderr.String())
	url := strings.TrimSpace(stdout.String())
	require.True(t, strings.HasPrefix(url, "postgres"), url)

	ctx := testdb.Ctx(t)
	c, err := pgx.Connect(ctx, url)
	if err == nil {
		c.Close(ctx)
	}
	require.Error(t, err, "the server is gone once the command ended")
}

// TestMigrateExport: the embedded migrations land byte for byte in the
// folder; a second export writes nothing; a conflicting file is refused and
// left as it was.
func TestMigrateExport(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "supabase", "migrations")
	got := invoke(t, "", "migrate", "export", "--dir", dir)
	require.Equal(t, 0, got.code, got.message)
	entries, err := fs.ReadDir(migrate.Default().Migrations, ".")
	require.NoError(t, err)
	require.Equal(t, len(entries), strings.Count(got.stdout, "wrote "))
	for _, e := range entries {
		want, err := fs.ReadFile(migrate.Default().Migrations, e.Name())
		require.NoError(t, err)
		have, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		require.Equal(t, string(want), string(have))
	}
	require.Equal(t, "up to date\n", invoke(t, "", "migrate", "export", "--dir", dir).stdout)

	first := filepath.Join(dir, entries[0].Name())
	require.NoError(t, os.WriteFile(first, []byte("-- edited\n"), 0o644))
	got = invoke(t, "", "migrate", "export", "--dir", dir)
	require.NotEqual(t, 0, got.code)
	require.Contains(t, got.message, "different file for this version")
	b, err := os.ReadFile(first)
	require.NoError(t, err)
	require.Equal(t, "-- edited\n", string(b))

	require.NotEqual(t, 0, invoke(t, "", "migrate", "export").code, "--dir is required")
}

// TestMutantsList: `mutants --list` migrates a database and prints every
// mutant its catalog yields, one per line, the equivalent ones with their
// reason, and runs no test.
func TestMutantsList(t *testing.T) {
	t.Parallel()
	testdb.Server(t) // fails in CI, skips elsewhere, where no PostgreSQL can run
	got := invoke(t, "", "mutants", "--list")
	require.Equal(t, 0, got.code, got.message+got.stderr)
	lines := strings.Split(strings.TrimSpace(got.stdout), "\n")
	require.Contains(t, got.stderr, fmt.Sprintf("%d mutants", len(lines)))
	require.Contains(t, lines, "policy-drop:public.proxy_activities.proxy_activities_insert_own")
	var references string
	for _, l := range lines {
		if strings.HasPrefix(l, "grant-widen:public.proxy_activities:anon:REFERENCES\t") {
			references = l
		}
	}
	require.Contains(t, references, "\tequivalent for ", "an equivalent mutant names the callers it holds for")
	require.Contains(t, references, "(pinned by ", "and the test that pins its assumption")
	require.Contains(t, references, "REFERENCES is used only", "and its reason")
	require.NotContains(t, got.stdout, "mutants: ", "nothing was run")
}
