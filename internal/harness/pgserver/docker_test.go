package pgserver

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/ory/dockertest/v3"
	"github.com/ory/dockertest/v3/docker"
	"github.com/stretchr/testify/require"
)

func TestImageContent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, text string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
	}
	write("suites", "# major suite\n15 bookworm\n17 trixie\n")
	write("Dockerfile", "FROM x\n")

	suite, err := suiteOf(dir, "17")
	require.NoError(t, err)
	require.Equal(t, "trixie", suite)
	_, err = suiteOf(dir, "16")
	require.ErrorContains(t, err, "PostgreSQL 16: no Debian suite for it")

	hash := func(major, base, baseID string) string {
		h, err := contentHash(dir, major, base, baseID)
		require.NoError(t, err)
		require.Regexp(t, `^[0-9a-f]{12}$`, h)
		return h
	}
	h := hash("15", "debian:bookworm-slim", "")
	require.Equal(t, h, hash("15", "debian:bookworm-slim", ""), "the same content gives the same tag")
	seen := map[string]string{h: "first"}
	for what, got := range map[string]string{
		"major":   hash("17", "debian:bookworm-slim", ""),
		"base":    hash("15", "mentordb-debian:bookworm", ""),
		"base ID": hash("15", "debian:bookworm-slim", "sha256:1"),
	} {
		require.NotContains(t, seen, got, what)
		seen[got] = what
	}
	write("Dockerfile", "FROM y\n")
	require.NotContains(t, seen, hash("15", "debian:bookworm-slim", ""), "Dockerfile")
	write("extra.conf", "")
	h2 := hash("15", "debian:bookworm-slim", "")
	require.NoError(t, os.Rename(filepath.Join(dir, "extra.conf"), filepath.Join(dir, "other.conf")))
	require.NotEqual(t, h2, hash("15", "debian:bookworm-slim", ""), "a renamed file")
}

// dockerWanted gates the tests that need a Docker engine: they run when the
// run asks for Docker (CONFORMANCE_PROVIDER=docker), as `make conformance`
// with that variable does, and then fail when no engine answers.
func dockerWanted(t *testing.T) *dockertest.Pool {
	t.Helper()
	if os.Getenv(EnvProvider) != KindDocker {
		t.Skipf("the Docker provider's own tests run with %s=docker (scripts/setup docker starts an engine)", EnvProvider)
	}
	pool, err := dockerPool(context.Background())
	require.NoError(t, err, "%s=docker but no engine answers", EnvProvider)
	return pool
}

// TestDockerServer starts the provider's server the way the matrix does and
// checks what the matrix relies on: the major asked for, the local
// provider's settings, the extensions, plpgsql_check preloaded, PgBouncer
// from the same image, and nothing left after Stop.
func TestDockerServer(t *testing.T) {
	t.Parallel()
	pool := dockerWanted(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	major := majorOf(os.Getenv)
	s, err := startDocker(ctx, Options{Logf: t.Logf, SharedPreloadLibraries: []string{"pg_stat_statements"}}, major)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Stop() })

	require.Equal(t, KindDocker, s.Kind)
	require.Equal(t, major, majorVersion(s.Version))
	if os.Getenv(EnvDockerImage) == "" {
		require.Regexp(t, regexp.MustCompile(`^mentordb-postgres:`+major+`-[0-9a-f]{12}$`), s.Image)
		require.Equal(t, []string{"plpgsql_check", "pg_stat_statements"}, s.SharedPreloadLibraries)
	}

	conn, err := pgx.Connect(ctx, s.URL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	for name, want := range serverSettings(Options{}, nil) {
		var got string
		require.NoError(t, conn.QueryRow(ctx, "select current_setting($1)", name).Scan(&got))
		require.Equal(t, want, got, name)
	}
	for _, ext := range []string{"plpgsql_check", "pgtap", "pg_stat_statements"} {
		_, err := conn.Exec(ctx, "create extension "+ext)
		require.NoError(t, err, ext)
	}
	var calls int
	require.NoError(t, conn.QueryRow(ctx, "select count(*) from pg_stat_statements").Scan(&calls), "pg_stat_statements is loaded")

	bo, err := StartBouncer(ctx, s, BouncerOptions{Logf: t.Logf, PoolSize: 1})
	require.NoError(t, err)
	require.Contains(t, bo.Version, "PgBouncer")
	connect := func() *pgx.Conn {
		c, err := pgx.Connect(ctx, bo.URL+"&default_query_exec_mode=simple_protocol")
		require.NoError(t, err)
		t.Cleanup(func() { c.Close(context.Background()) })
		return c
	}
	one, two := connect(), connect()
	var pid1, pid2 int
	require.NoError(t, one.QueryRow(ctx, "select pg_backend_pid()").Scan(&pid1))
	require.NoError(t, two.QueryRow(ctx, "select pg_backend_pid()").Scan(&pid2))
	require.Equal(t, pid1, pid2, "pool size 1: both clients run on the one server connection")
	one.Close(ctx)
	two.Close(ctx)
	require.NoError(t, bo.Stop())
	_, err = pgx.Connect(ctx, bo.URL)
	require.Error(t, err, "PgBouncer must be gone after Stop")

	id := s.docker.res.Container.ID
	conn.Close(ctx)
	require.NoError(t, s.Stop())
	_, err = pool.Client.InspectContainer(id)
	var missing *docker.NoSuchContainer
	require.ErrorAs(t, err, &missing, "the container is removed by Stop")
}

