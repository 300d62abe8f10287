package pgserver

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/internal/harness/tools"
)

var (
	errNoDocker = errors.New("dial unix /var/run/docker.sock: no such file")
	errNoLocal  = errors.New("no PostgreSQL 15 binaries")
	fakeBins    = binaries{BinDir: "/pg/bin", PkgLibDir: "/pg/lib"}
)

func TestChoose(t *testing.T) {
	t.Parallel()
	type probes struct {
		url       string
		dockerErr error
		localErr  error
	}
	cases := []struct {
		name         string
		in           probes
		wantKind     string
		wantPing     bool
		wantFind     bool
		wantErrParts []string
	}{
		{name: "CONF-1 URL wins and probes nothing else", in: probes{url: "postgres://x/y"}, wantKind: KindURL},
		{name: "CONF-1 URL wins even if docker and local exist", in: probes{url: "postgres://x/y", dockerErr: nil}, wantKind: KindURL},
		{name: "CONF-1 docker when it answers, no binary search", in: probes{}, wantKind: KindDocker, wantPing: true},
		{name: "CONF-1 local when docker does not answer", in: probes{dockerErr: errNoDocker}, wantKind: KindLocal, wantPing: true, wantFind: true},
		{
			name: "CONF-1 error names all three", in: probes{dockerErr: errNoDocker, localErr: errNoLocal},
			wantPing: true, wantFind: true,
			wantErrParts: []string{"no PostgreSQL: CONFORMANCE_DATABASE_URL unset", "docker: " + errNoDocker.Error(), "local: " + errNoLocal.Error()},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var pinged, found bool
			ping := func(ctx context.Context) error {
				pinged = true
				dl, ok := ctx.Deadline()
				require.True(t, ok, "docker ping must be bounded")
				require.LessOrEqual(t, time.Until(dl), dockerPingTimeout)
				return tc.in.dockerErr
			}
			find := func() (binaries, error) {
				found = true
				if tc.in.localErr != nil {
					return binaries{}, tc.in.localErr
				}
				return fakeBins, nil
			}
			c, err := choose(context.Background(), tc.in.url, ping, find)
			require.Equal(t, tc.wantPing, pinged, "docker pinged")
			require.Equal(t, tc.wantFind, found, "local binaries searched")
			if tc.wantErrParts != nil {
				require.Error(t, err)
				for _, p := range tc.wantErrParts {
					require.Contains(t, err.Error(), p)
				}
				var nse *NoServerError
				require.ErrorAs(t, err, &nse)
				require.ErrorIs(t, err, errNoDocker)
				require.ErrorIs(t, err, errNoLocal)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.wantKind, c.kind)
			switch c.kind {
			case KindURL:
				require.Equal(t, tc.in.url, c.url)
			case KindLocal:
				require.Equal(t, fakeBins, c.bins)
				require.ErrorIs(t, c.dockerErr, errNoDocker)
			}
		})
	}
}

// fakeWorld records which starters ran.
type fakeWorld struct {
	env                      map[string]string
	pingErr, findErr         error
	dockerErr, localErr      error
	startedURL               string
	dockerStarts, localStart int
}

func (f *fakeWorld) world() world {
	return world{
		getenv:     func(k string) string { return f.env[k] },
		pingDocker: func(context.Context) error { return f.pingErr },
		findLocal: func() (binaries, error) {
			if f.findErr != nil {
				return binaries{}, f.findErr
			}
			return fakeBins, nil
		},
		startURL: func(_ context.Context, url string) (*Server, error) {
			f.startedURL = url
			return &Server{URL: url, Kind: KindURL}, nil
		},
		startDocker: func(context.Context) (*Server, error) {
			f.dockerStarts++
			if f.dockerErr != nil {
				return nil, f.dockerErr
			}
			return &Server{URL: "postgres://docker", Kind: KindDocker}, nil
		},
		startLocal: func(_ context.Context, b binaries) (*Server, error) {
			f.localStart++
			if b != fakeBins {
				return nil, errors.New("wrong binaries")
			}
			if f.localErr != nil {
				return nil, f.localErr
			}
			return &Server{URL: "postgres://local", Kind: KindLocal}, nil
		},
	}
}

