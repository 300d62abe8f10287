// Package pgserver gets a PostgreSQL server for the conformance matrix,
// `mentordb dev` and the benchmarks (requirement CONF-1): major 15 unless
// CONFORMANCE_PG_MAJOR names another (17).
//
// It tries, in order:
//
//  1. CONFORMANCE_DATABASE_URL, if set: a server someone else runs (CI
//     service containers, a developer's own database). Nothing is started or
//     stopped.
//  2. Docker, through dockertest, if a Docker engine answers a ping quickly:
//     the image built from the repository's docker/ directory for that major
//     (plpgsql_check, pgTAP, pg_stat_statements, PgBouncer), its data
//     directory on tmpfs.
//  3. Local PostgreSQL binaries: initdb into a private temporary directory
//     and a postmaster on a free loopback port.
//
// CONFORMANCE_PROVIDER=docker|local|url takes that provider alone and fails,
// saying why, when it cannot start; only then is mentordb's private engine
// (`scripts/setup docker`, PrivateSocket) used without DOCKER_HOST naming it.
//
// The order matters: an explicit URL always wins because the caller asked for
// it; Docker comes before local binaries because the image is the closest to
// what Supabase runs and needs nothing installed; local binaries are the
// fallback that keeps `make conformance` working on machines without Docker
// (and are the fastest: about a second from nothing to ready).
//
// Every server is tuned for disposable use (fsync, synchronous_commit and
// full_page_writes off): durability is worthless for a database that is
// thrown away after the run, and those settings make DDL-heavy test setup
// several times faster.
package pgserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mentordb/mentordb/internal/harness/tools"
)

// EnvDatabaseURL names the environment variable that points the suite at an
// existing server instead of booting one.
const EnvDatabaseURL = "CONFORMANCE_DATABASE_URL"

// EnvProvider names the environment variable that forces a provider: one of
// KindDocker, KindLocal, KindURL.
const EnvProvider = "CONFORMANCE_PROVIDER"

// EnvMajor names the environment variable that chooses the PostgreSQL major
// version (DefaultMajor when unset). A server of another major is an error.
const EnvMajor = "CONFORMANCE_PG_MAJOR"

// DefaultMajor is the major version the suite targets unless told otherwise.
const DefaultMajor = "15"

// majorOf is the major asked for through getenv.
func majorOf(getenv func(string) string) string {
	if m := getenv(EnvMajor); m != "" {
		return m
	}
	return DefaultMajor
}

// Kinds of server, as reported in Server.Kind.
const (
	KindURL    = "url"    // CONFORMANCE_DATABASE_URL; not owned by us
	KindDocker = "docker" // a container started through dockertest
	KindLocal  = "local"  // local binaries in a temporary directory
)

// dirPrefix names every temporary directory a local server lives in, so a
// later Start can find and remove the ones a dead process left behind.
const dirPrefix = "mentordb-pg-"

// Files inside a server directory.
const (
	lockFile   = ".owner.lock" // flock held by the owning process while it lives
	keepMarker = "KEEP"        // written by Stop when Options.Keep: never clean up
	logName    = "postgres.log"
	dataName   = "data"
)

// Options tune Start. The zero value is valid.
type Options struct {
	// Logf receives progress messages (which provider was chosen and why the
	// others were not, timings, where the data directory is). Nil discards
	// them. testing.T.Logf fits.
	Logf func(format string, args ...any)

	// Keep leaves a local server's temporary directory (data directory and
	// postgres.log) on disk after Stop, for inspection. The server itself is
	// still stopped. Kept directories are never cleaned up automatically.
	// It has no effect on the other kinds.
	Keep bool

	// SharedPreloadLibraries are loaded in addition to the defaults
	// (plpgsql_check, for local servers, when its library is installed).
	// A library that does not exist makes Start fail with the server log.
	SharedPreloadLibraries []string

	// Settings are extra server settings (name → value, passed as
	// `-c name=value`), applied after and so overriding the defaults.
	// Ignored for KindURL.
	Settings map[string]string

	// DockerImage is the image used for KindDocker instead of the one built
	// from docker/ (CONFORMANCE_DOCKER_IMAGE likewise). Such an image gets
	// only SharedPreloadLibraries preloaded.
	DockerImage string

	// Cache names a snapshot of a local server's data directory kept across
	// runs in the temporary directory (see Server.Snapshot): when a snapshot
	// under this name, taken with the same binaries, exists, the server
	// boots from a copy of it (Server.Cached) instead of from a fresh
	// initdb's output. The caller's name must identify everything the
	// snapshot holds (schema, data, the code that built them); the server's
	// binaries, and so its major version, are added here. Empty: no
	// snapshot. Ignored by the other kinds.
	Cache string

	// StartTimeout bounds how long Start waits for the server to accept
	// connections. Defaults: 30s for a URL and local binaries, 3 minutes for
	// Docker (which may have to pull the image first).
	StartTimeout time.Duration
}

