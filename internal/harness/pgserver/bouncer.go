package pgserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mentordb/mentordb/internal/harness/tools"
)

// EnvBouncer names the environment variable that points at a pgbouncer
// executable, overriding discovery.
const EnvBouncer = "PGBOUNCER"

// DefaultBouncer is where Debian's pgbouncer package installs the program:
// /usr/sbin, which is not on an unprivileged user's PATH.
const DefaultBouncer = "/usr/sbin/pgbouncer"

// BouncerOptions tune StartBouncer. The zero value is valid.
type BouncerOptions struct {
	// Logf receives progress messages; nil discards them.
	Logf func(format string, args ...any)

	// PoolSize is PgBouncer's default_pool_size: how many server
	// connections each (database, user) pair gets. Small on purpose
	// (default 2): many clients then share few server connections, which is
	// what proves that nothing of one client's transaction is left on a
	// server connection for the next.
	PoolSize int

	// StartTimeout bounds how long StartBouncer waits for PgBouncer to
	// serve a query (default 30s).
	StartTimeout time.Duration
}

func (o BouncerOptions) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf("pgserver: "+format, args...)
	}
}

// Bouncer is a PgBouncer in pool_mode = transaction in front of a Server, as
// Supabase's pooler is used on port 6543: a server connection belongs to a
// client for one transaction only, then serves the next client.
type Bouncer struct {
	// URL connects through PgBouncer to the database "postgres" as the
	// server's user. Every database of the server is reachable by
	// replacing the path (PgBouncer's "*" entry forwards any name).
	URL string
	// AdminURL connects to PgBouncer's admin console (database pgbouncer),
	// which answers SHOW POOLS, SHOW SERVERS and the like.
	AdminURL string
	// Dir holds pgbouncer.ini and pgbouncer.log; removed by Stop.
	Dir string
	// PoolSize is the default_pool_size it runs with.
	PoolSize int
	// Version is PgBouncer's version line.
	Version string

	stop     func() error
	stopOnce sync.Once
	stopErr  error
}

// Stop stops PgBouncer and removes its directory. Safe to call more than once
// and on nil.
func (b *Bouncer) Stop() error {
	if b == nil {
		return nil
	}
	b.stopOnce.Do(func() {
		if b.stop != nil {
			b.stopErr = b.stop()
		}
	})
	return b.stopErr
}

// StartBouncer starts PgBouncer from the local pgbouncer program in front of
// s, in transaction pooling mode, on a free loopback port, in a temporary
// directory, as the OS user postgres when running as root (PgBouncer refuses
// root, as postgres does). The caller must call Stop. Without a pgbouncer
// program the error says where it looked and how to install it.
//
// For a KindDocker server PgBouncer runs in a container of the server's
// image instead, so a machine with Docker needs no pgbouncer of its own.
func StartBouncer(ctx context.Context, s *Server, opts BouncerOptions) (*Bouncer, error) {
	if opts.PoolSize == 0 {
		opts.PoolSize = 2
	}
	up, err := upstreamOf(s.URL)
	if err != nil {
		return nil, err
	}
	if s.docker != nil {
		return startDockerBouncer(ctx, opts, s.docker, up)
	}
	path, err := findBouncer(os.Getenv, exec.LookPath, tools.Executable)
	if err != nil {
		return nil, err
	}
	return startBouncer(ctx, opts, path, up)
}

// findBouncer finds the pgbouncer program: $PGBOUNCER if set (taken as given:
// an explicit choice that is broken is an error, not a reason to pick
// something else), else pgbouncer on PATH, else DefaultBouncer. lookPath and
// isExec are parameters so discovery is unit-testable.
func findBouncer(getenv func(string) string, lookPath func(string) (string, error), isExec func(string) bool) (string, error) {
	if p := getenv(EnvBouncer); p != "" {
		if !isExec(p) {
			return "", fmt.Errorf("%s=%s: not an executable file", EnvBouncer, p)
		}
		return p, nil
	}
	reasons := []string{EnvBouncer + " unset"}
	if p, err := lookPath("pgbouncer"); err == nil {
		return p, nil
	} else {
		reasons = append(reasons, fmt.Sprintf("PATH: %v", err))
	}
	if isExec(DefaultBouncer) {
		return DefaultBouncer, nil
	}
	reasons = append(reasons, DefaultBouncer+": no executable")
	return "", errors.New("no pgbouncer (" + strings.Join(reasons, "; ") + "); install the Debian package pgbouncer")
}