func TestStartSelection(t *testing.T) {
	t.Parallel()
	errPull := errors.New("pull postgres:15: no network")
	errInitdb := errors.New("initdb: disk full")

	t.Run("CONF-1 URL from the environment, nothing started", func(t *testing.T) {
		t.Parallel()
		f := &fakeWorld{env: map[string]string{EnvDatabaseURL: "postgres://ci/postgres"}}
		s, err := start(context.Background(), Options{}, f.world())
		require.NoError(t, err)
		require.Equal(t, KindURL, s.Kind)
		require.Equal(t, "postgres://ci/postgres", f.startedURL)
		require.Zero(t, f.dockerStarts+f.localStart)
		require.NoError(t, s.Stop())
	})
	t.Run("CONF-1 docker", func(t *testing.T) {
		t.Parallel()
		f := &fakeWorld{}
		s, err := start(context.Background(), Options{}, f.world())
		require.NoError(t, err)
		require.Equal(t, KindDocker, s.Kind)
		require.Equal(t, 1, f.dockerStarts)
		require.Zero(t, f.localStart)
	})
	t.Run("CONF-1 docker answers but fails, local takes over", func(t *testing.T) {
		t.Parallel()
		var logs []string
		f := &fakeWorld{dockerErr: errPull}
		s, err := start(context.Background(), Options{Logf: func(format string, args ...any) {
			logs = append(logs, format)
		}}, f.world())
		require.NoError(t, err)
		require.Equal(t, KindLocal, s.Kind)
		require.NotEmpty(t, logs)
	})
	t.Run("CONF-1 docker and local both fail to start", func(t *testing.T) {
		t.Parallel()
		f := &fakeWorld{dockerErr: errPull, localErr: errInitdb}
		_, err := start(context.Background(), Options{}, f.world())
		require.ErrorIs(t, err, errPull)
		require.ErrorIs(t, err, errInitdb)
		require.Contains(t, err.Error(), "docker: "+errPull.Error())
	})
	t.Run("CONF-1 no docker, local fails to start", func(t *testing.T) {
		t.Parallel()
		f := &fakeWorld{pingErr: errNoDocker, localErr: errInitdb}
		_, err := start(context.Background(), Options{}, f.world())
		require.ErrorIs(t, err, errInitdb)
		require.Equal(t, 0, f.dockerStarts)
	})
	t.Run("CONF-1 nothing available", func(t *testing.T) {
		t.Parallel()
		f := &fakeWorld{pingErr: errNoDocker, findErr: errNoLocal}
		_, err := start(context.Background(), Options{}, f.world())
		require.EqualError(t, err, "no PostgreSQL: CONFORMANCE_DATABASE_URL unset; docker: "+errNoDocker.Error()+"; local: "+errNoLocal.Error())
		require.Zero(t, f.dockerStarts+f.localStart)
	})
}

