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
// creates and later removes hundreds of files. In a profile of the mutation
// run on ext4, inode allocation after many deletions (find_inode_bit, its
// recently_deleted scan) took nearly half of the server's CPU samples, and
// the same run on tmpfs took about half the wall time (107 s against 201 s
// for 58 mutants and the unmutated matrix). The data is thrown away after
// the run, so memory is the right place for it.
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