func (o Options) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf("pgserver: "+format, args...)
	}
}

// Server is a running PostgreSQL server.
type Server struct {
	// URL connects as a superuser to the database "postgres", over TCP.
	URL string
	// Kind is KindURL, KindDocker or KindLocal.
	Kind string
	// Dir is the temporary directory of a KindLocal server (data directory
	// in Dir/data, log in Dir/postgres.log, unix socket in Dir); empty
	// otherwise.
	Dir string
	// SharedPreloadLibraries is the server's shared_preload_libraries, as
	// reported by the server once it was ready. Callers check it for
	// "plpgsql_check" before relying on its profiler.
	SharedPreloadLibraries []string
	// Version is the server's version string (select version()).
	Version string
	// Image is the image a KindDocker server runs.
	Image string
	// Cached says that a local server booted from the snapshot
	// Options.Cache names.
	Cached bool

	docker   *dockerServer // KindDocker
	stop     func() error
	snapshot func(ctx context.Context) error
	stopOnce sync.Once
	stopErr  error
}

// Describe names the server and its provider on one line, for logs and
// reports: "PostgreSQL 17.12 (Debian 17.12-1) via docker (image ...)".
func (s *Server) Describe() string {
	v, _, _ := strings.Cut(s.Version, " on ")
	v, _, _ = strings.Cut(v, ", compiled")
	d := v + " via " + s.Kind
	if s.Image != "" {
		d += " (image " + s.Image + ")"
	}
	return d
}

// Stop stops the server and removes everything Start created (the container,
// or the process and its temporary directory unless Options.Keep). It is safe
// to call more than once and on a nil Server; later calls return the first
// call's result. For KindURL it does nothing.
func (s *Server) Stop() error {
	if s == nil {
		return nil
	}
	s.stopOnce.Do(func() {
		if s.stop != nil {
			s.stopErr = s.stop()
		}
	})
	return s.stopErr
}

// Snapshot stops the server cleanly, keeps a copy of its data directory as
// the snapshot Options.Cache names (a later Start with the same Cache boots
// from it) and starts the server again on its own data directory, under a
// new URL. Call it while no session is open. It fails for a server that
// is not local or was started without Options.Cache.
func (s *Server) Snapshot(ctx context.Context) error {
	if s.snapshot == nil {
		return errors.New("pgserver: only a local server started with Options.Cache can be snapshotted")
	}
	return s.snapshot(ctx)
}

// Start gets a PostgreSQL server, trying CONFORMANCE_DATABASE_URL, then
// Docker, then local binaries (see the package documentation). The caller
// must call Stop. When nothing works, the error explains why for all three.
func Start(ctx context.Context, opts Options) (*Server, error) {
	return start(ctx, opts, realWorld(opts))
}

// world is everything Start needs from outside the process. Start uses the
// real one; tests inject fakes to prove the selection logic without Docker or
// binaries.
type world struct {
	getenv      func(string) string
	pingDocker  func(ctx context.Context) error
	findLocal   func() (binaries, error)
	startURL    func(ctx context.Context, url string) (*Server, error)
	startDocker func(ctx context.Context) (*Server, error)
	startLocal  func(ctx context.Context, b binaries) (*Server, error)
}

func realWorld(opts Options) world {
	return world{
		getenv:     os.Getenv,
		pingDocker: pingDocker,
		findLocal:  func() (binaries, error) { return findBinaries(os.Getenv, runOutput, tools.Executable) },
		startURL: func(ctx context.Context, url string) (*Server, error) {
			return startURL(ctx, opts, url)
		},
		startDocker: func(ctx context.Context) (*Server, error) { return startDocker(ctx, opts, majorOf(os.Getenv)) },
		startLocal:  func(ctx context.Context, b binaries) (*Server, error) { return startLocal(ctx, opts, b) },
	}
}

// choice is the outcome of selection.
type choice struct {
	kind      string
	url       string   // KindURL
	bins      binaries // KindLocal
	dockerErr error    // why Docker was not chosen (for KindLocal; logged)
}

