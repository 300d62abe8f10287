package testdb

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/mentordb/mentordb/internal/harness/pgserver"
)

var (
	bouncerOnce sync.Once
	bouncer     *pgserver.Bouncer
	bouncerErr  error
)

// Bouncer returns the test binary's PgBouncer, in pool_mode = transaction
// with two server connections per database, in front of the test server; it
// is started on first use and stopped by Main. Without a pgbouncer program
// the test fails in CI and skips elsewhere (the report then shows the
// requirement as missing, never as passed).
func Bouncer(t testing.TB) *pgserver.Bouncer {
	t.Helper()
	s := Server(t)
	bouncerOnce.Do(func() {
		bouncer, bouncerErr = pgserver.StartBouncer(context.Background(), s, pgserver.BouncerOptions{PoolSize: 2})
	})
	if bouncerErr != nil {
		msg := fmt.Sprintf("no PgBouncer for the pooler suites: %v", bouncerErr)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bouncer
}

// BouncerURL connects to d's database through the test binary's PgBouncer.
func (d *DB) BouncerURL(t testing.TB) string {
	t.Helper()
	return WithDatabase(Bouncer(t).URL, d.Name)
}

func stopBouncer() {
	if bouncer != nil {
		if err := bouncer.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "testdb: stop pgbouncer: %v\n", err)
		}
	}
}
