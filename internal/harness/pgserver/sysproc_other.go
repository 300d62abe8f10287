//go:build unix && !linux

package pgserver

import "syscall"

// setParentDeathSignal does nothing: only Linux has a parent death signal.
// Elsewhere a server whose owner died keeps running until stopped by hand,
// and cleanStale leaves its directory alone while it runs.
func setParentDeathSignal(*syscall.SysProcAttr) {}

func setDeathSignal(*syscall.SysProcAttr, syscall.Signal) {}
