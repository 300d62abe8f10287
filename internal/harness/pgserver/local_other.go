//go:build !unix

package pgserver

import (
	"context"
	"errors"
)

// startLocal is unsupported off Unix: it relies on process groups, flock and
// switching to the postgres user. Use Docker or CONFORMANCE_DATABASE_URL.
func startLocal(context.Context, Options, binaries) (*Server, error) {
	return nil, errors.New("local PostgreSQL binaries are supported on Unix only")
}

// processAlive cannot tell off Unix; claiming alive keeps cleanup from
// removing anything that might be in use.
func processAlive(int) bool { return true }

// startBouncer is unsupported off Unix for the reasons startLocal is.
func startBouncer(context.Context, BouncerOptions, string, upstream) (*Bouncer, error) {
	return nil, errors.New("pgbouncer is supported on Unix only")
}

// flockWait does not lock off Unix: parallel test binaries may then build
// the same image twice, which costs time, not correctness.
func flockWait(string) (func(), error) { return func() {}, nil }
