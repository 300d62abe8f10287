package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/mentordb/mentordb/conformance/pgserver"
	"github.com/mentordb/mentordb/conformance/platform"
)

// runDev implements `mentordb dev`: boot a disposable PostgreSQL (the same
// provider as the conformance suite: CONFORMANCE_DATABASE_URL, else Docker,
// else local binaries), prepare it, print DATABASE_URL=<url> on stdout for
// scripts (`eval "$(mentordb dev | head -1)"` style), and serve until
// SIGINT or SIGTERM, then stop it cleanly.
//
// The local postmaster runs in its own process group, so a Ctrl-C at the
// terminal reaches only this process; we catch it and shut the server down
// in order, removing its directory, instead of leaving both to the kernel.
func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: mentordb dev [-keep] [-v] [-c name=value]...")
		fmt.Fprintln(fs.Output(), "Boots a disposable PostgreSQL 15 with the platform SQL and migrations applied,")
		fmt.Fprintln(fs.Output(), "prints DATABASE_URL=<url> and serves until interrupted.")
		fs.PrintDefaults()
	}
	keep := fs.Bool("keep", false, "keep a local server's data directory and log after stopping, for inspection")
	verbose := fs.Bool("v", false, "log what the server provider does")
	settings := settingsFlag{}
	fs.Var(settings, "c", "extra server setting `name=value` (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err // flag.ErrHelp for -h; the message is already on stderr
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("dev: unexpected arguments %q", fs.Args())
	}

	ctx, stopSignals := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stopSignals()

	opts := pgserver.Options{Keep: *keep, Settings: settings}
	if *verbose {
		opts.Logf = func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) }
	}
	srv, err := pgserver.Start(ctx, opts)
	if err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	defer func() {
		if serr := srv.Stop(); serr != nil {
			err = errors.Join(err, fmt.Errorf("dev: stop server: %w", serr))
		}
	}()

	// The platform shim, then every migration by the Go runner: the same
	// schema the conformance templates hold.
	if err := platform.Prepare(ctx, srv.URL); err != nil {
		return fmt.Errorf("dev: prepare database: %w", err)
	}

	fmt.Fprintf(stdout, "DATABASE_URL=%s\n", srv.URL)
	fmt.Fprintf(stderr, "dev: PostgreSQL (%s) ready; Ctrl-C to stop\n", srv.Kind)
	<-ctx.Done()
	fmt.Fprintln(stderr, "dev: stopping")
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
