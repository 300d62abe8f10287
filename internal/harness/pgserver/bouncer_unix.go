//go:build unix

package pgserver

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// startBouncer runs PgBouncer as startLocal runs postgres: in the
// foreground (no -d, so we hold the process), in its own process group, with
// a parent-death signal, as the OS user postgres when we are root.
func startBouncer(ctx context.Context, opts BouncerOptions, path string, up upstream) (_ *Bouncer, err error) {
	t0 := time.Now()
	timeout := opts.StartTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	cred, err := postgresCredential()
	if err != nil {
		return nil, fmt.Errorf("bouncer: %w", err)
	}
	cleanStale(Options{Logf: opts.Logf})
	dir, err := os.MkdirTemp("", bouncerPrefix+"*")
	if err != nil {
		return nil, err
	}
	// The same owner lock as a server directory, so cleanStale removes the
	// directory of a process that died without Stop.
	lock, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer func() {
		if err != nil {
			lock.Close()
			os.RemoveAll(dir)
		}
	}()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, err
		}
	}
	version, _ := runOutput(path, "--version")
	version, _, _ = strings.Cut(strings.TrimSpace(version), "\n")

	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		ini := filepath.Join(dir, bouncerIni)
		if err := os.WriteFile(ini, []byte(bouncerConfig(dir, "127.0.0.1", port, opts.PoolSize, up, version)), 0o644); err != nil {
			return nil, err
		}
		cmd := exec.Command(path, ini)
		cmd.Env = serverEnv()
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
		// PgBouncer's SIGINT is a "safe shutdown" that waits for clients;
		// SIGTERM closes everything at once, which is what a dying owner and
		// Stop want.
		setDeathSignal(cmd.SysProcAttr, syscall.SIGTERM)
		cmd.Stdout, cmd.Stderr = nil, nil // it logs to its logfile
		if err := startProcess(cmd); err != nil {
			return nil, fmt.Errorf("start pgbouncer: %w", err)
		}
		p := &postmaster{cmd: cmd, done: make(chan struct{}), sig: syscall.SIGTERM}
		go func() { p.waitErr = cmd.Wait(); close(p.done) }()

		b := &Bouncer{
			URL:      fmt.Sprintf("postgres://%s@127.0.0.1:%d/postgres?sslmode=disable", up.user, port),
			AdminURL: fmt.Sprintf("postgres://%s@127.0.0.1:%d/pgbouncer?sslmode=disable", up.user, port),
			Dir:      dir,
			PoolSize: opts.PoolSize,
			Version:  version,
		}
		rerr := waitReady(ctx, "pgbouncer", timeout, p.done, func(ctx context.Context) error { return probeBouncer(ctx, b.URL) })
		if rerr == nil {
			b.stop = func() error {
				err := p.stop()
				lock.Close()
				if rerr := os.RemoveAll(dir); rerr != nil && err == nil {
					err = rerr
				}
				return err
			}
			opts.logf("%s ready in %s at %s (pool_mode=transaction, default_pool_size=%d)",
				version, time.Since(t0).Round(time.Millisecond), b.URL, opts.PoolSize)
			return b, nil
		}
		p.stop()
		logText := tail(filepath.Join(dir, bouncerLog), 2000)
		if attempt < portAttempts && strings.Contains(logText, "Address already in use") {
			continue
		}
		return nil, fmt.Errorf("pgbouncer: %v; log:\n%s", rerr, logText)
	}
}

// probeBouncer runs a query through PgBouncer to the server. pgx's default
// statement cache would be the wrong client here (named prepared
// statements); the probe uses the simple protocol.
func probeBouncer(ctx context.Context, url string) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return err
	}
	cfg.ConnectTimeout = 2 * time.Second
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var one int
	return conn.QueryRow(ctx, "select 1").Scan(&one)
}