// TestDockerStaleContainers: a container whose owning process is gone is
// removed by the next start's cleanup; one whose owner lives stays.
func TestDockerStaleContainers(t *testing.T) {
	t.Parallel()
	pool := dockerWanted(t)
	dead := exec.Command("true")
	require.NoError(t, dead.Run())
	host, _ := os.Hostname()
	run := func(owner int) string {
		c, err := pool.Client.CreateContainer(docker.CreateContainerOptions{
			Config: &docker.Config{Image: "mentordb-debian:bookworm", Cmd: []string{"true"},
				Labels: map[string]string{labelOwner: host + ":" + strconv.Itoa(owner)}},
		})
		if err != nil {
			// No debootstrapped base: any image present serves, the
			// container is never started.
			imgs, lerr := pool.Client.ListImages(docker.ListImagesOptions{})
			require.NoError(t, lerr)
			require.NotEmpty(t, imgs, "no image to create a container from")
			c, err = pool.Client.CreateContainer(docker.CreateContainerOptions{
				Config: &docker.Config{Image: imgs[0].ID, Cmd: []string{"true"},
					Labels: map[string]string{labelOwner: host + ":" + strconv.Itoa(owner)}},
			})
		}
		require.NoError(t, err)
		t.Cleanup(func() { _ = pool.Client.RemoveContainer(docker.RemoveContainerOptions{ID: c.ID, Force: true}) })
		return c.ID
	}
	stale, live := run(dead.Process.Pid), run(os.Getpid())
	cleanStaleContainers(context.Background(), Options{Logf: t.Logf}, pool)
	_, err := pool.Client.InspectContainer(stale)
	var missing *docker.NoSuchContainer
	require.ErrorAs(t, err, &missing, "the dead owner's container is removed")
	_, err = pool.Client.InspectContainer(live)
	require.NoError(t, err, "a live owner's container stays")
}

// TestDockerOldImages: building a major's image removes that major's images
// of other content and keeps the new one and other majors'.
func TestDockerOldImages(t *testing.T) {
	t.Parallel()
	pool := dockerWanted(t)
	hostNet, err := hostNetwork(pool)
	require.NoError(t, err)
	base, err := dockerImage(context.Background(), Options{Logf: t.Logf}, pool, majorOf(os.Getenv), hostNet)
	require.NoError(t, err)
	// Images labelled as ours, of a major no real image has, committed
	// from a container of the real image (cheap: no build).
	major := "test" + strconv.Itoa(os.Getpid())
	c, err := pool.Client.CreateContainer(docker.CreateContainerOptions{Config: &docker.Config{Image: base, Cmd: []string{"true"}}})
	require.NoError(t, err)
	defer pool.Client.RemoveContainer(docker.RemoveContainerOptions{ID: c.ID, Force: true}) //nolint:errcheck
	commit := func(tag, major string) string {
		img, err := pool.Client.CommitContainer(docker.CommitContainerOptions{Container: c.ID, Repository: imageRepo, Tag: tag,
			Run: &docker.Config{Labels: map[string]string{labelImage: imageRepo, labelMajor: major}}})
		require.NoError(t, err)
		t.Cleanup(func() { _ = pool.Client.RemoveImageExtended(img.ID, docker.RemoveImageOptions{Force: true}) })
		return imageRepo + ":" + tag
	}
	old, current, other := commit(major+"-old", major), commit(major+"-new", major), commit(major+"x-old", major+"x")
	removeOldImages(Options{Logf: t.Logf}, pool, major, current)
	_, err = pool.Client.InspectImage(old)
	require.ErrorIs(t, err, docker.ErrNoSuchImage, "the major's image of other content is removed")
	for _, keep := range []string{current, other, base} {
		_, err = pool.Client.InspectImage(keep)
		require.NoError(t, err, keep)
	}
}
