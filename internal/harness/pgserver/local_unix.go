//go:build unix

package pgserver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// stopTimeout bounds a fast shutdown before Stop kills the process group.
const stopTimeout = 20 * time.Second

// portAttempts bounds retries when another process takes the port we picked
// between releasing it and the postmaster binding it.
const portAttempts = 5

// startLocal boots a private cluster from local binaries: a fresh data
// directory (a copy of a cached initdb output, see initData) and then the
// postmaster itself (≈0.15 s to ready on an idle machine).
//
// The postmaster is started directly rather than through pg_ctl so we hold
// its process (for the exit watch during boot and for signalling on Stop) and
// can give it its own process group and a parent-death signal.
func startLocal(ctx context.Context, opts Options, b binaries) (_ *Server, err error) {
	t0 := time.Now()
	timeout := opts.StartTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	cleanStale(opts)

	cred, err := postgresCredential()
	if err != nil {
		return nil, err
	}

	dir, err := os.MkdirTemp(serverParent(), dirPrefix+"*")
	if err != nil {
		return nil, err
	}
	// From here on, failures must not leave the directory behind.
	var lock *os.File
	defer func() {
		if err != nil {
			if lock != nil {
				lock.Close()
			}
			if opts.Keep {
				err = fmt.Errorf("%w (kept %s)", err, dir)
				markKeep(dir)
			} else {
				os.RemoveAll(dir)
			}
		}
	}()
	// The lock tells a concurrent Start's cleanStale that this directory is
	// alive. flock is released by the kernel when this process dies, however
	// it dies, which is exactly the "owner is gone" signal cleanup needs.
	lock, err = os.OpenFile(filepath.Join(dir, lockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	if cred != nil {
		// initdb and postgres refuse to run as root; they run as the OS user
		// postgres, which must own the directory they write into.
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, err
		}
	}

	logPath := filepath.Join(dir, logName)
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the postmaster keeps its own copy of the descriptor

	data := filepath.Join(dir, dataName)
	ident, err := binariesIdentity(b, cred)
	if err != nil {
		return nil, err
	}
	snapshot := ""
	if opts.Cache != "" {
		snapshot = snapshotDir(ident, opts.Cache)
	}
	cached := snapshot != "" && fileExists(filepath.Join(snapshot, dataName, "global", "pg_control"))
	if cached {
		err = copyData(ctx, cred, filepath.Join(snapshot, dataName), data)
		if err == nil {
			touch(snapshot)
		}
	} else {
		err = initData(ctx, opts, b, cred, ident, data, logf)
	}
	if err != nil {
		return nil, err
	}
	tInit := time.Since(t0)

	var libs []string
	if fileExists(filepath.Join(b.PkgLibDir, "plpgsql_check.so")) {
		// Loaded at start so its profiler (PS-COV-1) can be used.
		libs = append(libs, "plpgsql_check")
	}
	libs = mergeLibs(libs, opts.SharedPreloadLibraries)

	s := &Server{Kind: KindLocal, Dir: dir, Cached: cached}
	p, err := launch(ctx, opts, b, cred, libs, s, logPath, timeout)
	if err != nil {
		return nil, err
	}
	s.stop = func() error { return stopLocal(opts, p, dir, lock) }
	if snapshot != "" {
		s.snapshot = func(ctx context.Context) error {
			if err := p.stop(); err != nil {
				return err
			}
			serr := saveSnapshot(ctx, opts, b, cred, data, snapshot)
			// The server comes back whether or not the copy worked: the run
			// goes on without a snapshot rather than without a server.
			np, err := launch(ctx, opts, b, cred, libs, s, logPath, timeout)
			if err != nil {
				return errors.Join(serr, err)
			}
			p = np
			return serr
		}
	}
	opts.logf("local PostgreSQL ready in %s (data directory %s, from snapshot: %v) at %s, dir %s",
		time.Since(t0).Round(time.Millisecond), tInit.Round(time.Millisecond), cached, s.URL, dir)
	return s, nil
}

// launch starts the postmaster on s's data directory and waits until it
// accepts connections, setting s.URL (a free port each time).
func launch(ctx context.Context, opts Options, b binaries, cred *syscall.Credential, libs []string, s *Server, logPath string, timeout time.Duration) (*postmaster, error) {
	data := filepath.Join(s.Dir, dataName)
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the postmaster keeps its own copy of the descriptor
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		settings := serverSettings(opts, libs)
		settings["listen_addresses"] = "127.0.0.1"
		settings["port"] = strconv.Itoa(port)
		// A private socket directory: never collide with, or be mistaken
		// for, a system server's socket in /var/run/postgresql.
		settings["unix_socket_directories"] = s.Dir
		for k, v := range opts.Settings {
			settings[k] = v
		}
		if settings["port"] != strconv.Itoa(port) {
			return nil, errors.New("Options.Settings must not set port")
		}

		cmd := exec.Command(b.path("postgres"), append([]string{"-D", data}, settingArgs(settings)...)...)
		cmd.Env = serverEnv()
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Credential: cred,
			// Its own process group: a Ctrl-C at the terminal goes to the
			// foreground group (mentordb dev, go test) only, and the caller
			// then shuts the server down in order through Stop.
			Setpgid: true,
		}
		setParentDeathSignal(cmd.SysProcAttr)
		if err := startProcess(cmd); err != nil {
			return nil, fmt.Errorf("start postgres: %w", err)
		}
		p := &postmaster{cmd: cmd, done: make(chan struct{})}
		go func() { p.waitErr = cmd.Wait(); close(p.done) }()

		s.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
		rerr := serverReady(ctx, s, timeout, p.done)
		if rerr == nil {
			return p, nil
		}
		p.stop()
		logText := tail(logPath, 2000)
		if attempt < portAttempts && strings.Contains(logText, "Address already in use") {
			opts.logf("port %d taken, retrying", port)
			continue
		}
		return nil, fmt.Errorf("postgres: %v; log %s:\n%s", rerr, logPath, logText)
	}
}