// upstream is where PgBouncer forwards to.
type upstream struct {
	host, user, password string
	port                 uint16
}

// upstreamOf reads the server address and login from a server URL. A
// password is forwarded in pgbouncer.ini, whose values cannot carry quotes
// or spaces, so such a password is refused here rather than mangled.
func upstreamOf(url string) (upstream, error) {
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		return upstream{}, fmt.Errorf("bouncer: parse server URL: %w", err)
	}
	if strings.ContainsAny(cfg.Password, " '\"\\") {
		return upstream{}, errors.New("bouncer: the server password contains a quote, space or backslash, which pgbouncer.ini cannot carry")
	}
	return upstream{host: cfg.Host, port: cfg.Port, user: cfg.User, password: cfg.Password}, nil
}

// bouncerConfig renders pgbouncer.ini.
//
//   - "*" forwards every database name to the server, so each test's cloned
//     database is reachable without a configuration reload, logging in as
//     the server's user (auth_type = any: the client's user name is
//     ignored, as every database logs in as that forced user; it also opens
//     the admin console to any client, which is what tests want).
//   - pool_mode = transaction, the mode of Supabase's pooler on port 6543.
//   - server_reset_query is not used in transaction mode (PgBouncer runs it
//     only when a session ends in session mode), so nothing cleans a server
//     connection between clients: whatever a transaction leaves behind is
//     seen by the next client. That is the condition the suites need.
//   - protocol-level prepared statements are not tracked: a client's named
//     prepared statement lives on whichever server connection it was
//     prepared on, exactly the failure a misconfigured client must meet.
//     PgBouncer 1.18 (Debian 12) cannot track them; from 1.21 it can
//     (max_prepared_statements) and from 1.22 does by default (Debian 13
//     has 1.24), so there it is set to 0, and 1.18 refuses the setting.
//
// listen is the address it listens on: 127.0.0.1, or all addresses inside
// a container whose port is published. version is `pgbouncer --version`'s
// first line.
func bouncerConfig(dir, listen string, port, poolSize int, up upstream, version string) string {
	db := []string{"host=" + up.host, "port=" + strconv.Itoa(int(up.port)), "user=" + up.user}
	if up.password != "" {
		db = append(db, "password="+up.password)
	}
	settings := map[string]string{
		"listen_addr":     listen,
		"listen_port":     strconv.Itoa(port),
		"unix_socket_dir": dir,
		"auth_type":       "any",
		"pool_mode":       "transaction",
		// Idle server connections are handed out in turn, not last-in
		// first-out: one client's consecutive transactions then land on
		// different server connections, the harshest case for anything
		// left behind on a session.
		"server_round_robin": "1",
		"default_pool_size":  strconv.Itoa(poolSize),
		"min_pool_size":      "0",
		"reserve_pool_size":  "0",
		"max_client_conn":    "1000",
		"logfile":            dir + "/" + bouncerLog,
		// pgx sends none of these, but psql and other drivers do; ignoring
		// them keeps such clients from being refused.
		"ignore_startup_parameters": "extra_float_digits,options",
		// Quiet: connection churn from hundreds of tests is noise.
		"log_connections":    "0",
		"log_disconnections": "0",
	}
	if tracksPrepared(version) {
		settings["max_prepared_statements"] = "0"
	}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("[databases]\n* = " + strings.Join(db, " ") + "\n\n[pgbouncer]\n")
	for _, k := range keys {
		b.WriteString(k + " = " + settings[k] + "\n")
	}
	return b.String()
}

// tracksPrepared says whether a PgBouncer of that version line
// ("PgBouncer 1.24.1") knows max_prepared_statements (1.21 and later).
func tracksPrepared(version string) bool {
	f := strings.Fields(version)
	if len(f) < 2 {
		return false
	}
	parts := strings.Split(f[1], ".")
	if len(parts) < 2 {
		return false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	return err1 == nil && err2 == nil && (major > 1 || major == 1 && minor >= 21)
}

const (
	bouncerPrefix = dirPrefix + "bouncer-" // cleaned up like a server directory
	bouncerIni    = "pgbouncer.ini"
	bouncerLog    = "pgbouncer.log"
)