// TestStartForced: CONFORMANCE_PROVIDER takes one provider, never falls
// back to another, and its error names the variable and the cause.
func TestStartForced(t *testing.T) {
	t.Parallel()
	errPull := errors.New("build image: no network")
	t.Run("CONF-1 docker forced, fails without trying local", func(t *testing.T) {
		t.Parallel()
		f := &fakeWorld{env: map[string]string{EnvProvider: "docker"}, dockerErr: errPull}
		_, err := start(context.Background(), Options{}, f.world())
		require.ErrorIs(t, err, errPull)
		require.ErrorContains(t, err, "CONFORMANCE_PROVIDER=docker: ")
		require.Equal(t, 1, f.dockerStarts)
		require.Zero(t, f.localStart)
	})
	t.Run("CONF-1 docker forced, started without a ping of the default engine", func(t *testing.T) {
		t.Parallel()
		f := &fakeWorld{env: map[string]string{EnvProvider: "docker"}, pingErr: errNoDocker}
		s, err := start(context.Background(), Options{}, f.world())
		require.NoError(t, err)
		require.Equal(t, KindDocker, s.Kind)
	})
	t.Run("CONF-1 local forced although docker answers and a URL is set", func(t *testing.T) {
		t.Parallel()
		f := &fakeWorld{env: map[string]string{EnvProvider: "local", EnvDatabaseURL: "postgres://ci/postgres"}}
		s, err := start(context.Background(), Options{}, f.world())
		require.NoError(t, err)
		require.Equal(t, KindLocal, s.Kind)
		require.Zero(t, f.dockerStarts)
		require.Empty(t, f.startedURL)
	})
	t.Run("CONF-1 local forced without binaries", func(t *testing.T) {
		t.Parallel()
		f := &fakeWorld{env: map[string]string{EnvProvider: "local"}, findErr: errNoLocal}
		_, err := start(context.Background(), Options{}, f.world())
		require.ErrorIs(t, err, errNoLocal)
		require.ErrorContains(t, err, "CONFORMANCE_PROVIDER=local: ")
		require.Zero(t, f.dockerStarts)
	})
	t.Run("CONF-1 url forced without a URL", func(t *testing.T) {
		t.Parallel()
		f := &fakeWorld{env: map[string]string{EnvProvider: "url"}}
		_, err := start(context.Background(), Options{}, f.world())
		require.EqualError(t, err, "CONFORMANCE_PROVIDER=url, but CONFORMANCE_DATABASE_URL is unset")
		require.Zero(t, f.dockerStarts+f.localStart)
	})
	t.Run("CONF-1 unknown provider", func(t *testing.T) {
		t.Parallel()
		f := &fakeWorld{env: map[string]string{EnvProvider: "podman"}}
		_, err := start(context.Background(), Options{}, f.world())
		require.EqualError(t, err, `CONFORMANCE_PROVIDER="podman": want docker, local or url`)
		require.Zero(t, f.dockerStarts+f.localStart)
	})
	t.Run("CONF-1 a server of another major than asked is stopped and refused", func(t *testing.T) {
		t.Parallel()
		stopped := 0
		w := (&fakeWorld{env: map[string]string{EnvMajor: "17", EnvDatabaseURL: "postgres://ci/postgres"}}).world()
		w.startURL = func(context.Context, string) (*Server, error) {
			return &Server{Kind: KindURL, Version: "PostgreSQL 15.20 (Debian 15.20-0+deb12u1) on x86_64-pc-linux-gnu", stop: func() error { stopped++; return nil }}, nil
		}
		_, err := start(context.Background(), Options{}, w)
		require.ErrorContains(t, err, `CONFORMANCE_PG_MAJOR=17, but the url server is "PostgreSQL 15.20`)
		require.Equal(t, 1, stopped)

		w.startURL = func(context.Context, string) (*Server, error) {
			return &Server{Kind: KindURL, Version: "PostgreSQL 17.12 (Debian 17.12-1.pgdg13+1) on x86_64-pc-linux-gnu"}, nil
		}
		s, err := start(context.Background(), Options{}, w)
		require.NoError(t, err)
		require.Equal(t, "PostgreSQL 17.12 (Debian 17.12-1.pgdg13+1) via url", s.Describe())
	})
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	s := &Server{Kind: KindDocker, Image: "mentordb-postgres:17-0123456789ab",
		Version: "PostgreSQL 17.12 (Debian 17.12-1) on x86_64-pc-linux-gnu, compiled by gcc (Debian 14.2.0-19) 14.2.0, 64-bit"}
	require.Equal(t, "PostgreSQL 17.12 (Debian 17.12-1) via docker (image mentordb-postgres:17-0123456789ab)", s.Describe())
}