// postmaster is a running postgres process started by us.
type postmaster struct {
	cmd     *exec.Cmd
	done    chan struct{}  // closed once the process has exited and been reaped
	waitErr error          // valid after done
	sig     syscall.Signal // asks for a fast shutdown; SIGINT when zero (postgres)
}

// stop asks for a fast shutdown (SIGINT: roll back open transactions,
// disconnect clients, checkpoint, exit) and, if that does not finish in
// stopTimeout, kills the whole process group.
func (p *postmaster) stop() error {
	select {
	case <-p.done:
		return nil
	default:
	}
	pid := p.cmd.Process.Pid
	sig := p.sig
	if sig == 0 {
		sig = syscall.SIGINT
	}
	if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal postmaster %d: %w", pid, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(stopTimeout):
	}
	// Same process group as its backends (Setpgid): kill them all.
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	<-p.done
	return fmt.Errorf("postmaster %d did not shut down within %s; killed", pid, stopTimeout)
}

func stopLocal(opts Options, p *postmaster, dir string, lock *os.File) error {
	err := p.stop()
	if opts.Keep {
		markKeep(dir)
		opts.logf("kept %s", dir)
	}
	lock.Close()
	if !opts.Keep {
		if rerr := os.RemoveAll(dir); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	return err
}

// startProcess starts cmd from a fresh goroutine. Linux delivers the parent
// death signal when the *thread* that forked the child exits, and the Go
// runtime only ever ends threads locked to a goroutine that exits. A fresh
// goroutine is never locked, so the signal fires only when the process dies.
func startProcess(cmd *exec.Cmd) error {
	errc := make(chan error, 1)
	go func() { errc <- cmd.Start() }()
	return <-errc
}

// cleanStale also removes half-built templates (initData) and snapshots
// (saveSnapshot) that a crash left behind; they are renamed into place within seconds when all is well.
func cleanStaleTemplates(opts Options) {
	var dirs []string
	for _, glob := range []string{filepath.Join(os.TempDir(), templatePrefix), filepath.Join(snapshotParent(), snapshotPrefix)} {
		found, _ := filepath.Glob(glob + "*.tmp-*")
		dirs = append(dirs, found...)
	}
	for _, dir := range dirs {
		if fi, err := os.Stat(dir); err == nil && time.Since(fi.ModTime()) > 10*time.Minute {
			removeStale(opts, dir)
		}
	}
}

// cleanStale removes server directories left behind by processes that died
// without calling Stop: those whose owner lock is free (the owner is gone)
// and whose postmaster is not running any more (with the parent death
// signal it shuts down when the owner dies). Directories kept on purpose are
// left alone. Errors are only logged: cleanup must never fail a Start.
func cleanStale(opts Options) {
	cleanStaleTemplates(opts)
	var dirs []string
	for _, parent := range uniq(os.TempDir(), serverParent()) {
		found, _ := filepath.Glob(filepath.Join(parent, dirPrefix+"*"))
		dirs = append(dirs, found...)
	}
	for _, dir := range dirs {
		if strings.HasPrefix(filepath.Base(dir), templatePrefix) || fileExists(filepath.Join(dir, keepMarker)) {
			continue
		}
		f, err := os.Open(filepath.Join(dir, lockFile))
		if err != nil {
			// No lock file: either a directory being created this instant
			// or one from a crash right after MkdirTemp. Only the old kind
			// is stale.
			if fi, serr := os.Stat(dir); serr == nil && time.Since(fi.ModTime()) > time.Minute {
				removeStale(opts, dir)
			}
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			f.Close() // owner alive
			continue
		}
		// A Start creates the lock file before it takes the lock: a free
		// lock on a young directory may be that instant, not a dead owner.
		if fi, serr := os.Stat(dir); serr != nil || time.Since(fi.ModTime()) < time.Minute {
			f.Close()
			continue
		}
		if pid, ok := postmasterPID(dir); ok && processAlive(pid) {
			opts.logf("leaving %s: its owner is gone but postmaster %d still runs", dir, pid)
		} else {
			removeStale(opts, dir)
		}
		f.Close()
	}
}

func uniq(a, b string) []string {
	if a == b {
		return []string{a}
	}
	return []string{a, b}
}

func removeStale(opts Options, dir string) {
	if err := os.RemoveAll(dir); err != nil {
		opts.logf("removing stale %s: %v", dir, err)
		return
	}
	opts.logf("removed stale %s", dir)
}

// postmasterPID reads the first line of data/postmaster.pid, which the
// postmaster removes on a clean shutdown.
func postmasterPID(dir string) (int, bool) {
	b, err := os.ReadFile(filepath.Join(dir, dataName, "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	return pid, err == nil && pid > 0
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func markKeep(dir string) {
	_ = os.WriteFile(filepath.Join(dir, keepMarker), []byte("kept by pgserver Options.Keep; remove by hand\n"), 0o644)
}

// postgresCredential returns the credential to run initdb and postgres
// with: nil normally, the OS user postgres when we are root (both programs
// refuse to run as root).
func postgresCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, and initdb refuses root, but no OS user postgres to run it as: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("user postgres: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

// serverEnv is the environment for initdb and postgres: ours without the
// libpq client variables (a PGDATA or PGPORT meant for the system server
// must not leak in) and with a C locale, so the cluster behaves the same on
// every machine.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C", "LANG=C")
}

// flockWait takes an exclusive flock on path (created if missing), waiting
// for it; the returned function releases it.
func flockWait(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// tail returns the last n bytes of a file, for error messages.
func tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > n {
		_, _ = f.Seek(fi.Size()-n, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return strings.TrimSpace(string(b))
}

// templatePrefix names cached initdb outputs in os.TempDir(). It must not
// match dirPrefix+"*": templates are shared and long-lived.
const templatePrefix = "mentordb-pgtemplate-"

// initData creates a new cluster in data. initdb costs ≈0.75 s of an idle
// machine (and several seconds when the machine is busy, as it is while the
// suite compiles and runs), most of the boot; copying its output costs a
// fraction of that. So the first boot runs initdb into a template directory
// in os.TempDir(), keyed by the binaries, the initdb arguments and the user
// that owns the files, and every boot copies it (cp -a, as that user). The
// template is never started, so it stays exactly initdb's output; clusters
// copied from it differ only in sharing a system identifier, which nothing
// here looks at. If the template is missing (first run, /tmp cleaned) it is
// rebuilt; two processes racing to build it both succeed and one rename wins.
func initData(ctx context.Context, opts Options, b binaries, cred *syscall.Credential, ident, data string, logw io.Writer) error {
	tmpl := filepath.Join(os.TempDir(), templatePrefix+ident)

	if !fileExists(filepath.Join(tmpl, dataName, "global", "pg_control")) {
		t0 := time.Now()
		build, err := os.MkdirTemp("", filepath.Base(tmpl)+".tmp-*")
		if err != nil {
			return err
		}
		defer os.RemoveAll(build) // a no-op after a successful rename
		if cred != nil {
			if err := os.Chown(build, int(cred.Uid), int(cred.Gid)); err != nil {
				return err
			}
		}
		initdb := exec.CommandContext(ctx, b.path("initdb"), append([]string{"-D", filepath.Join(build, dataName)}, initdbArgs...)...)
		initdb.Env = serverEnv()
		initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		var out bytes.Buffer
		initdb.Stdout = io.MultiWriter(&out, logw)
		initdb.Stderr = initdb.Stdout
		if err := initdb.Run(); err != nil {
			return fmt.Errorf("initdb: %v: %s", err, strings.TrimSpace(out.String()))
		}
		// Atomic publish: readers see a complete template or none. If another
		// process published first, rename fails and ours is discarded.
		if err := os.Rename(build, tmpl); err == nil {
			opts.logf("initdb template %s built in %s", tmpl, time.Since(t0).Round(time.Millisecond))
		}
	}

	return copyData(ctx, cred, filepath.Join(tmpl, dataName), data)
}

// initdbArgs are the arguments of every initdb.
var initdbArgs = []string{"--no-sync", "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-instructions"}

// binariesIdentity names what a data directory depends on besides its
// contents: the binaries (and so the major version), initdb's arguments and
// the user that owns the files.
func binariesIdentity(b binaries, cred *syscall.Credential) (string, error) {
	uid := os.Geteuid()
	if cred != nil {
		uid = int(cred.Uid)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%d\n%s\n", uid, strings.Join(initdbArgs, " "))
	for _, name := range []string{"initdb", "postgres"} {
		fi, err := os.Stat(b.path(name))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d %d\n", b.path(name), fi.Size(), fi.ModTime().UnixNano())
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// copyData copies a data directory (cp -a, as the user that owns it).
func copyData(ctx context.Context, cred *syscall.Credential, from, to string) error {
	cp := exec.CommandContext(ctx, "cp", "-a", from, to)
	cp.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := cp.CombinedOutput(); err != nil {
		return fmt.Errorf("copy data directory %s: %v: %s", from, err, strings.TrimSpace(string(out)))
	}
	return nil
}
