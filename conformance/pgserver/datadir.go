package pgserver

import "os"

// EnvDataParent names the environment variable that chooses the directory
// a local server's temporary directory is created in.
const EnvDataParent = "CONFORMANCE_PGDATA_PARENT"

// shmDir is the tmpfs most Linux systems mount for shared memory.
const shmDir = "/dev/shm"

// minShmFree is the room /dev/shm must have to hold a server: the matrix's
// clones, its seeded template and the mutation run's at once stay well
// under it.
const minShmFree = 4 << 30

// shmInfo is what dataParent needs to know of /dev/shm.
type shmInfo struct {
	Tmpfs, Shared bool
	Free          uint64
}

// dataParent chooses where a local server lives: EnvDataParent when set,
// else /dev/shm when it is a shared tmpfs with room, else the temporary
// directory. Every test clones its database with CREATE DATABASE, which
// creates and later removes hundreds of files; on ext4 inode allocation
// after many deletions (its recently_deleted scan) took most of the
// server's CPU in a profile of the mutation run, and the same run on tmpfs
// took half the wall time (201 s against 107 s for 70 mutants). The data is
// thrown away after the run, so memory is the right place for it.
func dataParent(env string, shm shmInfo, tempDir string) string {
	switch {
	case env != "":
		return env
	case shm.Tmpfs && shm.Shared && shm.Free >= minShmFree:
		return shmDir
	default:
		return tempDir
	}
}

// serverParent is dataParent for this process.
func serverParent() string {
	return dataParent(os.Getenv(EnvDataParent), probeShm(), os.TempDir())
}