func TestFindBinaries(t *testing.T) {
	t.Parallel()
	const other = "/opt/pg15/bin"
	execs := func(paths ...string) func(string) bool {
		return func(p string) bool {
			for _, q := range paths {
				if p == q {
					return true
				}
			}
			return false
		}
	}
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	pgConfig := func(out string, err error) func(string, ...string) (string, error) {
		return func(name string, args ...string) (string, error) {
			if name == "pg_config" {
				return out, err
			}
			// a bin dir's own pg_config, asked for --pkglibdir
			return filepath.Join(filepath.Dir(filepath.Dir(name)), "pkglib") + "\n", nil
		}
	}
	defaultBins := []string{DefaultBinDir + "/initdb", DefaultBinDir + "/postgres", DefaultBinDir + "/pg_config"}
	otherBins := []string{other + "/initdb", other + "/postgres"}

	t.Run("PG_BINDIR wins", func(t *testing.T) {
		t.Parallel()
		b, err := findBinaries(env(EnvBinDir, other), pgConfig("", errors.New("must not run")), execs(append(otherBins, defaultBins...)...))
		require.NoError(t, err)
		require.Equal(t, binaries{BinDir: other, PkgLibDir: "/opt/pg15/lib"}, b)
	})
	t.Run("broken PG_BINDIR is an error, not a silent fallback", func(t *testing.T) {
		t.Parallel()
		_, err := findBinaries(env(EnvBinDir, "/nope"), pgConfig("", nil), execs(defaultBins...))
		require.ErrorContains(t, err, "PG_BINDIR: /nope: no executable initdb")
	})
	t.Run("pg_config 15 on PATH", func(t *testing.T) {
		t.Parallel()
		b, err := findBinaries(env(), pgConfig("PostgreSQL 15.20 (Debian)\n"+other+"\n/opt/pg15/pkglib\n", nil), execs(append(otherBins, defaultBins...)...))
		require.NoError(t, err)
		require.Equal(t, binaries{BinDir: other, PkgLibDir: "/opt/pg15/pkglib"}, b)
	})
	t.Run("pg_config of another major falls back to the default dir", func(t *testing.T) {
		t.Parallel()
		b, err := findBinaries(env(), pgConfig("PostgreSQL 16.4\n/usr/lib/postgresql/16/bin\n/usr/lib/postgresql/16/lib\n", nil), execs(defaultBins...))
		require.NoError(t, err)
		require.Equal(t, DefaultBinDir, b.BinDir)
		require.Equal(t, "/usr/lib/postgresql/15/pkglib", b.PkgLibDir) // from its own pg_config
	})
	t.Run("default dir without pg_config guesses ../lib", func(t *testing.T) {
		t.Parallel()
		b, err := findBinaries(env(), pgConfig("", errors.New("not found")), execs(defaultBins[:2]...))
		require.NoError(t, err)
		require.Equal(t, binaries{BinDir: DefaultBinDir, PkgLibDir: "/usr/lib/postgresql/15/lib"}, b)
	})
	t.Run("CONFORMANCE_PG_MAJOR chooses the major of pg_config and of the default dir", func(t *testing.T) {
		t.Parallel()
		const dir17 = "/usr/lib/postgresql/17/bin"
		b, err := findBinaries(env(EnvMajor, "17"), pgConfig("PostgreSQL 15.20\n"+other+"\n/x\n", nil), execs(append(defaultBins, dir17+"/initdb", dir17+"/postgres")...))
		require.NoError(t, err)
		require.Equal(t, dir17, b.BinDir)
		_, err = findBinaries(env(EnvMajor, "17"), pgConfig("PostgreSQL 15.20\n"+other+"\n/x\n", nil), execs(defaultBins...))
		require.ErrorContains(t, err, "no PostgreSQL 17 binaries")
		require.ErrorContains(t, err, "want major 17")
	})
	t.Run("nothing found explains every step", func(t *testing.T) {
		t.Parallel()
		_, err := findBinaries(env(), pgConfig("PostgreSQL 14.1\n/a\n/b\n", nil), execs())
		require.Error(t, err)
		for _, p := range []string{"PG_BINDIR unset", "pg_config: PostgreSQL 14.1, want major 15", DefaultBinDir + ": no executable initdb"} {
			require.Contains(t, err.Error(), p)
		}
	})
}

