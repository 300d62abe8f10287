//go:build unix

package pgserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"syscall"
	"time"
)

// snapshotPrefix names the data-directory snapshots (Options.Cache) in
// os.TempDir(). Like templatePrefix it must not match dirPrefix+"*".
const snapshotPrefix = "mentordb-pgsnapshot-"

// Snapshots are large (a seeded template holds hundreds of megabytes), and
// every change of schema, seed or code makes a new one: after publishing one,
// those unused for snapshotMaxAge go, and of the rest only the
// snapshotKeep most recently used stay (worktrees and majors that take
// turns each keep theirs).
const (
	snapshotMaxAge = 24 * time.Hour
	snapshotKeep   = 4
)

// snapshotParent is the directory snapshots live in.
var snapshotParent = os.TempDir

// snapshotDir is where the snapshot named cache lives for the binaries
// ident names.
func snapshotDir(ident, cache string) string {
	h := sha256.Sum256([]byte(ident + "\x00" + cache))
	return filepath.Join(snapshotParent(), snapshotPrefix+hex.EncodeToString(h[:8]))
}

// saveSnapshot copies the data directory of a stopped server to dir:
// built beside it and renamed into place, so a reader sees a whole snapshot
// or none; when another process published first, ours is discarded.
func saveSnapshot(ctx context.Context, opts Options, b binaries, cred *syscall.Credential, data, dir string) error {
	t0 := time.Now()
	build, err := os.MkdirTemp(filepath.Dir(dir), filepath.Base(dir)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(build) // a no-op after a successful rename
	if cred != nil {
		if err := os.Chown(build, int(cred.Uid), int(cred.Gid)); err != nil {
			return err
		}
	}
	if err := copyData(ctx, cred, data, filepath.Join(build, dataName)); err != nil {
		return err
	}
	if err := trimWAL(ctx, b, filepath.Join(build, dataName)); err != nil {
		return err
	}
	if err := os.Rename(build, dir); err == nil {
		opts.logf("snapshot %s saved in %s", dir, time.Since(t0).Round(time.Millisecond))
	}
	pruneSnapshots(opts, dir)
	return nil
}

// trimWAL removes from the pg_wal of a cleanly stopped cluster's data
// directory every segment but the one holding its last checkpoint's redo
// point, the only one a start reads: the rest are old segments kept for
// recycling (after a seed, hundreds of megabytes that every boot from the
// snapshot would copy for nothing). A start creates new segments as needed.
func trimWAL(ctx context.Context, b binaries, data string) error {
	cmd := exec.CommandContext(ctx, b.path("pg_controldata"), "-D", data)
	cmd.Env = serverEnv() // C locale: the labels below are not translated
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("pg_controldata: %w", err)
	}
	m := regexp.MustCompile(`(?m)^Database cluster state:\s+shut down$`).Find(out)
	redo := regexp.MustCompile(`(?m)^Latest checkpoint's REDO WAL file:\s+([0-9A-F]{24})$`).FindSubmatch(out)
	if m == nil || redo == nil {
		return fmt.Errorf("pg_controldata: not a cleanly stopped cluster:\n%s", out)
	}
	segments, err := filepath.Glob(filepath.Join(data, "pg_wal", "[0-9A-F]*"))
	if err != nil {
		return err
	}
	for _, seg := range segments {
		if name := filepath.Base(seg); len(name) == 24 && name != string(redo[1]) {
			if err := os.Remove(seg); err != nil {
				return err
			}
		}
	}
	return nil
}

// pruneSnapshots removes the snapshots other than keep that are unused for
// snapshotMaxAge or beyond the snapshotKeep most recently used.
func pruneSnapshots(opts Options, keep string) {
	dirs, _ := filepath.Glob(filepath.Join(filepath.Dir(keep), snapshotPrefix+"*"))
	type snap struct {
		dir  string
		used time.Time
	}
	var snaps []snap
	for _, d := range dirs {
		if d == keep || filepath.Ext(d) != "" {
			continue // ours, or one being built (.tmp-*: cleanStaleTemplates)
		}
		if fi, err := os.Stat(d); err == nil {
			snaps = append(snaps, snap{d, fi.ModTime()})
		}
	}
	sort.Slice(snaps, func(i, j int) bool { return snaps[i].used.After(snaps[j].used) })
	for i, s := range snaps {
		if i+1 >= snapshotKeep || time.Since(s.used) > snapshotMaxAge {
			removeStale(opts, s.dir)
		}
	}
}

// touch marks a snapshot used now (pruneSnapshots goes by that time).
func touch(dir string) {
	now := time.Now()
	_ = os.Chtimes(dir, now, now)
}
