package pgserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ory/dockertest/v3"
	"github.com/ory/dockertest/v3/docker"
)

// EnvDockerImage names the environment variable that names an image to run
// instead of the one built from the repository's docker/ directory (for
// example supabase/postgres of the same major, where a registry answers).
const EnvDockerImage = "CONFORMANCE_DOCKER_IMAGE"

// EnvDockerNetwork set to "host" runs the containers with host networking
// on any engine; the private engine (PrivateSocket) always gets it.
const EnvDockerNetwork = "CONFORMANCE_DOCKER_NETWORK"

// PrivateSocket is where `scripts/setup docker` starts mentordb's own
// engine. It is used only when asked: CONFORMANCE_PROVIDER=docker without a
// DOCKER_HOST and without an engine on the default socket, or DOCKER_HOST
// naming it.
const PrivateSocket = "/run/mentordb-docker/docker.sock"

// privateLabel is the engine label `scripts/setup docker` gives its dockerd.
// That engine has no bridge and no iptables: its containers share the host's
// network, and the server listens on 127.0.0.1 and a free port.
const privateLabel = "org.mentordb.engine=private"

// labelOwner marks our containers with "<hostname>:<pid>" of the process
// that started them, so a later Start on the same host can remove the
// containers of processes that died without calling Stop.
const labelOwner = "org.mentordb.pgserver.owner"

// Where the containers keep their data: a tmpfs (nothing touches disk; the
// container is removed on stop). runDir is our image's (its RUN_DIR);
// officialDataDir the official postgres image's PGDATA.
const (
	runDir          = "/var/lib/postgresql/run"
	officialDataDir = "/var/lib/postgresql/data"
)

// pingDocker reports whether a Docker engine answers (DOCKER_HOST, or the
// platform's default socket).
func pingDocker(ctx context.Context) error {
	pool, err := dockertest.NewPool("")
	if err != nil {
		return err
	}
	return pool.Client.PingWithContext(ctx)
}

// dockerPool connects to the engine to use: DOCKER_HOST's or the default
// socket's when it answers, else the private engine's when its socket
// exists. CONF-1's order reaches this only after the default answered, so
// the private engine serves only a run that forced Docker.
func dockerPool(ctx context.Context) (*dockertest.Pool, error) {
	pool, err := dockertest.NewPool("")
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, dockerPingTimeout)
	err = pool.Client.PingWithContext(pctx)
	cancel()
	if err == nil || os.Getenv("DOCKER_HOST") != "" || !fileExists(PrivateSocket) {
		return pool, err
	}
	private, perr := dockertest.NewPool("unix://" + PrivateSocket)
	if perr != nil {
		return nil, errors.Join(err, perr)
	}
	pctx, cancel = context.WithTimeout(ctx, dockerPingTimeout)
	defer cancel()
	if perr := private.Client.PingWithContext(pctx); perr != nil {
		return nil, fmt.Errorf("default engine: %v; private engine %s: %w (start it: scripts/setup docker)", err, PrivateSocket, perr)
	}
	return private, nil
}

// hostNetwork says whether containers (and builds) on the engine use the
// host's network: on the private engine, or when asked.
func hostNetwork(pool *dockertest.Pool) (bool, error) {
	info, err := pool.Client.Info()
	if err != nil {
		return false, fmt.Errorf("docker info: %w", err)
	}
	return slices.Contains(info.Labels, privateLabel) || os.Getenv(EnvDockerNetwork) == "host", nil
}

// dockerServer is what a KindDocker server needs to stop, and what
// StartBouncer needs to run PgBouncer beside it.
type dockerServer struct {
	pool    *dockertest.Pool
	res     *dockertest.Resource
	image   string
	hostNet bool
	// bouncerHostPort is the published address of the container's PgBouncer
	// port (bridge networking only).
	bouncerHostPort string
}

// startDocker runs PostgreSQL in a container: the image built from the
// repository's docker/ directory for the major asked (dockerImage), or the
// one Options.DockerImage or CONFORMANCE_DOCKER_IMAGE names, with the
// data directory on tmpfs and the local provider's settings. It waits until
// the server accepts connections.
//
// On the private engine (or with CONFORMANCE_DOCKER_NETWORK=host) the
// container uses the host's network and the server listens on 127.0.0.1
// and a free port. Elsewhere the port is published, on 127.0.0.1 for a
// local engine and on all interfaces of a remote one (DOCKER_HOST=tcp://...),
// where it must be to be reachable at all; authentication is trust.
func startDocker(ctx context.Context, opts Options, major string) (*Server, error) {
	t0 := time.Now()
	timeout := opts.StartTimeout
	if timeout == 0 {
		timeout = 3 * time.Minute
	}
	pool, err := dockerPool(ctx)
	if err != nil {
		return nil, err
	}
	pool.MaxWait = timeout
	hostNet, err := hostNetwork(pool)
	if err != nil {
		return nil, err
	}
	cleanStaleContainers(ctx, opts, pool)

	image := opts.DockerImage
	if image == "" {
		image = os.Getenv(EnvDockerImage)
	}
	ours := image == ""
	if ours {
		if image, err = dockerImage(ctx, opts, pool, major, hostNet); err != nil {
			return nil, err
		}
	}
	var libs []string
	if ours {
		libs = []string{"plpgsql_check"} // as the local provider loads it
	}
	libs = mergeLibs(libs, opts.SharedPreloadLibraries)

	for attempt := 1; ; attempt++ {
		d, s, err := runServer(ctx, opts, pool, image, ours, hostNet, libs)
		if err == nil {
			s.stop = func() error { return d.pool.Purge(d.res) }
			opts.logf("docker PostgreSQL (%s, host network %t) ready in %s at %s", image, hostNet,
				time.Since(t0).Round(time.Millisecond), s.URL)
			return s, nil
		}
		if attempt < portAttempts && hostNet && strings.Contains(err.Error(), "Address already in use") {
			opts.logf("port taken, retrying")
			continue
		}
		return nil, err
	}
}