func TestHelpers(t *testing.T) {
	t.Parallel()
	m := serverSettings(Options{Settings: map[string]string{"fsync": "on", "work_mem": "8MB"}}, []string{"plpgsql_check", "pg_stat_statements"})
	require.Equal(t, []string{
		"-c", "fsync=on", "-c", "full_page_writes=off", "-c", "max_connections=200",
		"-c", "shared_preload_libraries=plpgsql_check,pg_stat_statements",
		"-c", "synchronous_commit=off", "-c", "work_mem=8MB",
	}, settingArgs(m))
	require.NotContains(t, serverSettings(Options{}, nil), "shared_preload_libraries")

	require.Equal(t, []string{"a", "b", "c"}, mergeLibs([]string{"a", "b"}, []string{" b", "", "c", "a"}))
	require.Equal(t, []string{"plpgsql_check", "x"}, splitList(`plpgsql_check, "x"`))
	require.Nil(t, splitList(""))
	require.Equal(t, "15", majorVersion("PostgreSQL 15.20 (Debian 15.20-0+deb12u1)"))
	require.Equal(t, "", majorVersion("garbage"))

	for in, want := range map[string][2]string{
		"postgres:15":                  {"postgres", "15"},
		"postgres":                     {"postgres", "latest"},
		"registry:5000/pg/postgres":    {"registry:5000/pg/postgres", "latest"},
		"registry:5000/pg/postgres:15": {"registry:5000/pg/postgres", "15"},
	} {
		r, tag := splitImage(in)
		require.Equal(t, want, [2]string{r, tag}, in)
	}
	require.Equal(t, "", dockerRemoteHost(""))
	require.Equal(t, "", dockerRemoteHost("unix:///var/run/docker.sock"))
	require.Equal(t, "", dockerRemoteHost("tcp://localhost:2375"))
	require.Equal(t, "docker", dockerRemoteHost("tcp://docker:2375"))
}

func TestStopIdempotent(t *testing.T) {
	t.Parallel()
	var nilServer *Server
	require.NoError(t, nilServer.Stop())

	calls := 0
	boom := errors.New("boom")
	s := &Server{stop: func() error { calls++; return boom }}
	require.ErrorIs(t, s.Stop(), boom)
	require.ErrorIs(t, s.Stop(), boom)
	require.Equal(t, 1, calls)
}

// localBinaries returns the binaries for the real tests. Without binaries the
// tests skip on a developer machine but fail in CI (CI=true), where a missing
// PostgreSQL means the conformance suite would prove nothing.
func localBinaries(t *testing.T) binaries {
	t.Helper()
	b, err := findBinaries(os.Getenv, runOutput, tools.Executable)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but no local PostgreSQL: %v", err)
		}
		t.Skipf("no local PostgreSQL binaries: %v", err)
	}
	return b
}

