package pgserver

import (
	"os"
	"syscall"
)

// tmpfsMagic is TMPFS_MAGIC of linux/magic.h, statfs's f_type for tmpfs.
const tmpfsMagic = 0x01021994

// probeShm reports what dataParent needs to know of /dev/shm.
func probeShm() shmInfo {
	var st syscall.Statfs_t
	if err := syscall.Statfs(shmDir, &st); err != nil {
		return shmInfo{}
	}
	fi, err := os.Stat(shmDir)
	return shmInfo{
		Tmpfs: st.Type == tmpfsMagic,
		// World-writable and sticky, as the postgres OS user needs it.
		Shared: err == nil && fi.Mode().Perm()&0o003 == 0o003 && fi.Mode()&os.ModeSticky != 0,
		Free:   st.Bavail * uint64(st.Bsize),
	}
}
