package pgserver

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/ory/dockertest/v3"
	"github.com/ory/dockertest/v3/docker"
)

// bouncerPort is PgBouncer's port inside the server's network namespace
// when the server's ports are published (bridge networking).
const (
	bouncerPort    = "6432"
	bouncerPortNum = 6432
)

// bouncerDir holds pgbouncer.ini, its log and its socket in the container.
const bouncerDir = "/tmp"

// startDockerBouncer runs PgBouncer from the server's image in a container of
// its own: on the host's network beside a host-networked server (a free
// loopback port), else in the server container's network namespace, where
// the server is 127.0.0.1:5432 and the server container publishes
// bouncerPort. The configuration is bouncerConfig's, as for a local
// PgBouncer.
func startDockerBouncer(ctx context.Context, opts BouncerOptions, d *dockerServer, up upstream) (*Bouncer, error) {
	t0 := time.Now()
	timeout := opts.StartTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	version, err := imageBouncerVersion(ctx, d)
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		listen, port, addr := "127.0.0.1", 0, d.bouncerHostPort
		network := "container:" + d.res.Container.ID
		if d.hostNet {
			p, err := freePort()
			if err != nil {
				return nil, err
			}
			port, addr, network = p, net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), "host"
		} else {
			listen, port = "0.0.0.0", bouncerPortNum
			up.host, up.port = "127.0.0.1", 5432
		}
		ini := bouncerConfig(bouncerDir, listen, port, opts.PoolSize, up, version)
		run := &dockertest.RunOptions{
			Env: []string{"PGBOUNCER_INI=" + ini},
			// PgBouncer in the foreground as the container's process.
			Entrypoint: []string{"/bin/sh", "-c", `printf '%s' "$PGBOUNCER_INI" > ` + bouncerDir + `/` + bouncerIni + ` && exec pgbouncer ` + bouncerDir + `/` + bouncerIni},
			Labels:     map[string]string{labelOwner: ownerLabel()},
		}
		run.Repository, run.Tag = splitImage(d.image)
		res, err := d.pool.RunWithOptions(run, func(hc *docker.HostConfig) {
			hc.AutoRemove = false
			hc.RestartPolicy = docker.RestartPolicy{Name: "no"}
			hc.NetworkMode = network
		})
		if err != nil {
			return nil, fmt.Errorf("bouncer: run %s: %w", d.image, err)
		}
		b := &Bouncer{
			Version:  version,
			URL:      fmt.Sprintf("postgres://%s@%s/postgres?sslmode=disable", up.user, addr),
			AdminURL: fmt.Sprintf("postgres://%s@%s/pgbouncer?sslmode=disable", up.user, addr),
			Dir:      bouncerDir + " in container " + res.Container.ID[:12],
			PoolSize: opts.PoolSize,
		}
		exited := make(chan struct{})
		go func() {
			_, _ = d.pool.Client.WaitContainerWithContext(res.Container.ID, ctx)
			close(exited)
		}()
		rerr := waitReady(ctx, "pgbouncer", timeout, exited, func(ctx context.Context) error { return probeBouncer(ctx, b.URL) })
		if rerr == nil {
			b.stop = func() error { return d.pool.Purge(res) }
			opts.logf("%s ready in %s at %s in container %s (pool_mode=transaction, default_pool_size=%d)",
				b.Version, time.Since(t0).Round(time.Millisecond), b.URL, res.Container.ID[:12], opts.PoolSize)
			return b, nil
		}
		// PgBouncer in the foreground logs to stderr too: the container's log.
		logText := containerLogs(d.pool, res.Container.ID)
		_ = d.pool.Purge(res)
		if attempt < portAttempts && d.hostNet && strings.Contains(logText, "Address already in use") {
			continue
		}
		return nil, fmt.Errorf("pgbouncer: %v; log:\n%s", rerr, logText)
	}
}

// imageBouncerVersion is `pgbouncer --version`'s first line in the server's
// image, from a container of its own (the configuration depends on it).
func imageBouncerVersion(ctx context.Context, d *dockerServer) (string, error) {
	run := &dockertest.RunOptions{
		Entrypoint: []string{"pgbouncer", "--version"},
		Labels:     map[string]string{labelOwner: ownerLabel()},
	}
	run.Repository, run.Tag = splitImage(d.image)
	res, err := d.pool.RunWithOptions(run, func(hc *docker.HostConfig) {
		hc.NetworkMode = "none"
	})
	if err != nil {
		return "", fmt.Errorf("bouncer: pgbouncer --version in %s: %w", d.image, err)
	}
	defer d.pool.Purge(res) //nolint:errcheck
	if _, err := d.pool.Client.WaitContainerWithContext(res.Container.ID, ctx); err != nil {
		return "", fmt.Errorf("bouncer: pgbouncer --version in %s: %w", d.image, err)
	}
	line, _, _ := strings.Cut(containerLogs(d.pool, res.Container.ID), "\n")
	if !strings.HasPrefix(line, "PgBouncer ") {
		return "", fmt.Errorf("bouncer: pgbouncer --version in %s said %q", d.image, line)
	}
	return strings.TrimSpace(line), nil
}
