// Command mentordb migrates mentordb databases, boots a disposable one for
// development, and builds the conformance report.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

const usage = `mentordb — the schema and data layer of the peer-mentor app

usage:
  mentordb migrate up|status [--database-url URL]
  mentordb migrate down --to V [--yes] [--database-url URL]
  mentordb migrate export --dir DIR write the migrations into a Supabase project's supabase/migrations
  mentordb dev [-keep] [-v] [-c name=value]... [-- command [arg]...]
                                    boot a disposable PostgreSQL with the schema: print DATABASE_URL,
                                    or run the command with it and remove the server after
  mentordb report [--json F] [--md F] [--junit F] [--mutants F] [--summary F] < go-test.json
                                    build the conformance report from 'go test -json'
  mentordb seed [--database-url URL] [--orgs N] [--first-org K] [--activities-per-org M] [--seed S]
                                    load deterministic realistic data (default 10 orgs x 100,000 activities)
  mentordb bench [--out F] [--skip-conformance] [--conformance-cmd C] [--only pause|brin|wire|insert]
                 [--orgs N] [--activities-per-org M] [--growth-orgs G] [--seed S]
                                    measure the performance targets of DESIGN.md on a disposable PostgreSQL
  mentordb mutants [--json F] [--workers N] [--only RE] [--fallback] [--list] [-v]
                                    mutation testing of the matrix (CONF-4): every mutant of the schema
                                    must be killed by a behavioural test
  mentordb review --base REF [--out DIR] [--summary F] [-v]
                                    what the schema change since REF does (access, catalog, locks,
                                    rollbacks, squawk); fails when a guarantee is lost

DATABASE_URL is read when --database-url is not given.
'mentordb COMMAND -h' describes a command and its flags.
`

func main() {
	err := run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	if msg := message(err); msg != "" {
		fmt.Fprintf(os.Stderr, "mentordb: %s\n", msg)
	}
	os.Exit(exitCode(err))
}

// exitError carries a specific exit status, e.g. 1 for a failing report,
// and the one line that says why.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

// message is what main prints for err: nothing for help (the usage is
// already on stdout), the error otherwise.
func message(err error) string {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return ""
	}
	return err.Error()
}

// exitCode is 0 for success and for -h, the exitError's code, else 2.
func exitCode(err error) int {
	var e exitError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &e):
		return e.code
	}
	return 2
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("missing command")
	}
	switch args[0] {
	case "migrate":
		return runMigrate(ctx, args[1:], stdout, stderr)
	case "dev":
		return runDev(ctx, args[1:], stdin, stdout, stderr)
	case "report":
		return runReport(args[1:], stdin, stdout, stderr)
	case "seed":
		return runSeed(ctx, args[1:], stdout, stderr)
	case "bench":
		return runBench(ctx, args[1:], stdout, stderr)
	case "mutants":
		return runMutants(ctx, args[1:], stdout, stderr)
	case "review":
		return runReview(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