func TestLocalServer(t *testing.T) {
	t.Parallel()
	b := localBinaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	t0 := time.Now()
	s, err := startLocal(ctx, Options{Logf: t.Logf, Settings: map[string]string{"work_mem": "7MB"}}, b)
	require.NoError(t, err)
	t.Logf("CONF-1 local boot to ready: %s", time.Since(t0))
	t.Cleanup(func() { _ = s.Stop() })
	require.Equal(t, KindLocal, s.Kind)
	require.Contains(t, s.Version, "PostgreSQL 15")
	require.FileExists(t, filepath.Join(s.Dir, logName))
	require.True(t, strings.HasPrefix(filepath.Base(s.Dir), dirPrefix))
	if fileExists(filepath.Join(b.PkgLibDir, "plpgsql_check.so")) {
		require.Contains(t, s.SharedPreloadLibraries, "plpgsql_check")
	}

	conn, err := pgx.Connect(ctx, s.URL)
	require.NoError(t, err)
	var version, workMem, fsync string
	require.NoError(t, conn.QueryRow(ctx, "select version(), current_setting('work_mem'), current_setting('fsync')").Scan(&version, &workMem, &fsync))
	require.Contains(t, version, "PostgreSQL 15")
	require.Equal(t, "7MB", workMem)
	require.Equal(t, "off", fsync)
	var super bool
	require.NoError(t, conn.QueryRow(ctx, "select rolsuper from pg_roles where rolname = current_user").Scan(&super))
	require.True(t, super, "URL must connect as a superuser")
	require.NoError(t, conn.Close(ctx))

	cfg, err := pgx.ParseConfig(s.URL)
	require.NoError(t, err)
	dir := s.Dir

	require.NoError(t, s.Stop())
	require.NoError(t, s.Stop(), "Stop is idempotent")
	require.NoDirExists(t, dir)
	l, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))))
	require.NoError(t, err, "port must be free after Stop")
	require.NoError(t, l.Close())
}

func TestLocalServerKeep(t *testing.T) {
	t.Parallel()
	b := localBinaries(t)
	s, err := startLocal(context.Background(), Options{Logf: t.Logf, Keep: true}, b)
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(s.Dir) })
	require.NoError(t, s.Stop())
	require.FileExists(t, filepath.Join(s.Dir, keepMarker))
	require.FileExists(t, filepath.Join(s.Dir, logName))
	require.NoFileExists(t, filepath.Join(s.Dir, dataName, "postmaster.pid"), "server must be stopped")
}

func TestLocalServerBadLibraryFailsWithLog(t *testing.T) {
	t.Parallel()
	b := localBinaries(t)
	before := staleDirs(t)
	_, err := startLocal(context.Background(), Options{SharedPreloadLibraries: []string{"no_such_library_xyz"}}, b)
	require.Error(t, err)
	require.Contains(t, err.Error(), "no_such_library_xyz", "the error carries the server log")
	// The failed directory is removed (others may appear from parallel tests,
	// but none that contains this failure's log).
	for d := range staleDirs(t) {
		if before[d] {
			continue
		}
		log, _ := os.ReadFile(filepath.Join(d, logName))
		require.NotContains(t, string(log), "no_such_library_xyz", "left behind: %s", d)
	}
}

func staleDirs(t *testing.T) map[string]bool {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(serverParent(), dirPrefix+"*"))
	require.NoError(t, err)
	m := map[string]bool{}
	for _, d := range dirs {
		m[d] = true
	}
	return m
}

func TestDataParentPrefersASharedTmpfsWithRoom(t *testing.T) {
	roomy := shmInfo{Tmpfs: true, Shared: true, Free: minShmFree}
	require.Equal(t, "/srv/pg", dataParent("/srv/pg", roomy, "/tmp"), "the environment variable wins")
	require.Equal(t, shmDir, dataParent("", roomy, "/tmp"))
	require.Equal(t, "/tmp", dataParent("", shmInfo{Tmpfs: true, Shared: true, Free: minShmFree - 1}, "/tmp"), "too little room")
	require.Equal(t, "/tmp", dataParent("", shmInfo{Tmpfs: false, Shared: true, Free: minShmFree}, "/tmp"), "not tmpfs")
	require.Equal(t, "/tmp", dataParent("", shmInfo{Tmpfs: true, Shared: false, Free: minShmFree}, "/tmp"), "the postgres user could not write there")
	require.Equal(t, "/tmp", dataParent("", shmInfo{}, "/tmp"), "no /dev/shm")
}
