package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mentordb/mentordb/internal/harness/pgserver"
	"github.com/mentordb/mentordb/internal/harness/provision"
)

const devUsage = `usage: mentordb dev [-keep] [-v] [-c name=value]... [-- command [arg]...]
Boots a disposable PostgreSQL (15, or the major CONFORMANCE_PG_MAJOR names; the
provider as the conformance suite chooses it) with the platform SQL and migrations applied.

Without a command it prints DATABASE_URL=<url> on stdout and serves until
Ctrl-C or SIGTERM. It holds the terminal: use the URL from a second one, or in
a script:

  mentordb dev > dev.env &
  until grep -q '^DATABASE_URL=' dev.env; do sleep 1; done
  export "$(grep '^DATABASE_URL=' dev.env)"
  ...                  # mentordb seed, go run ./yourapp, psql "$DATABASE_URL"
  kill %1              # stops and removes the server

With a command it runs the command with DATABASE_URL and
MENTORDB_TEST_DATABASE_URL (the same superuser URL) in its environment,
removes the server when it ends and exits with its status:

  mentordb dev -- go test ./db/...

`

// envTestDatabaseURL is the variable db's tests and examples read their
// server from.
const envTestDatabaseURL = "MENTORDB_TEST_DATABASE_URL"

// runDev implements `mentordb dev`: boot a disposable PostgreSQL (the same
// provider as the conformance suite: CONFORMANCE_DATABASE_URL, else Docker,
// else local binaries), prepare it, then either run the command after "--"
// against it, or print DATABASE_URL=<url> on stdout (one line, so a script
// can wait for it in a file, as devUsage shows; a pipe such as
// $(mentordb dev | head -1) would wait for dev to exit, which it does only
// when stopped) and serve until SIGINT or SIGTERM; then stop it cleanly.
//
// The local postmaster runs in its own process group, so a Ctrl-C at the
// terminal reaches only this process; we catch it and shut the server down
// in order, removing its directory, instead of leaving both to the kernel.
func runDev(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (err error) {
	args, command := splitCommand(args)
	fs := newFlags("dev")
	keep := fs.Bool("keep", false, "keep a local server's data directory and log after stopping, for inspection")
	verbose := fs.Bool("v", false, "log what the server provider does")
	settings := settingsFlag{}
	fs.Var(settings, "c", "extra server setting `name=value` (repeatable)")
	if err := parse(fs, devUsage, args, stdout); err != nil {
		return err
	}

	ctx, stopSignals := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	// stopped says which signal ended the run, when one did.
	stopped := func() error {
		if cause := context.Cause(ctx); ctx.Err() != nil && cause != context.Canceled { // a signal's cause also Is context.Canceled
			return cause
		}
		return nil
	}

	opts := pgserver.Options{Keep: *keep, Settings: settings}
	if *verbose {
		opts.Logf = func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) }
	}
	srv, err := pgserver.Start(ctx, opts)
	if err != nil {
		if sig := stopped(); sig != nil {
			return fmt.Errorf("dev: stopped (%v) while the server was starting", sig)
		}
		return fmt.Errorf("dev: %w", err)
	}
	defer func() {
		if serr := srv.Stop(); serr != nil {
			err = errors.Join(err, fmt.Errorf("dev: stop server: %w", serr))
		}
	}()

	// The platform shim, then every migration by the Go runner: the same
	// schema the conformance templates hold.
	if err := provision.Prepare(ctx, srv.URL); err != nil {
		if sig := stopped(); sig != nil {
			return fmt.Errorf("dev: stopped (%v) while preparing the database", sig)
		}
		return fmt.Errorf("dev: prepare database: %w", err)
	}

	if len(command) > 0 {
		return runCommand(ctx, srv.URL, command, stdin, stdout, stderr)
	}
	fmt.Fprintf(stdout, "DATABASE_URL=%s\n", srv.URL)
	fmt.Fprintf(stderr, "dev: PostgreSQL (%s) ready; Ctrl-C to stop.\n", srv.Kind)
	fmt.Fprintf(stderr, "dev: this terminal is now the server's; in a second one:\n")
	fmt.Fprintf(stderr, "      export DATABASE_URL='%s'\n", srv.URL)
	fmt.Fprintf(stderr, "      mentordb seed --orgs 2 --activities-per-org 1000   # or psql \"$DATABASE_URL\"\n")
	<-ctx.Done()
	if sig := stopped(); sig != nil {
		fmt.Fprintf(stderr, "dev: stopped (%v); removing the server\n", sig)
	} else {
		fmt.Fprintln(stderr, "dev: stopping")
	}
	return nil // the deferred Stop reports its own failure
}

// settingsFlag collects repeated -c name=value flags.
type settingsFlag map[string]string

func (s settingsFlag) String() string {
	parts := make([]string, 0, len(s))
	for k, v := range s {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ",")
}

func (s settingsFlag) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("want name=value, got %q", v)
	}
	s[strings.TrimSpace(name)] = value
	return nil
}

// splitCommand cuts args at the first "--": dev's flags, then the command.
func splitCommand(args []string) (flags, command []string) {
	for i, a := range args {
		if a == "--" {
			return args[:i], args[i+1:]
		}
	}
	return args, nil
}

// runCommand runs command with the server at url in its environment and
// returns its failure with its exit status. A signal that stops dev reaches
// the command as an interrupt, and dev waits for it before removing the
// server.
func runCommand(ctx context.Context, url string, command []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := exec.CommandContext(ctx, command[0], command[1:]...)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+url, envTestDatabaseURL+"="+url)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = time.Minute
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code := exit.ExitCode()
		if code < 1 {
			code = 1 // ended by a signal
		}
		return exitError{code, fmt.Sprintf("dev: %s: %v", strings.Join(command, " "), err)}
	}
	if err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	return nil
}