// runServer starts one container and waits for its server.
func runServer(ctx context.Context, opts Options, pool *dockertest.Pool, image string, ours, hostNet bool, libs []string) (*dockerServer, *Server, error) {
	settings := serverSettings(opts, libs)
	run := &dockertest.RunOptions{
		Env: []string{
			// Read by the official image only; ours is initialised at build.
			"POSTGRES_HOST_AUTH_METHOD=trust",
			"POSTGRES_INITDB_ARGS=--no-sync -E UTF8 --locale=C",
		},
		Labels: map[string]string{labelOwner: ownerLabel()},
	}
	run.Repository, run.Tag = splitImage(image)
	var port int
	if ours {
		settings["unix_socket_directories"] = runDir
	}
	if hostNet {
		var err error
		if port, err = freePort(); err != nil {
			return nil, nil, err
		}
		settings["listen_addresses"] = "127.0.0.1"
		settings["port"] = strconv.Itoa(port)
	} else {
		run.ExposedPorts = []string{"5432/tcp", bouncerPort + "/tcp"}
		bindIP := "127.0.0.1"
		if dockerRemoteHost(os.Getenv("DOCKER_HOST")) != "" {
			bindIP = "0.0.0.0"
		}
		run.PortBindings = map[docker.Port][]docker.PortBinding{
			"5432/tcp":           {{HostIP: bindIP}},
			bouncerPort + "/tcp": {{HostIP: bindIP}},
		}
	}
	run.Cmd = append([]string{"postgres"}, settingArgs(settings)...)
	res, err := pool.RunWithOptions(run, func(hc *docker.HostConfig) {
		hc.AutoRemove = false // kept until Stop, so a failed start's log can be read
		hc.RestartPolicy = docker.RestartPolicy{Name: "no"}
		hc.Tmpfs = map[string]string{runDir: "rw", officialDataDir: "rw"}
		if hostNet {
			hc.NetworkMode = "host"
		}
	})
	if err != nil {
		return nil, nil, fmt.Errorf("run %s: %w", image, err)
	}
	d := &dockerServer{pool: pool, res: res, image: image, hostNet: hostNet}
	hostPort := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if !hostNet {
		hostPort = publishedAddr(res, "5432/tcp")
		d.bouncerHostPort = publishedAddr(res, bouncerPort+"/tcp")
	}
	s := &Server{
		URL:    "postgres://postgres@" + hostPort + "/postgres?sslmode=disable",
		Kind:   KindDocker,
		Image:  image,
		docker: d,
	}
	exited := make(chan struct{})
	go func() {
		_, _ = pool.Client.WaitContainerWithContext(res.Container.ID, ctx)
		close(exited)
	}()
	if err := serverReady(ctx, s, pool.MaxWait, exited); err != nil {
		logs := containerLogs(pool, res.Container.ID)
		_ = pool.Purge(res)
		return nil, nil, fmt.Errorf("container %s (%s) not ready: %w; log:\n%s", res.Container.ID[:12], image, err, logs)
	}
	return d, s, nil
}

// publishedAddr is where a published container port is reached from here.
func publishedAddr(res *dockertest.Resource, port string) string {
	hp := res.GetHostPort(port)
	if remote := dockerRemoteHost(os.Getenv("DOCKER_HOST")); remote != "" {
		_, p, _ := net.SplitHostPort(hp)
		hp = net.JoinHostPort(remote, p)
	}
	return hp
}

func ownerLabel() string {
	host, _ := os.Hostname()
	return host + ":" + strconv.Itoa(os.Getpid())
}

// containerLogs returns the last lines a container wrote, for errors.
func containerLogs(pool *dockertest.Pool, id string) string {
	var out bytes.Buffer
	_ = pool.Client.Logs(docker.LogsOptions{Container: id, OutputStream: &out, ErrorStream: &out, Stdout: true, Stderr: true, Tail: "30"})
	return strings.TrimSpace(out.String())
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