// dockerPingTimeout is how long selection waits for a Docker engine: a
// missing socket fails at once, but a wedged daemon must not stall every test
// run.
const dockerPingTimeout = 2 * time.Second

// choose is the selection rule, a function of the probes alone: the URL if
// set, else Docker if it answers, else local binaries if found, else an error
// naming all three reasons. Probes are called lazily, in that order, so a
// set URL costs no Docker ping and a live Docker no binary search.
func choose(ctx context.Context, databaseURL string, pingDocker func(context.Context) error, findLocal func() (binaries, error)) (choice, error) {
	if databaseURL != "" {
		return choice{kind: KindURL, url: databaseURL}, nil
	}
	pctx, cancel := context.WithTimeout(ctx, dockerPingTimeout)
	dockerErr := pingDocker(pctx)
	cancel()
	if dockerErr == nil {
		return choice{kind: KindDocker}, nil
	}
	b, localErr := findLocal()
	if localErr == nil {
		return choice{kind: KindLocal, bins: b, dockerErr: dockerErr}, nil
	}
	return choice{}, &NoServerError{Docker: dockerErr, Local: localErr}
}

// NoServerError is returned by Start when no provider can be used.
type NoServerError struct {
	Docker error // why Docker could not be used
	Local  error // why local binaries could not be used
}

func (e *NoServerError) Error() string {
	return fmt.Sprintf("no PostgreSQL: %s unset; docker: %v; local: %v", EnvDatabaseURL, e.Docker, e.Local)
}

// Unwrap exposes both causes to errors.Is / errors.As.
func (e *NoServerError) Unwrap() []error { return []error{e.Docker, e.Local} }

func start(ctx context.Context, opts Options, w world) (*Server, error) {
	var s *Server
	var err error
	if p := w.getenv(EnvProvider); p != "" {
		s, err = startForced(ctx, opts, w, p)
	} else {
		s, err = startChosen(ctx, opts, w)
	}
	if err != nil {
		return nil, err
	}
	// A major asked for and not served is an error: a run on the wrong
	// major would prove nothing about the one asked for.
	if want := w.getenv(EnvMajor); want != "" && majorVersion(s.Version) != want {
		serr := s.Stop()
		return nil, errors.Join(fmt.Errorf("%s=%s, but the %s server is %q", EnvMajor, want, s.Kind, s.Version), serr)
	}
	opts.logf("%s", s.Describe())
	return s, nil
}

// startForced starts the provider CONFORMANCE_PROVIDER names, and no other.
func startForced(ctx context.Context, opts Options, w world, provider string) (*Server, error) {
	var s *Server
	var err error
	switch provider {
	case KindURL:
		u := w.getenv(EnvDatabaseURL)
		if u == "" {
			return nil, fmt.Errorf("%s=url, but %s is unset", EnvProvider, EnvDatabaseURL)
		}
		s, err = w.startURL(ctx, u)
	case KindDocker:
		s, err = w.startDocker(ctx)
	case KindLocal:
		b, ferr := w.findLocal()
		if ferr != nil {
			return nil, fmt.Errorf("%s=local: %w", EnvProvider, ferr)
		}
		s, err = w.startLocal(ctx, b)
	default:
		return nil, fmt.Errorf("%s=%q: want %s, %s or %s", EnvProvider, provider, KindDocker, KindLocal, KindURL)
	}
	if err != nil {
		return nil, fmt.Errorf("%s=%s: %w", EnvProvider, provider, err)
	}
	opts.logf("%s=%s", EnvProvider, provider)
	return s, nil
}

// startChosen starts the provider CONF-1's order chooses.
func startChosen(ctx context.Context, opts Options, w world) (*Server, error) {
	c, err := choose(ctx, w.getenv(EnvDatabaseURL), w.pingDocker, w.findLocal)
	if err != nil {
		return nil, err
	}
	switch c.kind {
	case KindURL:
		opts.logf("using %s", EnvDatabaseURL)
		return w.startURL(ctx, c.url)
	case KindDocker:
		opts.logf("Docker engine answered; starting a container")
		s, derr := w.startDocker(ctx)
		if derr == nil {
			return s, nil
		}
		// The engine answered but the container did not come up (no network
		// to pull the image, no disk...). Local binaries may still work, and
		// a working server beats a correct diagnosis.
		if ctx.Err() != nil {
			return nil, fmt.Errorf("docker: %w", derr)
		}
		opts.logf("docker failed (%v); trying local binaries", derr)
		b, lerr := w.findLocal()
		if lerr != nil {
			return nil, &NoServerError{Docker: derr, Local: lerr}
		}
		s, lerr = w.startLocal(ctx, b)
		if lerr != nil {
			return nil, &NoServerError{Docker: derr, Local: lerr}
		}
		return s, nil
	default:
		opts.logf("no Docker engine (%v); using local binaries in %s", c.dockerErr, c.bins.BinDir)
		s, lerr := w.startLocal(ctx, c.bins)
		if lerr != nil {
			return nil, fmt.Errorf("local: %w", lerr)
		}
		return s, nil
	}
}

