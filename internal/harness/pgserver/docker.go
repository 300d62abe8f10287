package pgserver

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/ory/dockertest/v3"
	"github.com/ory/dockertest/v3/docker"
)

// DefaultDockerImage is the image a KindDocker server runs: the major
// version Supabase runs.
const DefaultDockerImage = "postgres:15"

// labelOwner marks our containers with "<hostname>:<pid>" of the process
// that started them, so a later Start on the same host can remove the
// containers of processes that died without calling Stop.
const labelOwner = "org.mentordb.pgserver.owner"

// pingDocker reports whether a Docker engine answers (DOCKER_HOST, or the
// platform's default socket).
func pingDocker(ctx context.Context) error {
	pool, err := dockertest.NewPool("")
	if err != nil {
		return err
	}
	return pool.Client.PingWithContext(ctx)
}

// startDocker runs the postgres image with its data directory on tmpfs
// (nothing touches disk; the container is removed on stop) and waits with
// pool.Retry until it accepts connections.
//
// Authentication is trust, so the port is published on 127.0.0.1 only when
// the engine is local; for a remote engine (DOCKER_HOST=tcp://...) it must
// be published on all interfaces of that host to be reachable at all.
func startDocker(ctx context.Context, opts Options) (*Server, error) {
	t0 := time.Now()
	timeout := opts.StartTimeout
	if timeout == 0 {
		timeout = 3 * time.Minute
	}
	pool, err := dockertest.NewPool("")
	if err != nil {
		return nil, err
	}
	pool.MaxWait = timeout
	cleanStaleContainers(ctx, opts, pool)

	image := opts.DockerImage
	if image == "" {
		image = DefaultDockerImage
	}
	repo, tag := splitImage(image)
	remoteHost := dockerRemoteHost(os.Getenv("DOCKER_HOST"))
	bindIP := "127.0.0.1"
	if remoteHost != "" {
		bindIP = "0.0.0.0"
	}
	host, _ := os.Hostname()

	settings := serverSettings(opts, mergeLibs(nil, opts.SharedPreloadLibraries))
	res, err := pool.RunWithOptions(&dockertest.RunOptions{
		Repository: repo,
		Tag:        tag,
		Env: []string{
			"POSTGRES_HOST_AUTH_METHOD=trust",
			"POSTGRES_INITDB_ARGS=--no-sync -E UTF8 --locale=C",
		},
		Cmd:          append([]string{"postgres"}, settingArgs(settings)...),
		ExposedPorts: []string{"5432/tcp"},
		PortBindings: map[docker.Port][]docker.PortBinding{
			"5432/tcp": {{HostIP: bindIP, HostPort: ""}},
		},
		Labels: map[string]string{labelOwner: host + ":" + strconv.Itoa(os.Getpid())},
	}, func(hc *docker.HostConfig) {
		hc.AutoRemove = true
		hc.RestartPolicy = docker.RestartPolicy{Name: "no"}
		hc.Tmpfs = map[string]string{"/var/lib/postgresql/data": "rw"}
	})
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", image, err)
	}
	hostPort := res.GetHostPort("5432/tcp")
	if remoteHost != "" {
		_, port, _ := net.SplitHostPort(hostPort)
		hostPort = net.JoinHostPort(remoteHost, port)
	}
	s := &Server{
		URL:  "postgres://postgres@" + hostPort + "/postgres?sslmode=disable",
		Kind: KindDocker,
	}
	err = pool.Retry(func() error {
		if ctx.Err() != nil {
			return backoff.Permanent(ctx.Err())
		}
		return probe(ctx, s, 2*time.Second)
	})
	if err != nil {
		_ = pool.Purge(res)
		return nil, fmt.Errorf("container %s not ready: %w", res.Container.ID[:12], err)
	}
	s.stop = func() error { return pool.Purge(res) }
	opts.logf("docker PostgreSQL (%s) ready in %s at %s", image, time.Since(t0).Round(time.Millisecond), s.URL)
	return s, nil
}

// cleanStaleContainers removes containers started by processes on this host
// that no longer exist.
func cleanStaleContainers(ctx context.Context, opts Options, pool *dockertest.Pool) {
	host, _ := os.Hostname()
	list, err := pool.Client.ListContainers(docker.ListContainersOptions{
		All:     true,
		Filters: map[string][]string{"label": {labelOwner}},
		Context: ctx,
	})
	if err != nil {
		opts.logf("listing stale containers: %v", err)
		return
	}
	for _, c := range list {
		h, p, ok := strings.Cut(c.Labels[labelOwner], ":")
		pid, err := strconv.Atoi(p)
		if !ok || err != nil || h != host || processAlive(pid) {
			continue
		}
		if err := pool.Client.RemoveContainer(docker.RemoveContainerOptions{ID: c.ID, Force: true, RemoveVolumes: true, Context: ctx}); err != nil {
			opts.logf("removing stale container %s: %v", c.ID, err)
		} else {
			opts.logf("removed stale container %s", c.ID)
		}
	}
}

// splitImage splits "repo[:tag]" (repo may contain a registry host:port).
func splitImage(image string) (repo, tag string) {
	i := strings.LastIndex(image, ":")
	if i < 0 || strings.Contains(image[i:], "/") {
		return image, "latest"
	}
	return image[:i], image[i+1:]
}

// dockerRemoteHost returns the host of a tcp:// DOCKER_HOST (where published
// ports live), or "" for a local engine.
func dockerRemoteHost(dockerHost string) string {
	if !strings.HasPrefix(dockerHost, "tcp://") {
		return ""
	}
	u, err := url.Parse(dockerHost)
	if err != nil {
		return ""
	}
	switch h := u.Hostname(); h {
	case "", "localhost", "127.0.0.1", "::1":
		return ""
	default:
		return h
	}
}
