package pgserver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ory/dockertest/v3"
	"github.com/ory/dockertest/v3/docker"

	"github.com/mentordb/mentordb/internal/harness/tools"
)

// imageRepo is the repository of the conformance images; the tag is the
// major and a hash of what builds the image, so an image is reused for as
// long as docker/ and the base are unchanged.
const imageRepo = "mentordb-postgres"

// Labels on the images we build, to find the old ones of a major.
const (
	labelImage = "org.mentordb.image"
	labelMajor = "org.mentordb.pg-major"
)

// EnvDockerBase names the environment variable that overrides the base image
// of the conformance image (default: mentordb-debian:<suite> when
// `scripts/setup docker` built it, else debian:<suite>-slim).
const EnvDockerBase = "CONFORMANCE_DOCKER_BASE"

// dockerImage returns the conformance image for major, building it from the
// repository's docker/ directory when no image of that content exists, and
// removes the images of that major built from other content. Test binaries
// start in parallel, so the check and the build hold a lock file: one
// builds, the others wait and reuse.
func dockerImage(ctx context.Context, opts Options, pool *dockertest.Pool, major string, hostNet bool) (string, error) {
	root, err := tools.RepoRoot()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, "docker")
	suite, err := suiteOf(dir, major)
	if err != nil {
		return "", err
	}
	base := os.Getenv(EnvDockerBase)
	if base == "" {
		base = "debian:" + suite + "-slim"
		if _, err := pool.Client.InspectImage("mentordb-debian:" + suite); err == nil {
			base = "mentordb-debian:" + suite
		}
	}
	baseID := ""
	if img, err := pool.Client.InspectImage(base); err == nil {
		baseID = img.ID
	}
	sum, err := contentHash(dir, major, base, baseID)
	if err != nil {
		return "", err
	}
	image := imageRepo + ":" + major + "-" + sum

	unlock, err := flockWait(filepath.Join(os.TempDir(), "mentordb-image-"+major+".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := pool.Client.InspectImage(image); err == nil {
		return image, nil
	}
	t0 := time.Now()
	opts.logf("building %s from %s (base %s)", image, dir, base)
	var out bytes.Buffer
	build := docker.BuildImageOptions{
		Context:             ctx,
		Name:                image,
		ContextDir:          dir,
		Dockerfile:          "Dockerfile",
		BuildArgs:           []docker.BuildArg{{Name: "PG_MAJOR", Value: major}, {Name: "BASE_IMAGE", Value: base}},
		Labels:              map[string]string{labelImage: imageRepo, labelMajor: major},
		RmTmpContainer:      true,
		ForceRmTmpContainer: true,
		OutputStream:        &out,
	}
	if hostNet {
		build.NetworkMode = "host"
	}
	if err := pool.Client.BuildImage(build); err != nil {
		return "", fmt.Errorf("build %s: %w; output:\n%s", image, err, lastLines(out.String(), 30))
	}
	opts.logf("built %s in %s", image, time.Since(t0).Round(time.Second))
	removeOldImages(opts, pool, major, image)
	return image, nil
}

// suiteOf reads docker/suites: the Debian suite that ships major.
func suiteOf(dir, major string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "suites"))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == major {
			return f[1], nil
		}
	}
	return "", fmt.Errorf("PostgreSQL %s: no Debian suite for it in %s", major, filepath.Join(dir, "suites"))
}

// contentHash is the image's tag suffix: every file of the build context
// (names and contents), the major, the base image's name and, when the base
// is present, its ID (a rebuilt base gives a new image).
func contentHash(dir, major, base, baseID string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "major %s\nbase %s %s\n", major, base, baseID)
	var files []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		return "", err
	}
	slices.Sort(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		rel, _ := filepath.Rel(dir, f)
		fmt.Fprintf(h, "%s %d\n", rel, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// removeOldImages removes the images of major that we built from other
// content. One still in use by a container stays (and is logged).
func removeOldImages(opts Options, pool *dockertest.Pool, major, keep string) {
	list, err := pool.Client.ListImages(docker.ListImagesOptions{
		Filters: map[string][]string{"label": {labelImage + "=" + imageRepo, labelMajor + "=" + major}},
	})
	if err != nil {
		opts.logf("listing old images: %v", err)
		return
	}
	for _, img := range list {
		if slices.Contains(img.RepoTags, keep) {
			continue
		}
		if err := pool.Client.RemoveImageExtended(img.ID, docker.RemoveImageOptions{Force: false}); err != nil {
			opts.logf("removing old image %s %v: %v", img.ID, img.RepoTags, err)
		} else {
			opts.logf("removed old image %v", img.RepoTags)
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