// startURL adopts an existing server. It still waits until the server
// accepts connections, so a CI service container that is still booting does
// not fail the first test, and a wrong URL fails here with a clear message.
func startURL(ctx context.Context, opts Options, url string) (*Server, error) {
	timeout := opts.StartTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	s := &Server{URL: url, Kind: KindURL}
	if err := serverReady(ctx, s, timeout, nil); err != nil {
		return nil, fmt.Errorf("%s: %w", EnvDatabaseURL, err)
	}
	return s, nil
}

// waitReady calls probe until it succeeds, with a growing pause between
// calls. exited, when not nil, is closed when the process (named by what)
// dies, which ends the wait at once instead of at the timeout.
func waitReady(ctx context.Context, what string, timeout time.Duration, exited <-chan struct{}, probe func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	delay := 5 * time.Millisecond
	for {
		err := probe(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("%s exited before it was ready (last connection error: %v)", what, err)
		case <-ctx.Done():
			if cause := context.Cause(ctx); !errors.Is(cause, context.DeadlineExceeded) {
				return fmt.Errorf("stopped before %s was ready: %w", what, cause)
			}
			return fmt.Errorf("not ready after %s: %w", timeout, err)
		case <-time.After(delay):
		}
		if delay < 100*time.Millisecond {
			delay *= 2
		}
	}
}

// serverReady waits until a connection to s.URL succeeds (see probe).
func serverReady(ctx context.Context, s *Server, timeout time.Duration, exited <-chan struct{}) error {
	return waitReady(ctx, "the server process", timeout, exited, func(ctx context.Context) error {
		return probe(ctx, s, 2*time.Second)
	})
}

// probe connects once to s.URL and records the server's version and
// shared_preload_libraries. Readiness is a real connection and query, not a
// port check: the postmaster listens before it accepts sessions ("the
// database system is starting up").
func probe(ctx context.Context, s *Server, connectTimeout time.Duration) error {
	cfg, err := pgx.ParseConfig(s.URL)
	if err != nil {
		return fmt.Errorf("parse URL: %w", err)
	}
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > connectTimeout {
		cfg.ConnectTimeout = connectTimeout
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var libs string
	if err := conn.QueryRow(ctx, "select version(), current_setting('shared_preload_libraries')").Scan(&s.Version, &libs); err != nil {
		return fmt.Errorf("query server: %w", err)
	}
	s.SharedPreloadLibraries = splitList(libs)
	return nil
}

// serverSettings are the settings every server we start gets, before
// Options.Settings. libs is the final shared_preload_libraries list.
func serverSettings(opts Options, libs []string) map[string]string {
	m := map[string]string{
		// Durability is pointless for a throwaway cluster and costs time.
		"fsync":              "off",
		"synchronous_commit": "off",
		"full_page_writes":   "off",
		// Parallel tests each hold a few connections.
		"max_connections": "200",
	}
	if len(libs) > 0 {
		m["shared_preload_libraries"] = strings.Join(libs, ",")
	}
	for k, v := range opts.Settings {
		m[k] = v
	}
	return m
}

// settingArgs renders settings as postgres command-line arguments, sorted so
// runs are reproducible.
func settingArgs(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	args := make([]string, 0, 2*len(keys))
	for _, k := range keys {
		args = append(args, "-c", k+"="+m[k])
	}
	return args
}

// mergeLibs appends extra to base without duplicates, keeping order.
func mergeLibs(base, extra []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range append(append([]string(nil), base...), extra...) {
		l = strings.TrimSpace(l)
		if l == "" || seen[l] {
			continue
		}
		seen[l] = true
		out = append(out, l)
	}
	return out
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, strings.Trim(p, `"`))
		}
	}
	return out
}

// freePort asks the kernel for a free loopback port. It is released before
// the postmaster binds it, so another process may grab it meanwhile;
// startLocal retries on "Address already in use".
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
